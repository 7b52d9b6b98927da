"""Peak memory of a streamed ticket export: run it under `/usr/bin/time -v`.

    DESKBASE_VAR_DIR=/tmp/m1-var DESKBASE_PG_PORT=54481 PYTHONPATH=src \\
      /usr/bin/time -v .venv/bin/python bench/export_memory.py [--org SLUG] [--queue SLUG]
    ... --baseline    the same process without the export (Django set up, one query)

It reads what `GET /desk/queues/<queue>/export.csv` reads (the busiest organization by
default, the `recent` queue: every ticket), formats the CSV and throws it away, then
prints the row count, the bytes and the seconds. No audit row is written: the measured
database is not changed. Figures: docs/web.md.
"""

from __future__ import annotations

import argparse
import sys
import time

from deskbase.cli import setup_django


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--org", help="organization slug (default: the one with most tickets)")
    parser.add_argument("--queue", default="recent")
    parser.add_argument("--baseline", action="store_true")
    args = parser.parse_args()
    setup_django("owner")

    from django.db import connection
    from django.utils import timezone

    from deskbase.accounts.models import Role, User
    from deskbase.core.tenancy import tenant
    from deskbase.organizations.models import Organization
    from deskbase.tickets.export import csv_chunks, export_sql, sql_rows
    from deskbase.web import queues

    with connection.cursor() as cursor:
        if args.org:
            cursor.execute("SELECT id FROM organizations_organization WHERE slug = %s", [args.org])
        else:
            cursor.execute(
                "SELECT organization_id FROM tickets_ticket GROUP BY 1 ORDER BY count(*) DESC"
                " LIMIT 1"
            )
        org_id = cursor.fetchone()[0]
    with tenant(org_id):
        organization = Organization.objects.get(pk=org_id)
        actor = User.objects.filter(organization_id=org_id, role=Role.ADMIN).first()
    if args.baseline:
        print(f"baseline: organization {organization.slug}", file=sys.stderr)
        return 0
    assert actor is not None
    queue = queues.QUEUES[args.queue]
    sql, params = export_sql(organization, actor, queue.filters, queue.sort)
    started = time.monotonic()
    rows, size = -1, 0  # the header is not a ticket
    zone = timezone.get_current_timezone()

    def counted():
        nonlocal rows
        for row in sql_rows(organization, actor, sql, params, zone):
            rows += 1
            yield row

    for chunk in csv_chunks(counted()):
        size += len(chunk)
    seconds = time.monotonic() - started
    print(f"organization {organization.slug}, queue {args.queue}: {rows} tickets, "
          f"{size / 1e6:.1f} MB of CSV in {seconds:.1f} s", file=sys.stderr)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
