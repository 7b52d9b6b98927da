"""/api/v1/analytics: the dashboard panels (docs/analytics.md). Staff only; the agents'
performance panel for managers and admins only. Every panel is the caller's own
organization: the selectors filter by it (the views have no row-level security)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from ninja import Field, Query, Router, Schema

from deskbase.accounts.models import Role, User
from deskbase.accounts.requests import ApiRequest
from deskbase.analytics import selectors
from deskbase.api.schemas import ERRORS
from deskbase.core.errors import PermissionDenied
from deskbase.core.tenancy import tenant
from deskbase.organizations.models import Organization
from deskbase.tickets.permissions import ensure_staff

router = Router(tags=["analytics"])

ChannelName = Literal["email", "web", "portal", "chat", "phone", "api"]
PriorityName = Literal["low", "medium", "high", "urgent"]
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2199, 12, 31)
MAX_ID = 2**63 - 1


class Range(Schema):
    start: date | None = Field(
        None, ge=FIRST_DAY, le=LAST_DAY, description="first local day (default: 29 days before end)"
    )
    end: date | None = Field(None, ge=FIRST_DAY, le=LAST_DAY,
                             description="last local day, included (default: today)")  # fmt: skip


class DashboardQuery(Range):
    team: int | None = Field(None, ge=1, le=MAX_ID)
    agent: int | None = Field(None, ge=1, le=MAX_ID)
    channel: ChannelName | None = None
    category: int | None = Field(None, ge=1, le=MAX_ID)


class AgentQuery(Range):
    team: int | None = Field(None, ge=1, le=MAX_ID)
    agent: int | None = Field(None, ge=1, le=MAX_ID)


class CustomerQuery(Range):
    channel: ChannelName | None = None
    limit: int = Field(25, ge=1, le=100)


class SlaQuery(Range):
    team: int | None = Field(None, ge=1, le=MAX_ID)
    priority: PriorityName | None = None


class TrendQuery(Range):
    team: int | None = Field(None, ge=1, le=MAX_ID)
    channel: ChannelName | None = None
    category: int | None = Field(None, ge=1, le=MAX_ID)


class ChannelQuery(Range):
    team: int | None = Field(None, ge=1, le=MAX_ID)
    channel: ChannelName | None = None


class CategoryQuery(Range):
    team: int | None = Field(None, ge=1, le=MAX_ID)
    category: int | None = Field(None, ge=1, le=MAX_ID)


class LiveQuery(Schema):
    team: int | None = Field(None, ge=1, le=MAX_ID)


def _organization(user: User) -> Organization:
    ensure_staff(user, "see analytics")
    with tenant(user.organization_id, user, savepoint=False):
        return Organization.objects.only("id", "timezone").get(pk=user.organization_id)


def _filters(organization: Organization, query: Schema) -> selectors.Filters:
    values: dict[str, Any] = query.dict()
    values.pop("limit", None)
    return selectors.filters_for(organization, **values)


@router.get("/live", response={200: dict, **ERRORS})
def live(request: ApiRequest, query: Query[LiveQuery]):
    """Right now: tickets by status, open by priority and team, unassigned, created and
    resolved today (the organization's day), SLA breached now and at risk."""
    organization = _organization(request.auth)
    return selectors.live_numbers(organization=organization, team=query.team)


@router.get("/dashboard", response={200: dict, **ERRORS})
def dashboard(request: ApiRequest, query: Query[DashboardQuery]):
    """The tickets opened in the range: volume, response and resolution times, SLA, CSAT."""
    organization = _organization(request.auth)
    return selectors.dashboard(organization=organization, filters=_filters(organization, query))


@router.get("/agents", response={200: dict, **ERRORS})
def agents(request: ApiRequest, query: Query[AgentQuery]):
    """Per agent: tickets handled, replies and notes (effort), times, SLA, CSAT."""
    user = request.auth
    organization = _organization(user)
    if user.role not in (Role.MANAGER, Role.ADMIN):
        raise PermissionDenied("only managers and admins may see agent performance")
    return selectors.agent_performance(
        organization=organization, filters=_filters(organization, query)
    )


@router.get("/customers", response={200: dict, **ERRORS})
def customers(request: ApiRequest, query: Query[CustomerQuery]):
    """The customers who opened the most tickets in the range."""
    organization = _organization(request.auth)
    return selectors.customer_stats(
        organization=organization, filters=_filters(organization, query), limit=query.limit
    )


@router.get("/sla", response={200: dict, **ERRORS})
def sla(request: ApiRequest, query: Query[SlaQuery]):
    """SLA compliance of the tickets opened in the range, overall and per priority."""
    organization = _organization(request.auth)
    return selectors.sla_performance(
        organization=organization, filters=_filters(organization, query)
    )


@router.get("/trends", response={200: dict, **ERRORS})
def trends(request: ApiRequest, query: Query[TrendQuery]):
    """Per day of the last 90: tickets opened, resolved, closed and reopened."""
    organization = _organization(request.auth)
    values = query.dict()
    filters = selectors.trends_filters(organization, **values)
    return selectors.ticket_trends(organization=organization, filters=filters)


@router.get("/channels", response={200: dict, **ERRORS})
def channels(request: ApiRequest, query: Query[ChannelQuery]):
    """The dashboard's metrics per channel."""
    organization = _organization(request.auth)
    return selectors.channel_performance(
        organization=organization, filters=_filters(organization, query)
    )


@router.get("/categories", response={200: dict, **ERRORS})
def categories(request: ApiRequest, query: Query[CategoryQuery]):
    """The dashboard's metrics per category."""
    organization = _organization(request.auth)
    return selectors.category_performance(
        organization=organization, filters=_filters(organization, query)
    )
