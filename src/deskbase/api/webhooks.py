"""/api/v1/webhooks: signed webhook endpoints, their deliveries and statistics.

Admins and managers; agents and customers get a 403. Another organization's endpoint
or delivery is a 404, like one that does not exist. The signing secret is shown once,
in the answer that made it (creation, rotation); no other answer contains it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Field, Query, Router, Schema, Status

from deskbase.accounts.requests import ApiRequest
from deskbase.api.schemas import ERRORS
from deskbase.api.tickets import Strict
from deskbase.core.errors import ValidationFailed
from deskbase.tickets.access import caller_organization
from deskbase.webhooks import payloads, selectors, services
from deskbase.webhooks.models import Endpoint

router = Router(tags=["webhooks"])

EventName = Literal[
    "*", "ticket.created", "ticket.updated", "ticket.merged", "ticket.soft_deleted",
    "ticket.restored", "comment.added", "csat.recorded",
]  # fmt: skip


class StatsOut(Schema):
    calls: int = 0
    successes: int = 0
    failures: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None


class EndpointOut(Schema):
    id: int
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str = Field(..., description="why it was disabled (blank while enabled)")
    disabled_at: datetime | None
    rotating: bool = Field(..., description="a previous secret is still valid (rotation)")
    previous_secret_expires_at: datetime | None
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime
    stats: StatsOut = Field(..., description="the last 30 days")


class EndpointSecretOut(EndpointOut):
    secret: str = Field(..., description="whsec_...: shown this once; store it now")


class EndpointIn(Strict):
    url: str = Field(..., min_length=1, max_length=2000)
    description: str = Field("", max_length=500)
    event_types: list[EventName] = Field(..., min_length=1, max_length=50)
    enabled: bool = True


class EndpointPatch(Strict):
    url: str | None = Field(None, min_length=1, max_length=2000)
    description: str | None = Field(None, max_length=500)
    event_types: list[EventName] | None = Field(None, min_length=1, max_length=50)
    enabled: bool | None = None


class RotateIn(Strict):
    keep_previous_hours: int = Field(
        services.DEFAULT_KEEP_PREVIOUS_HOURS, ge=0, le=168,
        description="how long the current secret stays valid beside the new one",
    )  # fmt: skip


class DeliveryOut(Schema):
    id: int
    endpoint_id: int
    message_id: str
    event_type: str
    attempt: int
    replay_of: int | None
    url: str
    response_status: int | None
    duration_ms: int
    success: bool
    error: str
    created_at: datetime


class DeliveryDetailOut(DeliveryOut):
    request_headers: dict[str, str]
    request_body: str
    response_body: str = Field(..., description="the start of the answer (4,096 characters)")


class DeliveryPage(Schema):
    items: list[DeliveryOut]
    next_cursor: str | None = Field(None, description="pass as `cursor` for the next page")


class DeliveryQuery(Schema):
    cursor: str | None = Field(None, max_length=80)
    limit: int = Field(50, ge=1, le=200)


class ReplayOut(Schema):
    queued: bool = Field(..., description="false: this replay was already waiting to go")


class EventTypesOut(Schema):
    event_types: list[str]


def _out(endpoint: Endpoint, stats: Any, secret: str | None = None) -> dict[str, Any]:
    data = {
        "id": endpoint.id, "url": endpoint.url, "description": endpoint.description,
        "event_types": endpoint.event_types, "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason, "disabled_at": endpoint.disabled_at,
        "rotating": bool(endpoint.previous_secret),
        "previous_secret_expires_at": endpoint.previous_secret_expires_at,
        "failing_since": endpoint.failing_since, "created_at": endpoint.created_at,
        "updated_at": endpoint.updated_at, "stats": _stats(stats),
    }  # fmt: skip
    if secret is not None:
        data["secret"] = secret
    return data


def _stats(stats: Any) -> dict[str, Any]:
    if stats is None:
        return {}
    return {name: getattr(stats, name) for name in StatsOut.model_fields}


def _cursor(raw: str | None) -> tuple[datetime, int] | None:
    if not raw:
        return None
    at, _, last = raw.rpartition("|")
    try:
        return datetime.fromisoformat(at), int(last)
    except ValueError:
        raise ValidationFailed.one("cursor", "Pass the next_cursor of the previous page.") from None


def _with_stats(user: Any, endpoint: Endpoint, secret: str | None = None) -> dict[str, Any]:
    stats = selectors.statistics(
        organization=caller_organization(user), actor=user, endpoint_id=endpoint.id
    )
    return _out(endpoint, stats.get(endpoint.id), secret)


# ------------------------------------------------------------------ deliveries
@router.get("/webhooks/event-types", response={200: EventTypesOut, **ERRORS})
def event_types(request: ApiRequest):
    """The events endpoints may subscribe to ("*": all of them)."""
    services.ensure_may_manage(request.auth)
    return {"event_types": [payloads.WILDCARD, *payloads.CARRIED]}


@router.get("/webhooks/deliveries/{delivery_id}", response={200: DeliveryDetailOut, **ERRORS})
def get_delivery(request: ApiRequest, delivery_id: int):
    """One attempt: what was sent (headers, body) and what came back."""
    user = request.auth
    return selectors.delivery_of(
        organization=caller_organization(user), actor=user, delivery_id=delivery_id
    )


@router.post("/webhooks/deliveries/{delivery_id}/replay", response={202: ReplayOut, **ERRORS})
def replay_delivery(request: ApiRequest, delivery_id: int):
    """Send the message again (same webhook-id and body, signed anew), as a new delivery."""
    user = request.auth
    queued = services.delivery_replay(
        organization=caller_organization(user), actor=user, delivery_id=delivery_id
    )
    return Status(202, {"queued": queued})


# ------------------------------------------------------------------ endpoints
@router.get("/webhooks", response={200: list[EndpointOut], **ERRORS})
def list_endpoints(request: ApiRequest):
    """The organization's endpoints with their statistics. Two queries."""
    user = request.auth
    organization = caller_organization(user)
    endpoints = selectors.endpoint_list(organization=organization, actor=user)
    stats = selectors.statistics(organization=organization, actor=user)
    return [_out(endpoint, stats.get(endpoint.id)) for endpoint in endpoints]


