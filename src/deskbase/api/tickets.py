"""/api/v1/tickets: thin handlers over the ticket services and selectors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from pydantic import AfterValidator, ConfigDict, model_validator

from deskbase.accounts.models import Team, User
from deskbase.accounts.requests import ApiRequest
from deskbase.api import idempotency, serialize
from deskbase.api.renderers import json_response
from deskbase.api.schemas import ERRORS, CommentOut, TicketDetailOut, TicketOut, TicketPage
from deskbase.core.errors import DomainError, ValidationFailed
from deskbase.tickets import export, listing, selectors, services
from deskbase.tickets.access import (
    access_row,
    access_ticket_by_number,
    access_ticket_reference,
    caller_organization,
)
from deskbase.tickets.models import Category, Ticket
from deskbase.tickets.permissions import ensure_staff

router = Router(tags=["tickets"])

StatusName = Literal["new", "open", "pending", "resolved", "closed", "cancelled"]
PriorityName = Literal["low", "medium", "high", "urgent"]
ChannelName = Literal["email", "web", "portal", "chat", "phone", "api"]


def _no_nul(value: Any, path: str = "") -> None:
    """PostgreSQL text cannot hold U+0000: refuse it up front, naming the field.

    Iterative: a deeply nested body cannot exhaust the stack here (its depth is
    refused, naming the field, by the service: deskbase.core.jsonbounds)."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        current, where = stack.pop()
        if isinstance(current, str):
            if "\x00" in current:
                message = "Text cannot contain NUL characters."
                raise ValidationFailed.one(where or "__all__", message)
        elif isinstance(current, dict):
            for key, item in current.items():
                stack.append((key, where))
                stack.append((item, f"{where}.{key}" if where else str(key)))
        elif isinstance(current, list):
            for index, item in enumerate(current):
                stack.append((item, f"{where}.{index}" if where else str(index)))


def _utc(value: datetime | None) -> datetime | None:
    # PostgreSQL accepts UTC offsets up to 15:59; any valid offset becomes UTC first.
    return value.astimezone(UTC) if value is not None and value.tzinfo else value


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]


class Strict(Schema):
    # A field the caller may not set (organization, role, number ...) is an error,
    # never silently dropped.
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _refuse_nul(cls, data: Any) -> Any:
        _no_nul(data)
        return data


class TicketQuery(Schema):
    status: list[StatusName] = Field(default_factory=list)
    priority: list[PriorityName] = Field(default_factory=list)
    assignee: str | None = Field(None, description="me, unassigned or an agent id")
    team: int | None = None
    customer: int | None = None
    tag: str | None = Field(None, max_length=50, pattern=r"^[^\x00]*$")
    category: int | None = None
    channel: ChannelName | None = None
    sla: Literal["breached", "at_risk"] | None = None
    created_after: UtcDatetime | None = None
    created_before: UtcDatetime | None = None
    updated_after: UtcDatetime | None = None
    updated_before: UtcDatetime | None = None
    sort: Literal["updated", "created", "priority", "sla_due"] = "updated"
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(25, ge=1, le=100)


class TicketIn(Strict):
    subject: str = Field(..., min_length=1, max_length=300)
    description: str = Field("", max_length=100_000)
    customer_id: int | None = None
    priority: PriorityName = "medium"
    channel: ChannelName = "api"
    category_id: int | None = None
    team_id: int | None = None
    assignee_id: int | None = None
    auto_assign: bool = False
    tags: list[str] = Field(default_factory=list, max_length=50)
    custom_fields: dict = Field(default_factory=dict)


class TicketPatch(Strict):
    subject: str | None = Field(None, min_length=1, max_length=300)
    description: str | None = Field(None, max_length=100_000)
    priority: PriorityName | None = None
    channel: ChannelName | None = None
    category_id: int | None = None
    team_id: int | None = None
    tags: list[str] | None = Field(None, max_length=50)
    custom_fields: dict | None = None


class StatusIn(Strict):
    status: StatusName
    reason: str = Field("", max_length=300)


class AssignIn(Strict):
    assignee_id: int | None = None
    auto: bool = False


class MergeIn(Strict):
    into: int = Field(..., description="number of the ticket that receives this one")


class DeleteIn(Strict):
    reason: str = Field("", max_length=500)


class CommentIn(Strict):
    body: str = Field(..., min_length=1, max_length=100_000)
    kind: Literal["public", "internal"] = "public"
    body_is_html: bool = False


# ------------------------------------------------------------------ helpers


def _ref(model: type, user: User, pk: int | None, field: str):
    """The body's reference `field` (an id) as a row of the caller's organization; an
    assignee comes from the roster of active staff."""
    if pk is None:
        return None
    return access_row(model, user, pk, field=field, staff=field == "assignee_id")


