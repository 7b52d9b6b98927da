"""The entry points of a spawned receiver process of `mail_ingest_throughput`.

A spawned process imports the module of the function it runs before anything else,
so these live apart from the scenarios (which import models): Django is set up
first, then the work is done by deskbase.benchmarks.mail_scenarios.
"""

from __future__ import annotations

from typing import Any


def start(*args: Any) -> None:
    import django

    django.setup()
    from deskbase.benchmarks import mail_scenarios

    mail_scenarios.child_start(*args)


def batch(count: int) -> list[str]:
    from deskbase.benchmarks import mail_scenarios

    return mail_scenarios.child_batch(count)
