"""Benchmarks: bulk actions on 1,000 tickets, and the saved views' counts (docs/bulk.md,
docs/saved-views.md).

- `bulk_status_1000`: one call is two bulk jobs over 1,000 open tickets of the
  subjects' organization, each run to its end as the worker runs it (5 chunks of
  200, a transaction each): all pending, then all open again. Every ticket changes
  twice (history rows, SLA clock, events, as one by one) and the data set is left
  as it was. `details.per_1000_ms` is the median job: half a call.
- `bulk_assign_1000`: the same with up to 1,000 active tickets of the busiest
  agent: unassigned, then assigned to that agent again.
- `view_counts`: the sidebar's count of five typical saved views, one statement.

Run with few samples (`--samples 5 --warmup 1`): each call writes 2,000 ticket changes.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from django.db import connection

from deskbase.accounts.models import User
from deskbase.benchmarks.context import Context
from deskbase.benchmarks.registry import Prepared, Statement, inprocess
from deskbase.bulk import services as bulk
from deskbase.core.tenancy import tenant
from deskbase.organizations.models import Organization
from deskbase.savedviews.models import SavedView
from deskbase.savedviews.selectors import view_counts

SIZE = 1_000


def _bulk_statements(statement: Statement) -> bool:
    return "tickets_ticket" in statement.sql and statement.sql.lstrip().startswith("UPDATE")


def _tickets(organization_id: int, assignee_id: int | None) -> list[int]:
    """The numbers of SIZE open tickets (with `assignee_id`: the active tickets assigned
    to that agent), the same each run."""
    with tenant(organization_id), connection.cursor() as cursor:
        cursor.execute(
            "SELECT number FROM tickets_ticket WHERE organization_id = %s AND deleted_at IS NULL"
            " AND CASE WHEN %s::bigint IS NULL THEN status = 'open'"
            " ELSE assignee_id = %s AND status IN ('new', 'open', 'pending') END"
            " ORDER BY id LIMIT %s",
            [organization_id, assignee_id, assignee_id, SIZE],
        )
        return [row[0] for row in cursor.fetchall()]


def _prepare(ctx: Context, action: str, params: list[dict[str, Any]]) -> Prepared:
    subjects = ctx.need_subjects()
    organization = Organization(id=subjects.organization_id)
    numbers = _tickets(organization.id, subjects.agent_id if action == "assign" else None)
    with tenant(organization.id):
        agent = User.objects.get(pk=subjects.agent_id)
    details: dict[str, Any] = {"tickets": len(numbers), "chunk": bulk.CHUNK, "done": [],
                               "skipped": []}  # fmt: skip
    jobs_ms: list[float] = []

    def call() -> Any:
        if not numbers:  # a data set without such tickets: nothing to measure
            return None
        for there_or_back in params:
            started = time.perf_counter()
            job = bulk.bulk_start(
                organization=organization, actor=agent, action=action, params=there_or_back,
                tickets=[bulk.Selected(n) for n in numbers],
            )  # fmt: skip
            job = bulk.bulk_run(organization=organization, job_id=job.id)
            jobs_ms.append((time.perf_counter() - started) * 1000)
            details["done"].append(job.done)
            details["skipped"].append(job.skipped_count)
        details["per_1000_ms"] = round(statistics.median(jobs_ms) * SIZE / max(len(numbers), 1))
        details["job_median_ms"] = round(statistics.median(jobs_ms), 1)
        return job

    return Prepared(lambda index: call, details=details, tenant=(organization.id, agent.id))


@inprocess("bulk_status_1000", "a bulk status change of 1,000 tickets (pending, then open"
           " again), run as the worker runs it: 5 chunks of 200", main_sql=_bulk_statements,
           writes=True)  # fmt: skip
def bulk_status_1000(ctx: Context) -> Prepared:
    return _prepare(ctx, "status", [{"status": "pending"}, {"status": "open"}])


@inprocess("bulk_assign_1000", "a bulk assignment of up to 1,000 tickets (the busiest"
           " agent's: to nobody, then back to them)", main_sql=_bulk_statements,
           writes=True)  # fmt: skip
def bulk_assign_1000(ctx: Context) -> Prepared:
    agent_id = ctx.need_subjects().agent_id
    return _prepare(ctx, "assign", [{"assignee_id": None}, {"assignee_id": agent_id}])


TYPICAL_VIEWS = [
    ("Urgent open", {"status": ["new", "open", "pending"], "priority": ["urgent"]}),
    (
        "Unassigned high",
        {"status": ["new", "open"], "assignee": "unassigned", "priority": ["high"]},
    ),
    ("Breached", {"status": ["new", "open", "pending"], "sla": "breached"}),
    ("Mine waiting", {"status": ["pending"], "assignee": "me"}),
    ("Tagged vip", {"tag": "vip"}),
]


@inprocess("view_counts", "the desk sidebar's counts of five typical saved views, one"
           " statement (each count capped at 10,001)")  # fmt: skip
def view_counts_scenario(ctx: Context) -> Prepared:
    subjects = ctx.need_subjects()
    organization = Organization(id=subjects.organization_id)
    with tenant(organization.id):
        agent = User.objects.get(pk=subjects.agent_id)
    views = [
        SavedView(id=i, organization_id=organization.id, owner_id=agent.id, name=name,
                  filters=filters)
        for i, (name, filters) in enumerate(TYPICAL_VIEWS, 1)
    ]  # fmt: skip
    details: dict[str, Any] = {"views": [name for name, _ in TYPICAL_VIEWS], "counts": None}

    def call() -> Any:
        counts = view_counts(organization=organization, actor=agent, views=views)
        details["counts"] = list(counts.values())
        return counts

    return Prepared(lambda index: call, details=details, tenant=(organization.id, agent.id))
