"""`deskbase db_maintenance`: partitions, views, vacuum, reindex, checks and statistics.

Each step prints its progress and a summary line; the command can be run again at
any time (every step is idempotent) and exits non-zero with the reason when a step
fails or a check finds a problem. Locks: docs/operations.md.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from deskbase.dbtools import maintenance
from deskbase.dbtools.partitions import rows_shown


class Command(BaseCommand):
    help = "Database upkeep: partitions, views, VACUUM, REINDEX, checks and statistics."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--create-partitions",
            action="store_true",
            help="create monthly partitions ahead; move rows out of defaults",
        )
        parser.add_argument(
            "--drop-old-partitions",
            action="store_true",
            help="detach and drop (or archive) partitions past retention",
        )
        parser.add_argument(
            "--retention-months",
            type=int,
            default=None,
            metavar="N",
            help="with --drop-old-partitions: keep N months for every table "
            "that has a retention (default: each table's own)",
        )
        parser.add_argument(
            "--refresh-views", action="store_true", help="refresh the analytics materialized views"
        )
        parser.add_argument(
            "--vacuum-analyze",
            action="store_true",
            help="VACUUM (ANALYZE) every table; ANALYZE partitioned parents",
        )
        parser.add_argument(
            "--reindex",
            action="store_true",
            help="REINDEX TABLE CONCURRENTLY (with --table: only those)",
        )
        parser.add_argument(
            "--table",
            action="append",
            default=[],
            help="limit --vacuum-analyze and --reindex to this table (repeat)",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="constraints valid, indexes valid, partitions, rollups, orphaned attachment files",
        )
        parser.add_argument(
            "--remove-orphans",
            action="store_true",
            help="with --check: delete orphaned attachment files",
        )
        parser.add_argument(
            "--stats",
            action="store_true",
            help="table sizes, dead rows, last vacuum and partitions",
        )
        parser.add_argument("--json", action="store_true", help="print the summary as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["retention_months"] is not None:
            if not options["drop_old_partitions"]:
                raise CommandError("--retention-months goes with --drop-old-partitions")
            if options["retention_months"] < 1:
                raise CommandError("--retention-months must be at least 1")
        tables = options["table"] or None
        steps: list[tuple[str, str, Callable[[], Any]]] = [
            ("create_partitions", "creating partitions",
             lambda: maintenance.create_partitions(say=self.say)),
            ("drop_old_partitions", "retiring old partitions",
             lambda: maintenance.retire_partitions(
                 retention_months=options["retention_months"], say=self.say)),
            ("refresh_views", "refreshing views", lambda: maintenance.refresh_views(say=self.say)),
            ("vacuum_analyze", "VACUUM (ANALYZE)",
             lambda: maintenance.vacuum_analyze(tables=tables, say=self.say)),
            ("reindex", "REINDEX CONCURRENTLY",
             lambda: maintenance.reindex(tables=tables, say=self.say)),
            ("check", "checking",
             lambda: maintenance.check(remove_orphans=options["remove_orphans"], say=self.say)),
            ("stats", "statistics", maintenance.stats),
        ]  # fmt: skip
        chosen = [step for step in steps if options[step[0]]]
        if not chosen:
            raise CommandError("choose at least one step; see deskbase db_maintenance --help")
        summary: dict[str, Any] = {}
        for number, (key, title, run) in enumerate(chosen, start=1):
            self.say(f"[{number}/{len(chosen)}] {title} ...")
            started = time.monotonic()
            try:
                summary[key] = run()
            except maintenance.MaintenanceError as exc:
                raise CommandError(f"{title} failed: {exc}") from exc
            except Exception as exc:
                raise CommandError(f"{title} failed: {type(exc).__name__}: {exc}") from exc
            self.say(f"[{number}/{len(chosen)}] {title}: done in {time.monotonic() - started:.1f}s")
        if options["json"]:
            self.stdout.write(json.dumps(summary, indent=2, default=str))
        else:
            self.print_summary(summary)
        problems = summary.get("check", {}).get("problems", [])
        if problems:
            raise CommandError(f"{len(problems)} problem(s): " + "; ".join(problems))

    def say(self, message: str) -> None:
        self.stdout.write(message)
        self.stdout.flush()

    def print_summary(self, summary: dict[str, Any]) -> None:
        self.stdout.write("summary:")
        for key, value in summary.items():
            if key == "stats":
                self.print_stats(value)
            else:
                self.stdout.write(f"  {key}: {json.dumps(value, default=str)}")

    def print_stats(self, stats: dict[str, Any]) -> None:
        self.stdout.write(f"  database: {_size(stats['database_bytes'])}")
        self.stdout.write(f"  {'table':<40} {'rows':>12} {'size':>10} {'dead':>10}  last vacuum")
        for t in stats["largest_tables"]:
            self.stdout.write(
                f"  {t['table']:<40} {rows_shown(t['rows']):>12} {_size(t['bytes']):>10}"
                f" {t['dead_rows']:>10,}  {t['last_vacuum'] or '-'}"
            )
        self.stdout.write(f"  {'partition':<40} {'rows':>12} {'size':>10}")
        for p in stats["partitions"]:
            self.stdout.write(
                f"  {p['partition']:<40} {rows_shown(p['rows']):>12} {_size(p['bytes']):>10}"
            )


def _size(value: float) -> str:
    for unit in ("B", "kB", "MB"):
        if value < 1024:
            return f"{value:.0f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"
