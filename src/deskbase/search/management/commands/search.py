"""`deskbase search reindex [--organization ORG]` and `deskbase search stats [--json]`."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from deskbase.dbtools.partitions import rows_shown
from deskbase.search import operations


class Command(BaseCommand):
    help = "Search index maintenance: reindex, stats (docs/search.md)."

    def add_arguments(self, parser) -> None:
        commands = parser.add_subparsers(dest="action", required=True)
        reindex = commands.add_parser(
            "reindex", help="recompute every search vector (after changing search_language)"
        )
        reindex.add_argument("--organization", help="only this organization (slug or id)")
        stats = commands.add_parser("stats", help="index sizes, usage counts, recent searches")
        stats.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args, **options) -> None:
        if options["action"] == "reindex":
            self._reindex(options.get("organization"))
        else:
            self._stats(options["json"])

    def _reindex(self, organization: str | None) -> None:
        org_id = None
        if organization:
            org_id = operations.organization_id(organization)
            if org_id is None:
                raise CommandError(f"no organization {organization!r}")
        done = operations.reindex(org_id)
        for what, count in done["rows"].items():
            self.stdout.write(f"  {what}: {count:,} rows")
        scope = f"organization {org_id}" if org_id else "every organization"
        self.stdout.write(f"re-indexed {scope} in {done['seconds']} s")

    def _stats(self, as_json: bool) -> None:
        found = operations.stats()
        if as_json:
            self.stdout.write(json.dumps(found, indent=2, default=str))
            return
        self.stdout.write(f"{'relation':<40} {'kind':<6} {'size':>10} {'rows':>12} {'scans':>10}")
        for r in found["relations"]:
            kind = "index" if r["kind"] in ("i", "I") else "table"
            self.stdout.write(
                f"{r['name']:<40} {kind:<6} {r['bytes'] / 2**20:>8.1f}MB "
                f"{rows_shown(r['rows']):>12} {r['scans'] or 0:>10,}"
            )
        log = found["searches_30_days"]
        if not log["searches"]:
            self.stdout.write("searches in the last 30 days: none")
            return
        self.stdout.write(
            f"searches in the last 30 days: {log['searches']:,} ({log['zero_results']:,} with no "
            f"result, {log['opened']:,} followed by an opened result); latency average "
            f"{log['avg_latency_ms']:.1f} ms, p95 {log['p95_latency_ms']:.1f} ms"
        )
