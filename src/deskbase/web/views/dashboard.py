"""The manager dashboard: the analytics panels as charts and tables, and live numbers.

Every figure comes from `deskbase.analytics.selectors`, called the way the analytics
API calls them (docs/analytics.md): staff see the dashboard, the agents' performance
table is for managers and admins only. Each panel is one statement, so the page runs
a fixed number of queries whatever the number of tickets.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext
from django.views.decorators.http import require_GET

from deskbase.accounts.models import STAFF_ROLES, Team, User
from deskbase.accounts.requests import AuthedRequest
from deskbase.analytics import selectors
from deskbase.core.errors import ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.organizations.models import Organization
from deskbase.tickets.models import Category, Channel, Priority
from deskbase.web.views.common import MANAGERS, error_text, staff_required


def _organization(user: User) -> Organization:
    with tenant(user.organization_id, user, savepoint=False):
        return Organization.objects.only("id", "timezone").get(pk=user.organization_id)


def _day(request: HttpRequest, name: str, errors: list[str]) -> date | None:
    raw = (request.GET.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors.append(f"{name}: not a date (YYYY-MM-DD).")
        return None


def _id(request: HttpRequest, name: str, allowed: set[int]) -> int | None:
    """An id from the form, kept only when it is one of the choices offered (the
    caller's own organization's teams, agents, categories)."""
    raw = request.GET.get(name, "")
    return int(raw) if raw.isdigit() and int(raw) in allowed else None


def _choices(user: User) -> dict[str, list]:
    """Teams, agents and categories of the caller's organization. Budget: 3 queries."""
    org_id = user.tenant_id
    with tenant(org_id, user, savepoint=False):
        return {
            "teams": list(Team.objects.filter(organization_id=org_id).order_by("name")
                          .values_list("id", "name")),
            "agents": list(User.objects.filter(organization_id=org_id, role__in=STAFF_ROLES,
                                               deleted_at__isnull=True)
                           .order_by("full_name", "email").values_list("id", "full_name", "email")),
            "categories": list(Category.objects.filter(organization_id=org_id).order_by("name")
                               .values_list("id", "name")),
        }  # fmt: skip


def _filters(request: HttpRequest, organization: Organization, choices: dict, errors: list):
    dimensions: dict[str, Any] = {
        "team": _id(request, "team", {t[0] for t in choices["teams"]}),
        "agent": _id(request, "agent", {a[0] for a in choices["agents"]}),
        "category": _id(request, "category", {c[0] for c in choices["categories"]}),
        "channel": request.GET.get("channel") if request.GET.get("channel") in Channel.values
        else None,
    }  # fmt: skip
    start, end = _day(request, "start", errors), _day(request, "end", errors)
    try:
        return selectors.filters_for(organization, start=start, end=end, **dimensions)
    except ValidationFailed as error:
        errors.append(error_text(error))
        return selectors.filters_for(organization, **dimensions)


def page_filters(
    request: HttpRequest, user: User, errors: list[str]
) -> tuple[Organization, selectors.Filters]:
    """The caller's organization and the dashboard's filters from the query string (range,
    team, agent, category, channel), as the dashboard reads them; used by its CSV exports
    too. A bad value is appended to `errors`. Budget: 4 queries."""
    organization = _organization(user)
    return organization, _filters(request, organization, _choices(user), errors)


def trend_filters(
    organization: Organization, filters: selectors.Filters
) -> selectors.Filters | None:
    """The chosen range as far as it lies in the last 90 days (None: not at all)."""
    today = selectors.local_today(organization)
    start = max(filters.start, today - timedelta(days=selectors.TREND_DAYS - 1))
    end = min(filters.end, today)
    if start > end:
        return None
    return selectors.Filters(
        start=start, end=end, team=filters.team, channel=filters.channel,
        category=filters.category,
    )  # fmt: skip


