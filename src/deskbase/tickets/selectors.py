"""Every read of tickets a view or the API needs, scoped to the tenant and the reader."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import (
    Case,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Least
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone
from django.utils.translation import gettext

from deskbase.accounts.models import User
from deskbase.core.db.router import replica_read
from deskbase.core.errors import NotFound, ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.organizations.models import Organization
from deskbase.sla.models import SlaEvent
from deskbase.tickets.models import (
    ACTIVE_STATUSES,
    CommentKind,
    Priority,
    Status,
    Ticket,
    TicketAttachment,
    TicketComment,
    TicketFieldValue,
    TicketHistory,
    TicketTag,
)
from deskbase.tickets.permissions import ensure_can_view_ticket, is_staff_member

QUEUES = ("mine", "unassigned", "team", "open", "all", "customer")
ORDERS = ("updated", "sla_due")


@dataclass(frozen=True)
class Page:
    items: list[Ticket]
    next_cursor: str | None


def _encode(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, size: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed.one(
            "cursor", gettext("This cursor is not one the server gave out.")
        ) from None
    if not isinstance(values, list) or len(values) != size:
        raise ValidationFailed.one("cursor", gettext("This cursor is not one the server gave out."))
    return values


def _queue_filter(queue: str, actor: User, team_id: int | None) -> Q:
    if queue == "mine":
        return Q(assignee=actor, status__in=ACTIVE_STATUSES)
    if queue == "unassigned":
        return Q(assignee__isnull=True, status__in=ACTIVE_STATUSES)
    if queue == "team":
        if team_id is None:
            raise ValidationFailed.one("team", gettext("The team queue needs a team."))
        return Q(team_id=team_id, status__in=ACTIVE_STATUSES)
    if queue == "open":
        return Q(status__in=ACTIVE_STATUSES)
    return Q()


@replica_read
def ticket_queue(
    *,
    organization: Organization,
    actor: User,
    queue: str = "mine",
    status: str | None = None,
    team_id: int | None = None,
    order: str = "updated",
    after: str | None = None,
    limit: int = 25,
) -> Page:
    """A page of a queue, keyset-paginated. Budget: 2 queries (tenant, page), any page size.

    `updated` orders by last change (newest first) on the tickets_queue_* indexes;
    `sla_due` by resolution due time (soonest first) on tickets_queue_sla_due.
    """
    if queue not in QUEUES:
        raise ValidationFailed.one(
            "queue",
            gettext("Unknown queue %(queue)r; use %(choices)s.")
            % {"queue": queue, "choices": ", ".join(QUEUES)},
        )
    if order not in ORDERS:
        raise ValidationFailed.one(
            "order",
            gettext("Unknown order %(order)r; use %(choices)s.")
            % {"order": order, "choices": ", ".join(ORDERS)},
        )
    if status is not None and status not in Status.values:
        raise ValidationFailed.one(
            "status", gettext("Unknown status %(status)r.") % {"status": status}
        )
    limit = max(1, min(int(limit), 100))
    with tenant(organization, actor, savepoint=False):
        queryset = Ticket.objects.filter(organization=organization)
        if not is_staff_member(actor):
            queryset = queryset.filter(customer=actor)
        elif queue != "customer":
            queryset = queryset.filter(_queue_filter(queue, actor, team_id))
        if status is not None:
            queryset = queryset.filter(status=status)
        queryset, key = _ordered(queryset, order, after)
        rows = list(
            queryset.select_related("customer", "assignee", "team", "category")[: limit + 1]
        )
    items = rows[:limit]
    next_cursor = _encode(key(items[-1])) if len(rows) > limit else None
    return Page(items, next_cursor)


def _ordered(queryset: QuerySet[Ticket], order: str, after: str | None):
    if order == "sla_due":
        queryset = queryset.filter(resolution_due_at__isnull=False, status__in=ACTIVE_STATUSES)
        if after:
            due, last_id = _decode(after, 2)
            due_at = datetime.fromisoformat(due)
            queryset = queryset.filter(
                Q(resolution_due_at__gt=due_at) | Q(resolution_due_at=due_at, id__gt=last_id)
            )
        return queryset.order_by("resolution_due_at", "id"), lambda t: [
            t.resolution_due_at.isoformat(),
            t.id,
        ]
    if after:
        updated, last_id = _decode(after, 2)
        updated_at = datetime.fromisoformat(updated)
        queryset = queryset.filter(
            Q(updated_at__lt=updated_at) | Q(updated_at=updated_at, id__lt=last_id)
        )
    return queryset.order_by("-updated_at", "-id"), lambda t: [t.updated_at.isoformat(), t.id]


@dataclass(frozen=True)
class TicketDetail:
    ticket: Ticket
    comments: list[TicketComment]
    attachments: list[TicketAttachment]
    history: list[TicketHistory]
    sla_events: list[SlaEvent]


@replica_read
def ticket_detail(*, organization: Organization, actor: User, number: int) -> TicketDetail:
    """A ticket with its conversation. Budget: 6 queries (tenant, ticket, comments,
    attachments, history, SLA events), whatever the size of the conversation.

    Customers see public replies and system notes only, and no history.
    """
    staff = is_staff_member(actor)
    comments = TicketComment.objects.select_related("author").order_by("created_at", "id")
    attachments = TicketAttachment.objects.order_by("id")
    if not staff:
        comments = comments.exclude(kind=CommentKind.INTERNAL)
        attachments = attachments.exclude(comment__kind=CommentKind.INTERNAL)
    prefetch = [
        Prefetch("comments", queryset=comments, to_attr="conversation"),
        Prefetch("attachments", queryset=attachments, to_attr="files"),
    ]
    if staff:
        prefetch += [
            # The tenant spelled out: the history's partitions are indexed by
            # (organization_id, ticket_id, ...), and row-level security's condition is
            # a filter, not an index bound (at 1M tickets: 2,787 buffers read, now 3 a
            # partition).
            Prefetch("history", to_attr="changes", queryset=TicketHistory.objects.filter(
                organization_id=organization.id).order_by("created_at", "id")),
            Prefetch("sla_events", queryset=SlaEvent.objects.order_by("created_at", "id"),
                     to_attr="clock"),
        ]  # fmt: skip
    with tenant(organization, actor, savepoint=False):
        ticket = (
            Ticket.objects.filter(organization=organization, number=number)
            .select_related("customer", "assignee", "team", "category", "sla_policy")
            # The merged-into ticket's number only, as a subquery: joining tickets_ticket
            # a second time cost 3 ms of planning (its 30 indexes considered twice).
            .annotate(
                merged_into_number=Subquery(
                    Ticket.all_objects.filter(pk=OuterRef("merged_into_id")).values("number")[:1]
                )
            )
            .prefetch_related(*prefetch)
            .first()
        )
    if ticket is None:
        raise NotFound(gettext("no ticket #%(number)s") % {"number": number}, field="number")
    ensure_can_view_ticket(actor, ticket)
    return TicketDetail(
        ticket=ticket,
        comments=ticket.conversation,
        attachments=ticket.files,
        history=getattr(ticket, "changes", []),
        sla_events=getattr(ticket, "clock", []),
    )


@replica_read
def ticket_trash(*, organization: Organization, actor: User, limit: int = 50) -> list[Ticket]:
    """Deleted tickets, most recently deleted first (staff only). Budget: 2 queries."""
    if not is_staff_member(actor):
        return []
    with tenant(organization, actor, savepoint=False):
        return list(
            Ticket.all_objects.filter(organization=organization, deleted_at__isnull=False)
            .select_related("customer", "deleted_by")
            .order_by("-deleted_at", "-id")[: max(1, min(limit, 200))]
        )


# ------------------------------------------------------------------ the API's list
SORTS = ("updated", "created", "priority", "sla_due")
AT_RISK_WINDOW = timedelta(hours=1)
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)
# The priority sort's rank of each priority: Priority's order (low 1 ... urgent 4). The
# highest ranks are spelled out, highest first; the lowest is the ELSE.
PRIORITY_RANKS = {priority: rank for rank, priority in enumerate(Priority.values, start=1)}
_RANKED = sorted(PRIORITY_RANKS.items(), key=lambda item: -item[1])[:-1]
PRIORITY_RANK = Case(
    *[When(priority=priority, then=Value(rank)) for priority, rank in _RANKED],
    default=Value(1),
    output_field=IntegerField(),
)
# The next SLA due time of a running ticket: LEAST skips a NULL, so it is the first
# response's while one is owed and sooner, else the resolution's. The same expression
# as the index tickets_queue_at_risk and listing.NEXT_DUE_SQL.
NEXT_DUE = Least(
    "resolution_due_at",
    Case(When(first_response_at__isnull=True, then=F("first_response_due_at"))),
)
# Each sort: the keyset columns (annotation or field) and whether each descends.
KEYSETS: dict[str, list[tuple[str, bool]]] = {
    "updated": [("updated_at", True), ("id", True)],
    "created": [("created_at", True), ("id", True)],
    "priority": [("priority_rank", True), ("updated_at", True), ("id", True)],
    "sla_due": [("sla_key", False), ("id", False)],
}


@dataclass(frozen=True)
class TicketFilters:
    status: tuple[str, ...] = ()
    priority: tuple[str, ...] = ()
    assignee: str | None = None  # "me", "unassigned" or an id
    team_id: int | None = None
    customer_id: int | None = None
    tag: str | None = None
    category_id: int | None = None
    channel: str | None = None
    sla: str | None = None  # "breached" or "at_risk"
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    # Custom fields, `cf.<name>=value` in a query string: each pair must match.
    custom: tuple[tuple[str, str], ...] = ()


MAX_CUSTOM_FILTERS = 5


def custom_matches(name: str, value: str) -> list[dict[str, Any]]:
    """The JSON objects one `cf.<name>=value` filter matches as `custom_fields @> ...`
    would (looked up in tickets_ticketfieldvalue, `custom_value_keys`): the text
    itself, and the number or boolean it spells, since a query string has no JSON type."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationFailed.one(
            f"cf.{name[:20]}", gettext("A custom field name is 1 to 100 characters.")
        )
    if len(value) > 200:
        raise ValidationFailed.one(
            f"cf.{name}", gettext("A custom field value is at most 200 characters.")
        )
    matches: list[dict[str, Any]] = [{name: value}]
    if value in ("true", "false"):
        matches.append({name: value == "true"})
    elif re.fullmatch(r"-?\d{1,15}", value):
        matches.append({name: int(value)})
    elif re.fullmatch(r"-?\d{1,15}\.\d{1,6}", value):
        matches.append({name: float(value)})
    return matches


