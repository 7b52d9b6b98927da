"""`deskbase cache warm|stats|clear`: the application cache of hot reads (docs/caching.md)."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from deskbase import cached
from deskbase.core import cache as cachelayer
from deskbase.organizations.models import Organization


class Command(BaseCommand):
    help = (
        "warm: load every cached entry of each organization (or --organization SLUG); "
        "stats: hits and misses of each entry, added up over the server processes; "
        "clear: invalidate every entry (of --organization SLUG, or of all)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["warm", "stats", "clear"])
        parser.add_argument("--organization", help="an organization's slug (default: all)")
        parser.add_argument("--json", action="store_true", help="stats as JSON")
        parser.add_argument("--reset", action="store_true", help="stats: zero the counters")

    def _organizations(self, slug: str | None) -> list[Organization]:
        found = Organization.objects.order_by("id")
        if slug:
            found = found.filter(slug=slug)
            if not found.exists():
                raise CommandError(f"no organization with the slug {slug!r}")
        return list(found)

    def handle(self, *args, **options) -> None:
        action = options["action"]
        if action == "stats":
            self._stats(options["json"], options["reset"])
            return
        organizations = self._organizations(options["organization"])
        for organization in organizations:
            if action == "warm":
                names = cached.warm(organization)
                self.stdout.write(f"warmed {organization.slug}: {', '.join(names)}")
            else:
                cached.invalidate_all(organization)
                self.stdout.write(f"cleared {organization.slug}")
        if not cachelayer.available():
            raise CommandError("the cache backend is unavailable (see the log); nothing cached")
        if action == "warm" and cachelayer.backend_name() == "local-memory":
            self.stdout.write(
                "note: the local-memory cache lives in each process; warming from this "
                "command fills only its own. Set REDIS_URL for a cache the server shares."
            )

    def _stats(self, as_json: bool, reset: bool) -> None:
        entries = cachelayer.collected_stats()
        if as_json:
            payload = {"backend": cachelayer.backend_name(), "entries": entries}
            self.stdout.write(json.dumps(payload, indent=2))
        else:
            self.stdout.write(f"backend: {cachelayer.backend_name()}")
            for name, counts in sorted(entries.items()):
                reads = counts["hit"] + counts["miss"]
                ratio = f"{100.0 * counts['hit'] / reads:.1f}%" if reads else "-"
                self.stdout.write(
                    f"  {name:<18} hits {counts['hit']:>8}  misses {counts['miss']:>8}  "
                    f"hit {ratio:>6}  bypassed {counts['bypass']:>6}  errors {counts['error']:>6}"
                )
            if not entries:
                self.stdout.write("  no reads counted yet")
        if reset:
            cachelayer.reset_stats()
            self.stdout.write("counters reset")