def _trends(organization: Organization, filters: selectors.Filters) -> dict[str, Any] | None:
    """The trends of the chosen range as far as it lies in the last 90 days."""
    trend = trend_filters(organization, filters)
    if trend is None:
        return None
    return selectors.ticket_trends(organization=organization, filters=trend)


def _chart_data(panels: dict[str, Any]) -> dict[str, Any]:
    """What the charts draw (static/web/dashboard.js reads it from a json_script block)."""
    trends = panels["trends"]
    sla = panels["sla"]
    priorities = {value: str(label) for value, label in Priority.choices}
    channels = {value: str(label) for value, label in Channel.choices}
    return {
        "trends": {
            "labels": [d["day"].isoformat() for d in trends["days"]] if trends else [],
            "series": {name: [d[name] for d in trends["days"]] if trends else []
                       for name in ("created", "resolved", "closed", "reopened")},
        },
        "sla": {
            "labels": [priorities.get(p, p) for p in sla["by_priority"]],
            "first_response": [p["first_response"]["compliance_pct"]
                               for p in sla["by_priority"].values()],
            "resolution": [p["resolution"]["compliance_pct"] for p in sla["by_priority"].values()],
        },
        "channels": {"labels": [channels.get(c["channel"], c["channel"])
                                for c in panels["channels"]["channels"]],
                     "tickets": [c["tickets"] for c in panels["channels"]["channels"]]},
        "categories": {
            "labels": [
                c["name"] or gettext("No category") for c in panels["categories"]["categories"]
            ],
            "tickets": [c["tickets"] for c in panels["categories"]["categories"]],
        },
        "csat": {"labels": list(panels["summary"]["csat"]["distribution"]),
                 "counts": list(panels["summary"]["csat"]["distribution"].values())},
        # The charts' own words, in the reader's language (dashboard.js has no catalog).
        "words": {"created": gettext("Opened"), "resolved": gettext("Resolved"),
                  "closed": gettext("Closed"), "reopened": gettext("Reopened"),
                  "first_response": gettext("First response met %"),
                  "resolution": gettext("Resolution met %"), "tickets": gettext("Tickets"),
                  "ratings": gettext("Ratings")},
    }  # fmt: skip


@staff_required
@require_GET
def dashboard(request: AuthedRequest) -> HttpResponse:
    user = request.user
    organization = _organization(user)
    choices = _choices(user)
    errors: list[str] = []
    filters = _filters(request, organization, choices, errors)
    # The selectors set the tenant without an actor: set it once for all of them, so
    # they do not each switch it and back (two statements per panel otherwise).
    with tenant(organization, savepoint=False):
        panels: dict[str, Any] = {
            "summary": selectors.dashboard(organization=organization, filters=filters),
            "sla": selectors.sla_performance(organization=organization, filters=filters),
            "channels": selectors.channel_performance(organization=organization,
                                                      filters=filters),
            "categories": selectors.category_performance(organization=organization,
                                                         filters=filters),
            "trends": _trends(organization, filters),
        }  # fmt: skip
        if user.role in MANAGERS:
            panels["agents"] = selectors.agent_performance(organization=organization,
                                                           filters=filters)  # fmt: skip
        live = selectors.live_numbers(organization=organization, team=filters.team)
    return render(request, "web/desk/dashboard.html", {
        "filters": filters, "errors": errors, "panels": panels, "live": live,
        "chart_data": _chart_data(panels), "channels": Channel.choices, **choices,
        "live_query": f"?team={filters.team}" if filters.team else "",
    })  # fmt: skip


@staff_required
@require_GET
def dashboard_live(request: AuthedRequest) -> HttpResponse:
    """The live numbers alone, polled by the dashboard every 10 seconds."""
    user = request.user
    organization = _organization(user)
    raw = request.GET.get("team", "")
    # A team id of another organization matches none of this organization's tickets:
    # every count below filters by the caller's organization first.
    team = int(raw) if raw.isdigit() and len(raw) < 19 else None
    live = selectors.live_numbers(organization=organization, team=team)
    return render(request, "web/parts/live.html", {"live": live})