def custom_value_keys(name: str, value: str) -> tuple[str, list[str]]:
    """(field, values) of one filter in tickets_ticketfieldvalue's spelling (migration
    0017): the JSON forms `custom_matches` gives, typed, numbers without trailing zeros."""
    keys = []
    for match in custom_matches(name, value):
        found = next(iter(match.values()))
        if isinstance(found, bool):
            keys.append(f"b:{'true' if found else 'false'}")
        elif isinstance(found, str):
            keys.append(f"s:{found}")
        else:
            number = format(Decimal(value), "f")
            if "." in number:
                number = number.rstrip("0").rstrip(".")
            keys.append(f"n:{'0' if number in ('-0', '') else number}")
    return name.strip(), keys


def custom_filters(params: Any) -> tuple[tuple[str, str], ...]:
    """The `cf.<name>=value` pairs of a query string (a QueryDict or a dict)."""
    pairs = tuple(
        (key[3:], str(value))
        for key, value in sorted(params.items())
        if key.startswith("cf.") and str(value) != ""
    )
    if len(pairs) > MAX_CUSTOM_FILTERS:
        raise ValidationFailed.one(
            "cf",
            gettext("At most %(max_custom_filters)s custom field filters.")
            % {"max_custom_filters": MAX_CUSTOM_FILTERS},
        )
    for name, value in pairs:
        custom_matches(name, value)  # refuses a bad one, naming it
    return pairs