# The services name a reference by its model field; the API's body names it `<field>_id`.
_BODY_FIELDS = {"customer": "customer_id", "team": "team_id", "assignee": "assignee_id",
                "category": "category_id"}  # fmt: skip


@contextmanager
def _api_field_names() -> Iterator[None]:
    try:
        yield
    except DomainError as error:
        if error.field in _BODY_FIELDS:
            error.field = _BODY_FIELDS[error.field]
            if isinstance(error, ValidationFailed):
                error.errors = {_BODY_FIELDS.get(k, k): v for k, v in error.errors.items()}
        raise


def _version(request: ApiRequest) -> int:
    raw = request.headers.get("If-Match", "").strip().strip('"').removeprefix("W/").strip('"')
    if not raw.isdigit():
        raise ValidationFailed.one(
            "If-Match", "Send the ticket's version in If-Match (the ETag of its last read)."
        )
    return int(raw)


def _detail(user: User, number: int, response: HttpResponse | None = None) -> dict:
    detail = selectors.ticket_detail(
        organization=caller_organization(user), actor=user, number=number
    )
    if response is not None:
        response["ETag"] = f'"{detail.ticket.version}"'
    return serialize.ticket_detail(detail)


def filters_of(query: Any, custom: tuple[tuple[str, str], ...] = ()) -> selectors.TicketFilters:
    """The list's query (TicketQuery, or a body of the same fields) as the selectors' filters;
    `custom`: the `cf.<name>=value` pairs (custom fields)."""
    return selectors.TicketFilters(
        status=tuple(query.status), priority=tuple(query.priority), assignee=query.assignee,
        team_id=query.team, customer_id=query.customer, tag=query.tag,
        category_id=query.category, channel=query.channel, sla=query.sla,
        created_after=query.created_after, created_before=query.created_before,
        updated_after=query.updated_after, updated_before=query.updated_before, custom=custom,
    )  # fmt: skip


# ------------------------------------------------------------------ endpoints
@router.get("", response={200: TicketPage, **ERRORS})
def list_tickets(request: ApiRequest, query: Query[TicketQuery]):
    """Tickets the caller may see, filtered and sorted, one keyset page at a time."""
    user = request.auth
    filters = filters_of(query, custom=selectors.custom_filters(request.GET))
    items, next_cursor = listing.ticket_list_rows(
        organization=caller_organization(user), actor=user, filters=filters, sort=query.sort,
        after=query.cursor, limit=query.limit,
    )  # fmt: skip
    return json_response({"items": items, "next_cursor": next_cursor})


