"""`deskbase restore FILE`: replace the database's contents with a `deskbase backup`.

`deskbase restore --to-time T | --to-lsn L --into DIR`: point-in-time recovery of the
embedded cluster from a base backup and the WAL archive, into a new var directory.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from deskbase.dbtools.backup import BackupError, restore, restore_to


def _moment(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"--to-time: {value!r} is not a time like 2026-12-03T20:15:00+00:00"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = (
        "Restore a dump written by `deskbase backup` (stop the server and worker first), "
        "or recover the embedded cluster to a point in time into a new var directory."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, nargs="?")
        target = parser.add_mutually_exclusive_group()
        target.add_argument("--to-time", metavar="TIME", help="ISO time; UTC when no zone")
        target.add_argument("--to-lsn", metavar="LSN", help="a WAL position, like 0/1A2B3C4D")
        parser.add_argument("--into", type=Path, metavar="DIR", help="a NEW var directory")
        parser.add_argument("--base-dir", type=Path, default=None, metavar="DIR")
        parser.add_argument("--archive", type=Path, default=None, metavar="DIR")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["to_time"] or options["to_lsn"]:
            self._recover(options)
            return
        if options["file"] is None:
            raise CommandError("name a dump FILE, or a target with --to-time / --to-lsn")
        try:
            restore(options["file"])
        except BackupError as exc:
            raise CommandError(f"{exc}; the database was left as it was") from exc
        self.stdout.write(f"restored from {options['file']}")

    def _recover(self, options: dict[str, Any]) -> None:
        if options["file"] is not None:
            raise CommandError("a point-in-time recovery takes no dump FILE")
        if options["into"] is None:
            raise CommandError("--into DIR: the new var directory to recover into")
        to_time = _moment(options["to_time"]) if options["to_time"] else None
        try:
            base = restore_to(
                options["into"],
                to_time=to_time,
                to_lsn=options["to_lsn"],
                backups=options["base_dir"],
                archive=options["archive"],
            )
        except BackupError as exc:
            raise CommandError(f"{exc}; nothing was changed") from exc
        into = options["into"].absolute()
        self.stdout.write(f"recovered from {base} into {into / 'pg'} (stopped)")
        self.stdout.write(f"serve it with: DESKBASE_VAR_DIR={into} deskbase up")
