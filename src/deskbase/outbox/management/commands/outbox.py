"""`deskbase outbox status|deliver|retry`: watch, drain and replay the outbox (docs/outbox.md).

`status` exits 1, naming each problem, while dead rows exist or due rows wait too
long: a monitor can call it as it is. Runs as the owner role (every organization).
"""

from __future__ import annotations

import json
import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from deskbase.core.reports import write_status
from deskbase.organizations.models import Organization
from deskbase.outbox import delivery, registry, selectors, services


class Command(BaseCommand):
    help = "The outbox: status (counts, dead rows), deliver (drain or run), retry dead rows."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        status = actions.add_parser("status", help="counts per consumer, backlog, dead rows")
        status.add_argument("--json", action="store_true")
        status.add_argument("--dead", type=int, default=10, help="dead rows to show (10)")
        deliver = actions.add_parser("deliver", help="deliver until stopped (or --once)")
        deliver.add_argument("--once", action="store_true",
                             help="deliver what is due now, then exit")  # fmt: skip
        retry = actions.add_parser("retry", help="make failed (dead) rows pending again")
        retry.add_argument("--consumer", help="only this consumer's rows")
        retry.add_argument("--organization", help="only this organization's rows (slug)")
        retry.add_argument("--id", type=int, action="append", dest="ids", help="only this row")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"do_{options['action']}")(options)

    def do_status(self, options: dict[str, Any]) -> None:
        report = selectors.status(dead=options["dead"])
        write_status(self, report, as_json=options["json"], show=self.print)

    def print(self, report: dict[str, Any]) -> None:
        w = self.stdout.write
        w("consumers (pending, delivered, failed):")
        names = sorted(set(report["consumers"]) | set(registry.names()))
        for name in names:
            c = report["consumers"].get(name, {"pending": 0, "delivered": 0, "failed": 0})
            known = "" if name in registry.names() else "  (not registered here)"
            w(f"  {name:<32} {c['pending']:>8} {c['delivered']:>10} {c['failed']:>7}{known}")
        wait = report["oldest_due_seconds"]
        w(f"due now: {report['due']}" + (f", the oldest waiting {wait:.0f} s" if wait else ""))
        if report["dead"]:
            w("dead rows (newest first):")
            for d in report["dead"]:
                first = (d["last_error"] or "").splitlines()[0] if d["last_error"] else ""
                w(f"  #{d['id']} {d['organization']} {d['consumer']} {d['key']}"
                  f" after {d['attempts']} attempts: {first}")  # fmt: skip

    def do_deliver(self, options: dict[str, Any]) -> None:
        if options["once"]:
            total = delivery.drain()
            self.stdout.write(json.dumps(total.__dict__))
            return
        loop = delivery.DeliveryLoop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: loop.stop())
        loop.run()

    def do_retry(self, options: dict[str, Any]) -> None:
        organization_id = None
        if options["organization"]:
            organization_id = (
                Organization.objects.filter(slug=options["organization"])
                .values_list("id", flat=True)
                .first()
            )
            if organization_id is None:
                raise CommandError(f"no organization {options['organization']!r}")
        count = services.replay_failed(
            consumer=options["consumer"], ids=options["ids"], organization_id=organization_id
        )
        self.stdout.write(f"{count} failed outbox rows are pending again")