def _filter_q(filters: TicketFilters, actor: User) -> Q:
    q = Q()
    if filters.status:
        q &= Q(status__in=filters.status)
    if filters.priority:
        q &= Q(priority__in=filters.priority)
    if filters.assignee == "me":
        q &= Q(assignee_id=actor.id)
    elif filters.assignee == "unassigned":
        q &= Q(assignee__isnull=True)
    elif filters.assignee is not None:
        if not filters.assignee.isdigit():
            raise ValidationFailed.one("assignee", gettext("Use me, unassigned or an agent's id."))
        q &= Q(assignee_id=int(filters.assignee))
    for field in ("team_id", "customer_id", "category_id", "channel"):
        if getattr(filters, field) is not None:
            q &= Q(**{field: getattr(filters, field)})
    if filters.tag:
        q &= Q(_tagged(filters.tag.strip().lower()))
    for name, lookup in (
        ("created_after", "created_at__gte"), ("created_before", "created_at__lt"),
        ("updated_after", "updated_at__gte"), ("updated_before", "updated_at__lt"),
    ):  # fmt: skip
        if getattr(filters, name) is not None:
            q &= Q(**{lookup: getattr(filters, name)})
    for name, value in filters.custom:
        field, keys = custom_value_keys(name, value)
        q &= Q(
            Exists(
                TicketFieldValue.objects.filter(
                    organization_id=OuterRef("organization_id"), field=field, value__in=keys,
                    ticket_id=OuterRef("pk"),
                )
            )
        )  # fmt: skip
    return q & _sla_q(filters.sla)