@router.get("/export", response={200: None, **ERRORS})
def export_tickets(request: ApiRequest, query: Query[TicketQuery]):
    """Every ticket the list's filters match, in its sort, as CSV (streamed; staff only;
    recorded in the audit log). `cursor` and `limit` are ignored: it is every page."""
    user = request.auth
    filters = filters_of(query, custom=selectors.custom_filters(request.GET))
    rows = export.ticket_export(
        organization=caller_organization(user), actor=user, filters=filters, sort=query.sort,
        zone=timezone.get_current_timezone(), source="api", request=request,
    )  # fmt: skip
    response = StreamingHttpResponse(
        export.csv_chunks(rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="tickets.csv"'
    return response


@router.get("/trash", response={200: list[TicketOut], **ERRORS})
def trash(request: ApiRequest):
    """Deleted tickets, most recent first (staff)."""
    ensure_staff(request.auth, "see the trash")
    return selectors.ticket_trash(
        organization=caller_organization(request.auth), actor=request.auth
    )


@router.post("", response={201: TicketDetailOut, **ERRORS})
def create_ticket(request: ApiRequest, payload: TicketIn, response: HttpResponse):
    user = request.auth

    def create() -> tuple[int, dict]:
        with _api_field_names():
            ticket = _create(user, payload)
        return 201, TicketDetailOut(**_detail(user, ticket.number, response)).model_dump()

    return Status(*idempotency.run(request, scope="tickets.create", payload=payload.model_dump(),
                                   work=create))  # fmt: skip


def _create(user: User, payload: TicketIn) -> Ticket:
    return services.ticket_create(
        organization=caller_organization(user), actor=user, subject=payload.subject,
        description=payload.description,
        customer=_ref(User, user, payload.customer_id, "customer_id"),
        priority=payload.priority, channel=payload.channel,
        category=_ref(Category, user, payload.category_id, "category_id"),
        team=_ref(Team, user, payload.team_id, "team_id"),
        assignee=_ref(User, user, payload.assignee_id, "assignee_id"),
        auto_assign=payload.auto_assign, tags=payload.tags,
        custom_fields=payload.custom_fields,
    )  # fmt: skip


@router.get("/{number}", response={200: TicketDetailOut, **ERRORS})
def get_ticket(request: ApiRequest, number: int, response: HttpResponse):
    """A ticket with its conversation; customers see public replies only. ETag: version."""
    detail = _detail(request.auth, number)
    answer = json_response(detail)
    answer["ETag"] = f'"{detail["version"]}"'
    return answer


@router.patch("/{number}", response={200: TicketDetailOut, **ERRORS})
def update_ticket(request: ApiRequest, number: int, payload: TicketPatch, response: HttpResponse):
    """Change fields at the version sent in If-Match; a stale version is a 409."""
    user = request.auth
    ticket = access_ticket_by_number(user, number)
    changes = payload.dict(exclude_unset=True)
    if "category_id" in changes:
        changes["category"] = _ref(Category, user, changes.pop("category_id"), "category_id")
    if "team_id" in changes:
        changes["team"] = _ref(Team, user, changes.pop("team_id"), "team_id")
    for field in ("subject", "priority", "channel", "tags", "custom_fields", "description"):
        if field in changes and changes[field] is None:
            raise ValidationFailed.one(field, f"{field} cannot be null.")
    services.ticket_update(
        organization=caller_organization(user), actor=user, ticket=ticket,
        version=_version(request), **changes,
    )  # fmt: skip
    return _detail(user, number, response)


@router.post("/{number}/status", response={200: TicketDetailOut, **ERRORS})
def change_status(request: ApiRequest, number: int, payload: StatusIn, response: HttpResponse):
    user = request.auth
    version = _version(request) if "If-Match" in request.headers else None
    ticket = access_ticket_by_number(user, number)
    services.ticket_change_status(
        organization=caller_organization(user), actor=user, ticket=ticket,
        status=payload.status, reason=payload.reason, version=version,
    )  # fmt: skip
    return _detail(user, number, response)


@router.post("/{number}/assign", response={200: TicketDetailOut, **ERRORS})
def assign(request: ApiRequest, number: int, payload: AssignIn, response: HttpResponse):
    """Assign to an agent, unassign (null), or let routing choose (auto: true)."""
    user = request.auth
    version = _version(request) if "If-Match" in request.headers else None
    ticket = access_ticket_by_number(user, number)
    services.ticket_assign(
        organization=caller_organization(user), actor=user, ticket=ticket,
        assignee=_ref(User, user, payload.assignee_id, "assignee_id"), auto=payload.auto,
        version=version,
    )  # fmt: skip
    return _detail(user, number, response)


@router.post("/{number}/merge", response={200: TicketDetailOut, **ERRORS})
def merge(request: ApiRequest, number: int, payload: MergeIn, response: HttpResponse):
    """Merge this ticket into `into`; returns the target."""
    user = request.auth
    source = access_ticket_by_number(user, number)
    target = access_ticket_reference(user, payload.into, field="into")
    services.ticket_merge(organization=caller_organization(user), actor=user, source=source,
                          target=target)  # fmt: skip
    return _detail(user, payload.into, response)


@router.delete("/{number}", response={204: None, **ERRORS})
def delete_ticket(request: ApiRequest, number: int, reason: str = ""):
    user = request.auth
    ticket = access_ticket_by_number(user, number)
    services.ticket_soft_delete(organization=caller_organization(user), actor=user, ticket=ticket,
                                reason=reason[:500])  # fmt: skip
    return Status(204, None)


@router.post("/{number}/restore", response={200: TicketDetailOut, **ERRORS})
def restore_ticket(request: ApiRequest, number: int, response: HttpResponse):
    user = request.auth
    ticket = access_ticket_by_number(user, number, include_deleted=True)
    services.ticket_restore(organization=caller_organization(user), actor=user, ticket=ticket)
    return _detail(user, number, response)


@router.get("/{number}/comments", response={200: list[CommentOut], **ERRORS})
def list_comments(request: ApiRequest, number: int):
    """The conversation in order; internal notes for staff only."""
    detail = selectors.ticket_detail(
        organization=caller_organization(request.auth), actor=request.auth, number=number
    )
    return detail.comments


@router.post("/{number}/comments", response={201: CommentOut, **ERRORS})
def add_comment(request: ApiRequest, number: int, payload: CommentIn):
    user = request.auth

    def add() -> tuple[int, dict]:
        ticket = access_ticket_by_number(user, number)
        comment = services.comment_add(
            organization=caller_organization(user), actor=user, ticket=ticket,
            body=payload.body, kind=payload.kind, body_is_html=payload.body_is_html,
        )  # fmt: skip
        comment.author = user
        return 201, CommentOut.model_validate(comment).model_dump()

    scope = f"tickets.{number}.comments"
    return Status(*idempotency.run(request, scope=scope, payload=payload.model_dump(), work=add))
