"""/api/v1/organization, /api/v1/sla-policies, a ticket's SLA clock and its CSAT rating.

- the organization (name, time zone, business hours, settings, holidays): staff read
  it, admins change it, admins and managers add holidays; customers get a 403;
- SLA policies: staff read them, admins and managers create, change and deactivate
  them (an overlapping active policy is a 422 on `valid_from`);
- `GET /tickets/{number}/sla`: the clock of a ticket, staff only (customers: 404);
- `POST /tickets/{number}/csat`: the ticket's customer rates it once it is resolved.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from django.conf import settings
from django.db.models import Prefetch
from ninja import Field, Query, Router, Schema, Status
from pydantic import AwareDatetime

from deskbase import cached
from deskbase.accounts.models import User
from deskbase.accounts.requests import ApiRequest
from deskbase.api.schemas import ERRORS, SlaEventOut
from deskbase.api.tickets import Strict
from deskbase.core.errors import NotFound
from deskbase.core.tenancy import tenant
from deskbase.organizations import services as organization_services
from deskbase.organizations.models import MAX_API_RATE_LIMIT, MIN_API_RATE_LIMIT, Organization
from deskbase.organizations.settings_services import organization_settings_update
from deskbase.sla import policies
from deskbase.sla.models import MAX_TARGET_MINUTES, SlaEvent, SlaPolicy
from deskbase.tickets import services as ticket_services
from deskbase.tickets.access import access_ticket_by_number, caller_organization
from deskbase.tickets.models import Ticket
from deskbase.tickets.permissions import ensure_staff, is_staff_member

router = Router(tags=["organization"])

PriorityName = Literal["low", "medium", "high", "urgent"]
TierName = Literal["basic", "premium", "enterprise"]


# ------------------------------------------------------------------ schemas
class HolidayOut(Schema):
    id: int
    date: date
    name: str


class OrganizationOut(Schema):
    id: int
    slug: str
    name: str
    tier: str
    timezone: str
    language: str = Field(description="its people's default language; empty: each browser's")
    business_hours: dict[str, list[list[str]]]
    settings: dict
    api_rate_limit: int = Field(description="API requests a minute for the organization")
    api_rate_limit_default: bool = Field(description="true: the deployment's default limit")
    holidays: list[HolidayOut]
    updated_at: datetime

    @staticmethod
    def resolve_api_rate_limit(obj: Organization) -> int:
        return obj.api_rate_limit or settings.API_RATE_LIMIT

    @staticmethod
    def resolve_api_rate_limit_default(obj: Organization) -> bool:
        return obj.api_rate_limit is None


class OrganizationPatch(Strict):
    name: str | None = Field(None, min_length=1, max_length=200)
    timezone: str | None = Field(None, min_length=1, max_length=64, examples=["Europe/Paris"])
    language: str | None = Field(
        None, max_length=8, examples=["de"],
        description="its people's default language (en, de), also the customers' mail; "
        "empty: each browser's",
    )  # fmt: skip
    business_hours: dict[str, list[list[str]]] | None = Field(
        None, examples=[{"mon": [["09:00", "12:00"], ["13:00", "17:00"]], "sat": []}],
        description="the whole week: a day left out is closed",
    )  # fmt: skip
    settings: dict | None = Field(None, description="replaces the whole settings object")
    api_rate_limit: int | None = Field(
        None, ge=MIN_API_RATE_LIMIT, le=MAX_API_RATE_LIMIT,
        description="API requests a minute for the organization; null: the default",
    )  # fmt: skip


class HolidayIn(Strict):
    date: date
    name: str = Field(..., min_length=1, max_length=200)


class SlaPolicyOut(Schema):
    id: int
    name: str
    priority: str
    customer_tier: str
    first_response_minutes: int
    resolution_minutes: int
    business_hours: bool
    is_active: bool
    valid_from: datetime
    valid_until: datetime | None
    created_at: datetime
    updated_at: datetime


class SlaPolicyQuery(Schema):
    active: bool | None = None
    priority: PriorityName | None = None
    customer_tier: TierName | None = None


class SlaPolicyIn(Strict):
    name: str = Field(..., min_length=1, max_length=120)
    priority: PriorityName
    customer_tier: TierName
    first_response_minutes: int = Field(..., ge=1, le=MAX_TARGET_MINUTES)
    resolution_minutes: int = Field(..., ge=1, le=MAX_TARGET_MINUTES)
    business_hours: bool = Field(True, description="count business hours only (else all time)")
    valid_from: AwareDatetime | None = Field(None, description="default: now")
    valid_until: AwareDatetime | None = Field(None, description="default: open-ended")


class SlaPolicyPatch(Strict):
    name: str | None = Field(None, min_length=1, max_length=120)
    first_response_minutes: int | None = Field(None, ge=1, le=MAX_TARGET_MINUTES)
    resolution_minutes: int | None = Field(None, ge=1, le=MAX_TARGET_MINUTES)
    business_hours: bool | None = None
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = Field(None, description="null: open-ended")
    is_active: bool | None = Field(None, description="true reactivates a deactivated policy")


class SlaClockOut(Schema):
    number: int
    policy: SlaPolicyOut | None
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    paused: bool
    paused_at: datetime | None
    breached: bool
    events: list[SlaEventOut]


class CsatIn(Strict):
    rating: int = Field(..., ge=1, le=5)
    comment: str = Field("", max_length=5000)


class CsatOut(Schema):
    ticket: int
    rating: int
    comment: str
    created_at: datetime


# ------------------------------------------------------------------ helpers
def _organization(user: User) -> Organization:
    """The caller's organization with its holidays by date (cached; two queries on a miss)."""
    return cached.organization_settings(user.tenant_id)


