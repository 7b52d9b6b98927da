"""`deskbase bench` scenarios of the analytics panels, the live numbers, their freshness,
the cost of the rollup triggers on ticket creation, and the refresh of the seven views.

- `analytics_<panel>`: each panel of the dashboard for the busiest organization, over
  its last 30 local days of data (the panels' default range; a generated data set may
  end before today).
- `analytics_live`: the live numbers (rollups + clock-dependent index counts).
- `analytics_freshness`: a status change committed, then the live numbers read: the
  whole path from a change to a dashboard that shows it. `details.visible_at_once`
  says whether the very first read after the commit showed the change.
- `rollups_ticket_create_with` / `_without`: a ticket opened inside a transaction that
  is rolled back, with the rollup triggers, and without them (the switch
  `deskbase.rollups = off`, obeyed for bench-tagged tickets only). Same work otherwise:
  the difference is the triggers' cost; run with --concurrency to see contention.
- `analytics_refresh`: refreshes all seven views once in prepare, as the owner role on
  its own connection (`details.refresh`: ms per view, and the total); the timed call
  reads the refresh log, as the panels do for their `refreshed_at`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import psycopg
from django.db import connection, connections, transaction
from psycopg.conninfo import conninfo_to_dict

from deskbase import config
from deskbase.accounts.models import User
from deskbase.analytics import refresh, selectors
from deskbase.benchmarks.context import Context, Skip
from deskbase.benchmarks.registry import Prepared, inprocess, inserts_into
from deskbase.benchmarks.scenarios import bench_customer
from deskbase.benchmarks.subjects import BENCH_TAG
from deskbase.core.tenancy import tenant
from deskbase.organizations.models import Organization
from deskbase.tickets import services
from deskbase.tickets.models import Ticket


def _load(ctx: Context) -> tuple[Organization, User]:
    subjects = ctx.need_subjects()
    with tenant(subjects.organization_id):
        organization = Organization.objects.get(pk=subjects.organization_id)
        return organization, User.objects.get(pk=subjects.agent_id)


def _latest_filters(organization: Organization, days: int = 30) -> selectors.Filters:
    """The last `days` local days that hold tickets (a generated data set may end earlier)."""
    with tenant(organization), connection.cursor() as cursor:
        cursor.execute(
            "SELECT max(created_at) FROM tickets_ticket WHERE organization_id = %s"
            " AND deleted_at IS NULL AND NOT %s = ANY (tags)",  # not the bench's own
            [organization.id, BENCH_TAG],
        )
        latest = cursor.fetchone()[0]
    end = selectors.local_today(organization, latest) if latest else None
    end = end or selectors.local_today(organization)
    return selectors.filters_for(organization, start=end - timedelta(days=days - 1), end=end)


def _same(call: Callable[[], Any]) -> Callable[[int], Callable[[], Any]]:
    return lambda index: call


PANELS = {
    "dashboard": selectors.dashboard,
    "agents": selectors.agent_performance,
    "customers": selectors.customer_stats,
    "sla": selectors.sla_performance,
    "channels": selectors.channel_performance,
    "categories": selectors.category_performance,
}


def _panel_scenario(name: str, read: Callable[..., dict]) -> None:
    @inprocess(f"analytics_{name}", f"the analytics {name} panel, busiest organization")
    def prepare(ctx: Context) -> Prepared:
        organization, agent = _load(ctx)
        filters = _latest_filters(organization)
        call = lambda: read(organization=organization, filters=filters)  # noqa: E731
        call()
        details = {"start": str(filters.start), "end": str(filters.end)}
        return Prepared(_same(call), details=details, tenant=(organization.id, agent.id))


for _name, _read in PANELS.items():
    _panel_scenario(_name, _read)


@inprocess("analytics_trends", "the analytics trends panel: the last 90 days, per day")
def trends(ctx: Context) -> Prepared:
    organization, agent = _load(ctx)
    filters = selectors.trends_filters(organization)
    call = lambda: selectors.ticket_trends(organization=organization, filters=filters)  # noqa: E731
    return Prepared(_same(call), details={"days": len(call()["days"])},
                    tenant=(organization.id, agent.id))  # fmt: skip


@inprocess("analytics_live", "the live numbers of the busiest organization")
def live(ctx: Context) -> Prepared:
    organization, agent = _load(ctx)
    call = lambda: selectors.live_numbers(organization=organization)  # noqa: E731
    numbers = call()
    return Prepared(_same(call), details={"open": numbers["open"]},
                    tenant=(organization.id, agent.id))  # fmt: skip


def _open_bench_ticket(organization: Organization, agent: User, customer: User) -> Ticket:
    return services.ticket_create(
        organization=organization, actor=agent, customer=customer, subject="Benchmark ticket",
        description="Written by deskbase bench.", channel="api", tags=[BENCH_TAG],
    )  # fmt: skip


@inprocess("analytics_freshness", "a status change committed, then the live numbers read",
           writes=True)  # fmt: skip
def freshness(ctx: Context) -> Prepared:
    organization, agent = _load(ctx)
    customer = bench_customer(organization)

    def worker(index: int) -> Callable[[], Any]:
        ticket = _open_bench_ticket(organization, agent, customer)
        state = {"ticket": ticket}

        def call() -> dict:
            # Two changes (to pending and back to open), each followed by a read: the SLA
            # clock's pause and resume differ in queries, the pair is the same every time.
            for target in ("pending", "open"):
                state["ticket"] = services.ticket_change_status(
                    organization=organization, actor=agent, ticket=state["ticket"], status=target
                )
                numbers = selectors.live_numbers(organization=organization)
            return numbers

        return call

    # Once, not timed: is the change in the very first read after its commit?
    probe = _open_bench_ticket(organization, agent, customer)
    before = selectors.live_numbers(organization=organization)["by_status"]["pending"]
    services.ticket_change_status(organization=organization, actor=agent, ticket=probe,
                                  status="pending")  # fmt: skip
    after = selectors.live_numbers(organization=organization)["by_status"]["pending"]
    details = {"visible_at_once": after == before + 1, "changes_per_sample": 2}
    return Prepared(worker, details=details,
                    tenant=(organization.id, agent.id))  # fmt: skip


def _create_rolled_back(rollups: bool) -> Callable[[Context], Prepared]:
    def prepare(ctx: Context) -> Prepared:
        organization, agent = _load(ctx)
        customer = bench_customer(organization)

        def call() -> None:
            with transaction.atomic():
                if not rollups:
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT set_config('deskbase.rollups', 'off', true)")
                _open_bench_ticket(organization, agent, customer)
                transaction.set_rollback(True)

        details = {"rollup_triggers": rollups, "rolled_back": True, "tag": BENCH_TAG}
        return Prepared(_same(call), details=details, tenant=(organization.id, agent.id))

    return prepare


_CREATED = inserts_into("tickets_ticket")
inprocess("rollups_ticket_create_with", "open a ticket (rolled back), rollup triggers on",
          main_sql=_CREATED, writes=True)(_create_rolled_back(True))  # fmt: skip
inprocess("rollups_ticket_create_without", "open a ticket (rolled back), rollup triggers off",
          main_sql=_CREATED, writes=True)(_create_rolled_back(False))  # fmt: skip


def _owner_connection() -> psycopg.Connection:
    """The owner role on the bench's database (the bench itself runs as the application role)."""
    params = connections["default"].get_connection_params()
    owner = conninfo_to_dict(config.database_url("owner"))
    for key in ("user", "password", "host", "port"):
        if owner.get(key):
            params[key] = owner[key]
    params.pop("cursor_factory", None)
    return psycopg.connect(**params, autocommit=True)


@inprocess("analytics_refresh", "refresh all seven views once (details); time reading the log")
def refresh_all(ctx: Context) -> Prepared:
    organization, agent = _load(ctx)
    timings: dict[str, float] = {}
    try:
        owner = _owner_connection()
    except psycopg.Error as error:
        raise Skip(f"cannot connect as the owner role to refresh: {error}") from None
    with owner:
        for name in refresh.VIEWS:
            began = time.perf_counter()
            with owner.transaction(), owner.cursor() as cursor:
                refresh.refresh_in(cursor, name, concurrently=True)
            timings[name] = round((time.perf_counter() - began) * 1000, 1)
    details = {"refresh_ms": timings, "refresh_total_ms": round(sum(timings.values()), 1)}
    call = lambda: refresh.last_refreshes()  # noqa: E731
    return Prepared(_same(call), details=details, tenant=(organization.id, agent.id))