def _tagged(tag: str) -> Exists:
    """Tickets with this tag, through tickets_tickettag (leakproof `=`, see listing.TAG_SQL)."""
    return Exists(
        TicketTag.objects.filter(
            organization_id=OuterRef("organization_id"), tag=tag, ticket_id=OuterRef("pk")
        )
    )


def _sla_q(state: str | None) -> Q:
    if state is None:
        return Q()
    if state == "breached":
        return Q(sla_breach=True)
    if state == "at_risk":
        soon = timezone.now() + AT_RISK_WINDOW
        # The next due time (LEAST skips a NULL: the first response's while it is
        # owed, else the resolution's) within the window: a range of the partial
        # index tickets_queue_at_risk (tickets/0014), whatever the sort.
        return Q(
            LessThanOrEqual(NEXT_DUE, Value(soon)),
            sla_breach=False,
            status__in=ACTIVE_STATUSES,
            sla_paused_at__isnull=True,
        )
    raise ValidationFailed.one("sla", gettext("Use breached or at_risk."))


def _keyset_after(keys: list[tuple[str, bool]], values: list[Any]) -> Q:
    """Rows strictly after `values` in the order `keys` (lexicographic)."""
    condition = Q()
    for i in range(len(keys) - 1, -1, -1):
        name, descending = keys[i]
        step = Q(**{f"{name}__{'lt' if descending else 'gt'}": values[i]})
        condition = step if i == len(keys) - 1 else step | (Q(**{name: values[i]}) & condition)
    return condition


def _cursor_values(ticket: Ticket | dict[str, Any], keys: list[tuple[str, bool]]) -> list[Any]:
    """The sort keys of the last row of a page (a model or a `ticket_list_rows` row)."""
    out = []
    for name, _ in keys:
        value = ticket[name] if isinstance(ticket, dict) else getattr(ticket, name)
        out.append(value.isoformat() if isinstance(value, datetime) else value)
    return out


def _parse_cursor(cursor: str, keys: list[tuple[str, bool]]) -> list[Any]:
    values = _decode(cursor, len(keys))
    parsed = []
    for (name, _), value in zip(keys, values, strict=True):
        try:
            parsed.append(
                datetime.fromisoformat(value) if name.endswith(("_at", "_key")) else int(value)
            )
        except (TypeError, ValueError):
            raise ValidationFailed.one(
                "cursor", gettext("This cursor is not one the server gave out.")
            ) from None
    return parsed


def _list_queryset(
    organization: Organization, actor: User, filters: TicketFilters, sort: str, after: str | None
) -> tuple[QuerySet, list[tuple[str, bool]]]:
    if sort not in SORTS:
        raise ValidationFailed.one(
            "sort",
            gettext("Unknown sort %(sort)r; use %(choices)s.")
            % {"sort": sort, "choices": ", ".join(SORTS)},
        )
    keys = KEYSETS[sort]
    queryset = Ticket.objects.filter(organization=organization).filter(_filter_q(filters, actor))
    if not is_staff_member(actor):
        queryset = queryset.filter(customer=actor)
    queryset = queryset.annotate(
        priority_rank=PRIORITY_RANK, sla_key=Coalesce("resolution_due_at", Value(FAR_FUTURE))
    )
    if after:
        queryset = queryset.filter(_keyset_after(keys, _parse_cursor(after, keys)))
    ordering = [f"-{name}" if desc else name for name, desc in keys]
    return queryset.order_by(*ordering), keys


@replica_read
def ticket_list(
    *,
    organization: Organization,
    actor: User,
    filters: TicketFilters = TicketFilters(),
    sort: str = "updated",
    after: str | None = None,
    limit: int = 25,
) -> Page:
    """Filtered, sorted, keyset-paginated tickets. Budget: 1 query plus the tenant check."""
    queryset, keys = _list_queryset(organization, actor, filters, sort, after)
    limit = max(1, min(int(limit), 100))
    with tenant(organization, actor, savepoint=False):
        rows = list(
            queryset.select_related("customer", "assignee", "team", "category")[: limit + 1]
        )
    items = rows[:limit]
    cursor = _encode(_cursor_values(items[-1], keys)) if len(rows) > limit else None
    return Page(items, cursor)