def _policy(user: User, policy_id: int) -> SlaPolicy:
    with tenant(user.organization_id, user, savepoint=False):
        found = SlaPolicy.objects.filter(organization_id=user.tenant_id, pk=policy_id).first()
    if found is None:
        raise NotFound(f"no SLA policy {policy_id}", field="policy_id")
    return found


# ------------------------------------------------------------------ organization
@router.get("/organization", response={200: OrganizationOut, **ERRORS})
def get_organization(request: ApiRequest):
    """Settings, time zone, business hours and holidays (staff). Three queries."""
    ensure_staff(request.auth, "see the organization's settings")
    return _organization(request.auth)


@router.patch("/organization", response={200: OrganizationOut, **ERRORS})
def update_organization(request: ApiRequest, payload: OrganizationPatch):
    """Admins. New hours and time zone count for SLA clocks computed from now on."""
    user = request.auth
    organization_settings_update(organization=caller_organization(user), actor=user,
                                 **payload.dict(exclude_unset=True))  # fmt: skip
    return _organization(user)


@router.post("/organization/holidays", response={201: HolidayOut, **ERRORS})
def add_holiday(request: ApiRequest, payload: HolidayIn):
    """A closed day for business-hours SLAs (admins, managers); one per date."""
    user = request.auth
    holiday = organization_services.holiday_add(
        organization=caller_organization(user), actor=user, date=payload.date, name=payload.name
    )
    return Status(201, holiday)


# ------------------------------------------------------------------ SLA policies
@router.get("/sla-policies", response={200: list[SlaPolicyOut], **ERRORS})
def list_policies(request: ApiRequest, query: Query[SlaPolicyQuery]):
    """Every policy (staff), by priority, customer tier and start. Cached; one query on a miss."""
    user = request.auth
    ensure_staff(user, "see SLA policies")
    wanted = {"is_active": query.active, "priority": query.priority,
              "customer_tier": query.customer_tier}  # fmt: skip
    # Already in this order in the cache (deskbase.cached.sla_policies).
    return [
        policy
        for policy in cached.sla_policies(user.tenant_id)
        if all(value is None or getattr(policy, field) == value for field, value in wanted.items())
    ]


