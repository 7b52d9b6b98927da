"""Status reports of the commands a monitor calls (`deskbase jobs status`,
`deskbase outbox status`): one shape for their output and their exit code."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError


def write_status(
    command: BaseCommand,
    report: dict[str, Any],
    *,
    as_json: bool,
    show: Callable[[dict[str, Any]], None],
) -> None:
    """Write `report` as JSON (`--json`) or as text by `show`; then exit 1 naming each of
    its `problems`, if any, so that a monitor can call the command as it is."""
    if as_json:
        command.stdout.write(json.dumps(report, indent=2, default=str))
    else:
        show(report)
    if report["problems"]:
        raise CommandError("; ".join(report["problems"]))
