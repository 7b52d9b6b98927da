"""`deskbase dbreport [--json]`: statements, scans, indexes, bloat, partitions, advice."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandParser

from deskbase.dbtools.report import build, render_text


class Command(BaseCommand):
    help = (
        "How the database is doing: top statements (pg_stat_statements), buffer cache hit "
        "ratio, sequential vs index scans, unused and duplicate indexes, bloat estimates, "
        "partition sizes, recommendations and the application cache's hits and misses "
        "(docs/monitoring.md)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print JSON instead of text")
        parser.add_argument("--limit", type=int, default=10, help="statements per list")

    def handle(self, *args, **options) -> None:
        report = build(limit=max(options["limit"], 1))
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2, default=str))
        else:
            self.stdout.write(render_text(report), ending="")
