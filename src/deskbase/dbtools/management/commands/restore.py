"""`deskbase restore FILE`: replace the database's contents with a `deskbase backup`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from deskbase.dbtools.backup import BackupError, restore


class Command(BaseCommand):
    help = "Restore a dump written by `deskbase backup` (stop the server and worker first)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            restore(options["file"])
        except BackupError as exc:
            raise CommandError(f"{exc}; the database was left as it was") from exc
        self.stdout.write(f"restored from {options['file']}")
