"""`deskbase backup [--output FILE]`: pg_dump of the database (custom format)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from deskbase.dbtools.backup import BackupError, backup, base_backup


class Command(BaseCommand):
    help = "Write a pg_dump (custom format) of the database; default var/backups/."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", type=Path, default=None, metavar="FILE")
        parser.add_argument(
            "--base",
            action="store_true",
            help="a base backup of the embedded cluster (a directory; default var/base-backups/)"
            " for point-in-time recovery with the WAL archive",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["base"]:
            try:
                base = base_backup(options["output"])
            except BackupError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"base backup written: {base}")
            self.stdout.write(
                "recover with: deskbase restore --to-time 'YYYY-MM-DD HH:MM:SS+00:00' "
                "--into NEW_VAR_DIR"
            )
            return
        try:
            path = backup(options["output"])
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"backup written: {path} ({path.stat().st_size:,} bytes)")
        self.stdout.write(f"restore it with: deskbase restore {path}")
