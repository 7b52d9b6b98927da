"""Every read of the analytics panels. Each is one statement in the caller's tenant.

The materialized views hold every tenant and have no row-level security, so each
query here filters by `organization_id` itself (and the joined tables have RLS on
top). Query budget of every panel: 2 (the tenant's set_config + one statement).
"""

# ruff: noqa: S608 - SQL text is assembled only from this module's constants (view,
# column and table names); every value is a bound parameter.

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext

from deskbase.analytics import metrics
from deskbase.core.db.router import read_connection, replica_read
from deskbase.core.errors import ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.organizations.models import Organization
from deskbase.tickets.models import ACTIVE_STATUSES, Priority, Status

ACTIVE = tuple(str(status) for status in ACTIVE_STATUSES)
STATUSES = tuple(Status.values)
PRIORITIES = tuple(Priority.values)
AT_RISK_MINUTES = 60  # "at risk": a running SLA target due within this many minutes
TREND_DAYS = 90  # ticket_trends keeps this many local days
MAX_RANGE_DAYS = 3660
DEFAULT_RANGE_DAYS = 30


# ------------------------------------------------------------------ dates and filters
def local_today(organization: Organization, now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(zoneinfo.ZoneInfo(organization.timezone)).date()


def day_bounds(organization: Organization, day: date) -> tuple[datetime, datetime]:
    """[local midnight, next local midnight) of `day`, as aware instants."""
    zone = zoneinfo.ZoneInfo(organization.timezone)
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start, end


@dataclass(frozen=True)
class Filters:
    """A date range of local days (both included) and the panel's dimension filters."""

    start: date
    end: date
    team: int | None = None
    agent: int | None = None
    channel: str | None = None
    category: int | None = None
    priority: str | None = None


def filters_for(
    organization: Organization,
    *,
    start: date | None = None,
    end: date | None = None,
    now: datetime | None = None,
    **dimensions: Any,
) -> Filters:
    """The caller's range (default: the last 30 local days, today included), checked."""
    today = local_today(organization, now)
    end = end or today
    start = start or end - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if start > end:
        raise ValidationFailed.one("start", gettext("The range starts after it ends."))
    if (end - start).days >= MAX_RANGE_DAYS:
        raise ValidationFailed.one(
            "start",
            gettext("A range covers at most %(max_range_days)s days.")
            % {"max_range_days": MAX_RANGE_DAYS},
        )
    return Filters(start=start, end=end, **dimensions)


# Per view: which filter is which column (a filter a view does not list is not offered).
COLUMNS = {
    "dashboard_stats": {"team": "team_id", "agent": "assignee_id", "channel": "channel",
                        "category": "category_id"},
    "agent_performance_stats": {"team": "team_id", "agent": "agent_id"},
    "customer_stats": {"channel": "channel"},
    "sla_performance_stats": {"team": "team_id", "priority": "priority"},
    "ticket_trends": {"team": "team_id", "channel": "channel", "category": "category_id"},
    "channel_performance_stats": {"team": "team_id", "channel": "channel"},
    "category_performance_stats": {"team": "team_id", "category": "category_id"},
}  # fmt: skip


def _where(view: str, organization: Organization, filters: Filters) -> tuple[str, list[Any]]:
    clauses = ["v.organization_id = %s", "v.day BETWEEN %s AND %s"]
    params: list[Any] = [organization.id, filters.start, filters.end]
    for name, column in COLUMNS[view].items():
        value = getattr(filters, name)
        if value is not None:
            clauses.append(f"v.{column} = %s")
            params.append(value)
    return " AND ".join(clauses), params


def _sum_list(sums: Iterable[str]) -> str:
    return ", ".join(f"coalesce(sum(v.{name}), 0) AS {name}" for name in sums)


def _panel(
    organization: Organization, view: str, select: str, params: Sequence[Any]
) -> tuple[datetime | None, Any]:
    """(when the view was last refreshed, the JSON the statement builds)."""
    statement = (
        "SELECT (SELECT max(finished_at) FROM analytics_refresh_log WHERE view_name = %s),"
        f" ({select})"
    )
    with tenant(organization, savepoint=False), read_connection().cursor() as cursor:
        cursor.execute(statement, [view, *params])
        refreshed_at, data = cursor.fetchone()
    return refreshed_at, data


def _totals(organization: Organization, view: str, sums: Sequence[str], filters: Filters):
    where, params = _where(view, organization, filters)
    select = f"SELECT row_to_json(t) FROM (SELECT {_sum_list(sums)} FROM {view} v WHERE {where}) t"
    return _panel(organization, view, select, params)


def _groups(
    organization: Organization, view: str, sums: Sequence[str], filters: Filters, *,
    key: str, order: str, label: str = "NULL", join: str = "", limit: int | None = None,
):  # fmt: skip
    """Sums per `key`, ordered; aggregated first, then `join` (on `a.key`) names the
    groups kept, so a name is looked up once per row shown, not per view row."""
    where, params = _where(view, organization, filters)
    cap = f" LIMIT {int(limit)}" if limit else ""
    select = (
        "SELECT coalesce(json_agg(g ORDER BY g.rank), '[]'::json) FROM ("
        f"SELECT a.*, {label} AS label FROM ("
        f"SELECT v.{key} AS key, {_sum_list(sums)},"
        f" row_number() OVER (ORDER BY {order}, v.{key}) AS rank"
        f" FROM {view} v WHERE {where} GROUP BY v.{key} ORDER BY rank{cap}) a {join}) g"
    )
    if "%s" in join:  # the joined table, filtered by the organization too
        params = [*params, organization.id]
    return _panel(organization, view, select, params)


def _envelope(view: str, refreshed_at: datetime | None, filters: Filters) -> dict[str, Any]:
    return {"view": view, "refreshed_at": refreshed_at, "start": filters.start,
            "end": filters.end}  # fmt: skip


# ------------------------------------------------------------------ the panels
def dashboard_view(filters: Filters) -> str:
    """The smallest view holding every filtered dimension: the three hold the same sums
    per ticket, at finer grains (dashboard_stats has them all, row for ticket)."""
    if filters.agent is not None or (filters.category is not None and filters.channel):
        return "dashboard_stats"
    if filters.category is not None:
        return "category_performance_stats"
    return "channel_performance_stats"


@replica_read
def dashboard(*, organization: Organization, filters: Filters) -> dict[str, Any]:
    view = dashboard_view(filters)
    refreshed_at, sums = _totals(organization, view, metrics.TICKET_SUMS, filters)
    return {**_envelope(view, refreshed_at, filters), **metrics.ticket_metrics(sums)}


@replica_read
def agent_performance(
    *, organization: Organization, filters: Filters, limit: int = 200
) -> dict[str, Any]:
    view = "agent_performance_stats"
    refreshed_at, rows = _groups(
        organization, view, metrics.AGENT_SUMS, filters, key="agent_id", label="u.full_name",
        join="LEFT JOIN accounts_user u ON u.id = a.key AND u.organization_id = %s",
        order="sum(v.handled) DESC, sum(v.replies + v.notes) DESC", limit=limit,
    )  # fmt: skip
    agents = [{"agent_id": r["key"], "name": r["label"], **metrics.agent_metrics(r)} for r in rows]
    return {**_envelope(view, refreshed_at, filters), "agents": agents}


@replica_read
def customer_stats(
    *, organization: Organization, filters: Filters, limit: int = 25
) -> dict[str, Any]:
    """The customers who opened the most tickets in the range, with their metrics.

    Two steps in one statement: rank the customers by tickets alone (an index-only
    scan of customer_stats_rank: customer_stats has about a row per ticket), then sum
    every metric for the `limit` customers kept (customer_stats_customer), not for all.
    """
    view = "customer_stats"
    where, params = _where(view, organization, filters)
    select = (
        "SELECT coalesce(json_agg(g ORDER BY g.tickets DESC, g.key), '[]'::json) FROM ("
        "SELECT top.key, u.full_name AS label, s.* FROM ("
        f"SELECT v.customer_id AS key FROM {view} v WHERE {where} GROUP BY v.customer_id"
        f" ORDER BY sum(v.tickets) DESC, v.customer_id LIMIT {int(limit)}) top"
        f" CROSS JOIN LATERAL (SELECT {_sum_list(metrics.TICKET_SUMS)} FROM {view} v"
        f" WHERE {where} AND v.customer_id = top.key) s"
        " LEFT JOIN accounts_user u ON u.id = top.key AND u.organization_id = %s) g"
    )
    refreshed_at, rows = _panel(organization, view, select, [*params, *params, organization.id])
    customers = [
        {"customer_id": r["key"], "name": r["label"], **metrics.ticket_metrics(r)} for r in rows
    ]
    return {**_envelope(view, refreshed_at, filters), "customers": customers}


@replica_read
def sla_performance(*, organization: Organization, filters: Filters) -> dict[str, Any]:
    view = "sla_performance_stats"
    refreshed_at, rows = _groups(
        organization, view, metrics.SLA_SUMS, filters, key="priority", order="v.priority"
    )
    # Low to urgent, the order of Priority (and of every menu), not the alphabet's.
    found = {r["key"]: r for r in rows}
    by_priority = {p: metrics.sla_metrics(found[p]) for p in PRIORITIES if p in found}
    totals = {name: sum(r[name] for r in rows) for name in metrics.SLA_SUMS}
    return {**_envelope(view, refreshed_at, filters), **metrics.sla_metrics(totals),
            "by_priority": by_priority}  # fmt: skip


@replica_read
def ticket_trends(*, organization: Organization, filters: Filters) -> dict[str, Any]:
    """Per local day: opened, resolved, closed, reopened (the last 90 days at most)."""
    view = "ticket_trends"
    refreshed_at, rows = _groups(
        organization, view, metrics.TREND_SUMS, filters, key="day", order="v.day"
    )
    found = {r["key"]: r for r in rows}
    days = []
    day = filters.start
    while day <= filters.end:
        row = found.get(day.isoformat(), {})
        days.append({"day": day, **{name: int(row.get(name, 0)) for name in metrics.TREND_SUMS}})
        day += timedelta(days=1)
    return {**_envelope(view, refreshed_at, filters), "days": days}


def trends_filters(organization: Organization, **kwargs: Any) -> Filters:
    """The trends' range: the last 90 local days at most (the default)."""
    today = local_today(organization, kwargs.get("now"))
    first = today - timedelta(days=TREND_DAYS - 1)
    if kwargs.get("start") is None:
        end = kwargs.get("end") or today
        kwargs["start"] = max(first, end - timedelta(days=TREND_DAYS - 1))
    filters = filters_for(organization, **kwargs)
    if filters.end > today or filters.start < first:
        raise ValidationFailed.one(
            "start",
            gettext("Trends cover the last %(trend_days)s days: %(first)s to %(today)s.")
            % {"trend_days": TREND_DAYS, "first": first, "today": today},
        )
    return filters


def channel_performance(*, organization: Organization, filters: Filters) -> dict[str, Any]:
    view = "channel_performance_stats"
    refreshed_at, rows = _groups(
        organization, view, metrics.TICKET_SUMS, filters, key="channel",
        order="sum(v.tickets) DESC",
    )  # fmt: skip
    channels = [{"channel": r["key"], **metrics.ticket_metrics(r)} for r in rows]
    return {**_envelope(view, refreshed_at, filters), "channels": channels}


def category_performance(*, organization: Organization, filters: Filters) -> dict[str, Any]:
    view = "category_performance_stats"
    refreshed_at, rows = _groups(
        organization, view, metrics.TICKET_SUMS, filters, key="category_id", label="c.name",
        join="LEFT JOIN tickets_category c ON c.id = a.key AND c.organization_id = %s",
        order="sum(v.tickets) DESC",
    )  # fmt: skip
    categories = [
        {"category_id": r["key"] or None, "name": r["label"], **metrics.ticket_metrics(r)}
        for r in rows
    ]
    return {**_envelope(view, refreshed_at, filters), "categories": categories}


# ------------------------------------------------------------------ live numbers
LIVE_COUNTS = """
SELECT coalesce(json_agg(c), '[]'::json) FROM (
    SELECT status, priority, team_id, assigned, sla, sum(tickets)::bigint AS tickets
    FROM analytics_ticket_counts
    WHERE organization_id = %(org)s {team}
    GROUP BY 1, 2, 3, 4, 5 HAVING sum(tickets) <> 0
) c
"""
# Of the running (open, not paused) tickets, those whose next due time is still ahead:
# not breached, and at risk if it comes within the window. An index range from now on.
NEXT_DUE = (
    "least(resolution_due_at, CASE WHEN first_response_at IS NULL THEN first_response_due_at END)"
)
ACTIVE_SQL = ", ".join(f"'{status}'" for status in ACTIVE)
LIVE_CLOCK = f"""
SELECT
 (SELECT count(*) FROM tickets_ticket WHERE organization_id = %(org)s {{team}}
    AND deleted_at IS NULL AND created_at >= %(day_start)s AND created_at < %(day_end)s),
 (SELECT count(*) FROM tickets_ticket WHERE organization_id = %(org)s {{team}}
    AND deleted_at IS NULL AND resolved_at IS NOT NULL AND merged_into_id IS NULL
    AND resolved_at >= %(day_start)s AND resolved_at < %(day_end)s),
 (SELECT count(*) FROM tickets_ticket WHERE organization_id = %(org)s {{team}}
    AND deleted_at IS NULL AND status IN ({ACTIVE_SQL})
    AND sla_paused_at IS NULL AND {NEXT_DUE} >= %(now)s),
 (SELECT count(*) FROM tickets_ticket WHERE organization_id = %(org)s {{team}}
    AND deleted_at IS NULL AND status IN ({ACTIVE_SQL})
    AND sla_paused_at IS NULL AND {NEXT_DUE} >= %(now)s AND {NEXT_DUE} < %(soon)s)
"""


def live_numbers(
    *, organization: Organization, team: int | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """The numbers that are right the moment a ticket changes (docs/analytics.md).

    Counts come from the trigger-kept rollups; what depends on the clock (today, the
    open tickets not yet due) is counted from partial indexes. Query budget: 3 (tenant +
    2 statements).
    """
    now = now or timezone.now()
    today = local_today(organization, now)
    day_start, day_end = day_bounds(organization, today)
    params = {"org": organization.id, "team": team, "now": now, "day_start": day_start,
              "day_end": day_end, "soon": now + timedelta(minutes=AT_RISK_MINUTES)}  # fmt: skip
    with tenant(organization, savepoint=False), read_connection().cursor() as cursor:
        cursor.execute(
            LIVE_COUNTS.format(team="AND team_id = %(team)s" if team is not None else ""), params
        )
        rows = cursor.fetchone()[0]
        cursor.execute(
            LIVE_CLOCK.format(team="AND team_id = %(team)s" if team is not None else ""), params
        )
        created_today, resolved_today, not_due_yet, at_risk = cursor.fetchone()
    counts = _live_counts(rows, filtered=team is not None)
    # Breached now: stopped after a due time, or running with the next due time passed.
    sla = counts.pop("sla")
    breached = sla.get("paused_breached", 0) + sla.get("running", 0) - not_due_yet
    return {
        "as_of": now, "today": today, "team": team, **counts,
        "created_today": created_today, "resolved_today": resolved_today,
        "sla_breached_now": breached, "sla_at_risk": at_risk,
        "at_risk_minutes": AT_RISK_MINUTES,
    }  # fmt: skip


def _live_counts(rows: list[dict[str, Any]], *, filtered: bool) -> dict[str, Any]:
    by_status: dict[str, int | None] = dict.fromkeys(STATUSES, 0)
    if filtered:  # finished tickets are counted by status only, without their team
        by_status.update({s: None for s in STATUSES if s not in ACTIVE})
    by_priority = dict.fromkeys(PRIORITIES, 0)
    by_team: dict[int | None, int] = {}
    unassigned = 0
    sla: dict[str, int] = {}
    for row in rows:
        status, tickets = row["status"], int(row["tickets"])
        sla[row["sla"]] = sla.get(row["sla"], 0) + tickets
        if by_status[status] is not None:
            by_status[status] = (by_status[status] or 0) + tickets
        if status in ACTIVE:
            by_priority[row["priority"]] += tickets
            team_id = row["team_id"] or None
            by_team[team_id] = by_team.get(team_id, 0) + tickets
            if not row["assigned"]:
                unassigned += tickets
    teams = sorted(by_team.items(), key=lambda item: (item[0] is None, item[0] or 0))
    return {
        "by_status": by_status,
        "open": sum(by_priority.values()),
        "open_by_priority": by_priority,
        "open_by_team": [{"team_id": t, "open": n} for t, n in teams if n],
        "unassigned": unassigned,
        "sla": sla,
    }