@router.post("/sla-policies", response={201: SlaPolicyOut, **ERRORS})
def create_policy(request: ApiRequest, payload: SlaPolicyIn):
    """Admins and managers. New tickets get it while it is valid; existing ones keep theirs."""
    user = request.auth
    policy = policies.sla_policy_create(organization=caller_organization(user), actor=user,
                                        **payload.dict())  # fmt: skip
    return Status(201, policy)


@router.get("/sla-policies/{policy_id}", response={200: SlaPolicyOut, **ERRORS})
def get_policy(request: ApiRequest, policy_id: int):
    ensure_staff(request.auth, "see SLA policies")
    return _policy(request.auth, policy_id)


@router.patch("/sla-policies/{policy_id}", response={200: SlaPolicyOut, **ERRORS})
def update_policy(request: ApiRequest, policy_id: int, payload: SlaPolicyPatch):
    """Admins and managers. Priority and tier never change: create another policy."""
    user = request.auth
    policies.ensure_may_manage(user)  # before the lookup: ids reveal nothing to others
    policy = _policy(user, policy_id)
    changes = payload.dict(exclude_unset=True)
    return policies.sla_policy_update(
        organization=caller_organization(user), actor=user, policy=policy, **changes
    )


@router.delete("/sla-policies/{policy_id}", response={204: None, **ERRORS})
def deactivate_policy(request: ApiRequest, policy_id: int):
    """Deactivate (admins and managers): no new ticket gets it; the row stays."""
    user = request.auth
    policies.ensure_may_manage(user)  # before the lookup: ids reveal nothing to others
    policy = _policy(user, policy_id)
    policies.sla_policy_deactivate(
        organization=caller_organization(user), actor=user, policy=policy
    )
    return Status(204, None)


# ------------------------------------------------------------------ a ticket's SLA and CSAT
@router.get("/tickets/{number}/sla", response={200: SlaClockOut, **ERRORS})
def ticket_sla(request: ApiRequest, number: int):
    """The ticket's SLA clock: policy, due times, pause, and every clock event in order
    (staff; for a customer, like for another tenant, there is no such ticket). Three queries."""
    user = request.auth
    ticket = None
    if is_staff_member(user):
        events = SlaEvent.objects.order_by("created_at", "id")
        with tenant(user.organization_id, user, savepoint=False):
            ticket = (
                Ticket.objects.filter(organization_id=user.organization_id, number=number)
                .select_related("sla_policy")
                .prefetch_related(Prefetch("sla_events", queryset=events, to_attr="clock"))
                .first()
            )
    if ticket is None:
        raise NotFound(f"no ticket #{number}", field="number")
    return {
        "number": ticket.number, "policy": ticket.sla_policy,
        "first_response_due_at": ticket.first_response_due_at,
        "resolution_due_at": ticket.resolution_due_at,
        "first_response_at": ticket.first_response_at, "resolved_at": ticket.resolved_at,
        "paused": ticket.sla_paused_at is not None, "paused_at": ticket.sla_paused_at,
        "breached": ticket.sla_breach, "events": ticket.clock,
    }  # fmt: skip


@router.post("/tickets/{number}/csat", response={201: CsatOut, **ERRORS})
def rate_ticket(request: ApiRequest, number: int, payload: CsatIn):
    """The ticket's customer rates it (1 to 5), once, after it is resolved."""
    user = request.auth
    ticket = access_ticket_by_number(user, number)
    response = ticket_services.csat_record(
        organization=caller_organization(user), actor=user, ticket=ticket, rating=payload.rating,
        comment=payload.comment,
    )  # fmt: skip
    rated = {"ticket": ticket.number, "rating": response.rating, "comment": response.comment,
             "created_at": response.created_at}  # fmt: skip
    return Status(201, rated)
