"""`deskbase analytics refresh [VIEW]` and `deskbase analytics check [--repair]`."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from deskbase.analytics import refresh, rollups


class Command(BaseCommand):
    help = (
        "Refresh the analytics views (all, or one) and fold finished connections' rollup rows;"
        " or check the live rollups against a full recount (--repair rewrites wrong ones)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        refresh_parser = actions.add_parser("refresh", help="refresh materialized views")
        refresh_parser.add_argument("view", nargs="?", choices=refresh.VIEWS)
        check_parser = actions.add_parser("check", help="compare rollups with a recount")
        check_parser.add_argument("--repair", action="store_true")

    def handle(self, *args, **options) -> None:
        if options["action"] == "refresh":
            self._refresh(options.get("view"))
        else:
            self._check(options["repair"])

    def _refresh(self, view: str | None) -> None:
        done = refresh.refresh_views(
            [view] if view else None, progress=lambda line: self.stderr.write(line)
        )
        folded = rollups.compact()
        self.stdout.write(json.dumps(
            {"refreshed": [r.as_json() for r in done], "rollup_rows_folded": folded}, indent=2
        ))  # fmt: skip

    def _check(self, repair: bool) -> None:
        report = rollups.check(repair=repair)
        self.stdout.write(json.dumps(report.as_json(), indent=2))
        if not report.ok and not report.repaired:
            raise CommandError(
                f"rollups differ from the recount in {len(report.wrong_organizations)}"
                " organization(s); run `deskbase analytics check --repair`",
                returncode=2,
            )
