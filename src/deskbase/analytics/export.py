"""CSV exports of the dashboard's tables: the same selectors, the same filters, as rows.

Each table is a handful of rows (one per priority, channel, category, agent or day of
the range), read in one statement; the export is recorded in the audit log with its
table and filters. Staff only; the agents' table, like its panel, for managers and admins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from django.utils.translation import gettext

from deskbase.accounts import audit
from deskbase.accounts.models import AuditAction, Role, User
from deskbase.analytics import selectors
from deskbase.core.errors import NotFound, PermissionDenied
from deskbase.core.tenancy import tenant
from deskbase.organizations.models import Organization
from deskbase.tickets.permissions import ensure_staff

Rows = Iterator[list[Any]]


def _trends(organization: Organization, filters: selectors.Filters) -> Rows:
    yield ["day", "opened", "resolved", "closed", "reopened"]
    for d in selectors.ticket_trends(organization=organization, filters=filters)["days"]:
        yield [d["day"].isoformat(), d["created"], d["resolved"], d["closed"], d["reopened"]]


def _sla(organization: Organization, filters: selectors.Filters) -> Rows:
    yield ["priority", "tickets", "first_response_met", "first_response_breached",
           "resolution_met", "resolution_breached", "compliance_pct"]  # fmt: skip
    sla = selectors.sla_performance(organization=organization, filters=filters)
    for priority, p in [*sla["by_priority"].items(), ("all", sla)]:
        yield [priority, p["tickets"], p["first_response"]["met"],
               p["first_response"]["breached"], p["resolution"]["met"],
               p["resolution"]["breached"], p["sla_compliance_pct"]]  # fmt: skip


def _channels(organization: Organization, filters: selectors.Filters) -> Rows:
    yield ["channel", "tickets", "resolved", "first_response_avg_seconds", "sla_compliance_pct",
           "csat_average"]  # fmt: skip
    for c in selectors.channel_performance(organization=organization, filters=filters)["channels"]:
        yield [c["channel"], c["tickets"], c["resolved"], c["first_response_avg_seconds"],
               c["sla_compliance_pct"], c["csat"]["average"]]  # fmt: skip


def _categories(organization: Organization, filters: selectors.Filters) -> Rows:
    yield ["category", "tickets", "resolved", "resolution_avg_seconds", "sla_compliance_pct",
           "csat_average"]  # fmt: skip
    found = selectors.category_performance(organization=organization, filters=filters)
    for c in found["categories"]:
        yield [c["name"] or "", c["tickets"], c["resolved"], c["resolution_avg_seconds"],
               c["sla_compliance_pct"], c["csat"]["average"]]  # fmt: skip


def _csat(organization: Organization, filters: selectors.Filters) -> Rows:
    yield ["rating", "responses"]
    summary = selectors.dashboard(organization=organization, filters=filters)
    yield from ([rating, count] for rating, count in summary["csat"]["distribution"].items())


def _agents(organization: Organization, filters: selectors.Filters) -> Rows:
    yield ["agent", "handled", "replies", "notes", "first_response_avg_seconds",
           "resolution_avg_seconds", "sla_compliance_pct", "csat_average"]  # fmt: skip
    for a in selectors.agent_performance(organization=organization, filters=filters)["agents"]:
        yield [a["name"] or "", a["handled"], a["replies"], a["notes"],
               a["first_response_avg_seconds"], a["resolution_avg_seconds"],
               a["sla_compliance_pct"], a["csat_average"]]  # fmt: skip


TABLES: dict[str, Callable[[Organization, selectors.Filters], Rows]] = {
    "trends": _trends, "sla": _sla, "channels": _channels, "categories": _categories,
    "csat": _csat, "agents": _agents,
}  # fmt: skip
MANAGERS_ONLY = ("agents",)


def report_export(
    *, organization: Organization, actor: User, table: str, filters: selectors.Filters,
    request: Any = None,
) -> list[list[Any]]:  # fmt: skip
    """The rows of one dashboard table (header first). A few dozen rows: read at once,
    under the organization's tenant, after the audit row."""
    ensure_staff(actor, gettext("export reports"))
    if table not in TABLES:
        raise NotFound(gettext("no table %(table)r") % {"table": table}, field="table")
    if table in MANAGERS_ONLY and actor.role not in (Role.ADMIN, Role.MANAGER):
        raise PermissionDenied(gettext("only managers and admins may export the agents' figures"))
    audit.record(
        AuditAction.REPORT_EXPORTED, organization_id=organization.id, actor_id=actor.id,
        request=request, table=table, filters={
            name: value.isoformat() if hasattr(value, "isoformat") else value
            for name, value in vars(filters).items() if value is not None
        },
    )  # fmt: skip
    with tenant(organization, savepoint=False):
        return list(TABLES[table](organization, filters))