@router.post("/webhooks", response={201: EndpointSecretOut, **ERRORS})
def create_endpoint(request: ApiRequest, payload: EndpointIn):
    """A new endpoint; its signing secret is in this answer only."""
    user = request.auth
    endpoint, secret = services.endpoint_create(
        organization=caller_organization(user), actor=user, **payload.dict()
    )
    return Status(201, _out(endpoint, None, secret))


@router.get("/webhooks/{endpoint_id}", response={200: EndpointOut, **ERRORS})
def get_endpoint(request: ApiRequest, endpoint_id: int):
    user = request.auth
    endpoint = selectors.endpoint_of(
        organization=caller_organization(user), actor=user, endpoint_id=endpoint_id
    )
    return _with_stats(user, endpoint)


@router.patch("/webhooks/{endpoint_id}", response={200: EndpointOut, **ERRORS})
def update_endpoint(request: ApiRequest, endpoint_id: int, payload: EndpointPatch):
    """Change the URL, description, events or enabled flag (enabling clears the reason)."""
    user = request.auth
    changes = payload.dict(exclude_unset=True)
    for field, value in changes.items():
        if value is None:
            raise ValidationFailed.one(field, f"{field} cannot be null.")
    endpoint = services.endpoint_update(
        organization=caller_organization(user), actor=user, endpoint_id=endpoint_id, **changes
    )
    return _with_stats(user, endpoint)


@router.delete("/webhooks/{endpoint_id}", response={204: None, **ERRORS})
def delete_endpoint(request: ApiRequest, endpoint_id: int):
    """Remove an endpoint: messages not yet sent are dropped; its log is kept."""
    user = request.auth
    services.endpoint_delete(
        organization=caller_organization(user), actor=user, endpoint_id=endpoint_id
    )
    return Status(204, None)


@router.post("/webhooks/{endpoint_id}/rotate-secret", response={200: EndpointSecretOut, **ERRORS})
def rotate_secret(request: ApiRequest, endpoint_id: int, payload: RotateIn):
    """A new signing secret, shown once; the current one stays valid beside it for
    `keep_previous_hours` (messages carry both signatures meanwhile)."""
    user = request.auth
    endpoint, secret = services.endpoint_rotate_secret(
        organization=caller_organization(user), actor=user, endpoint_id=endpoint_id,
        keep_previous_hours=payload.keep_previous_hours,
    )  # fmt: skip
    return _with_stats(user, endpoint, secret)


@router.post("/webhooks/{endpoint_id}/test", response={200: DeliveryDetailOut, **ERRORS})
def test_endpoint(request: ApiRequest, endpoint_id: int):
    """Send a `webhook.test` message now and return the logged delivery."""
    user = request.auth
    return services.endpoint_test(
        organization=caller_organization(user), actor=user, endpoint_id=endpoint_id
    )


@router.get("/webhooks/{endpoint_id}/deliveries", response={200: DeliveryPage, **ERRORS})
def list_deliveries(request: ApiRequest, endpoint_id: int, query: Query[DeliveryQuery]):
    """The endpoint's deliveries, newest first. One query per page (and one for the
    endpoint)."""
    user = request.auth
    organization = caller_organization(user)
    selectors.endpoint_of(organization=organization, actor=user, endpoint_id=endpoint_id)
    page = selectors.deliveries(
        organization=organization, actor=user, endpoint_id=endpoint_id,
        before=_cursor(query.cursor), limit=query.limit,
    )  # fmt: skip
    return {"items": page.items, "next_cursor": page.next_cursor}
