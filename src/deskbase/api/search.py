"""/api/v1/search: global search, suggestions, opened results and search analytics."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any, Literal

from django.http import HttpResponse
from ninja import Field, Query, Router, Schema

from deskbase.accounts.requests import ApiRequest
from deskbase.api.schemas import ERRORS
from deskbase.api.tickets import Strict, UtcDatetime
from deskbase.core.errors import ValidationFailed
from deskbase.search import analytics, query, selectors, services

router = Router(tags=["search"])

StatusName = Literal["new", "open", "pending", "resolved", "closed", "cancelled"]
PriorityName = Literal["low", "medium", "high", "urgent"]


class SearchQuery(Schema):
    q: str = Field("", description='web-search syntax: words, "a phrase", OR, -word; #123')
    types: str | None = Field(
        None, description="comma-separated: " + ",".join(selectors.STAFF_TYPES)
    )
    status: list[StatusName] = Field(default_factory=list)
    priority: list[PriorityName] = Field(default_factory=list)
    assignee: str | None = Field(None, description="me, unassigned or an agent id")
    created_after: UtcDatetime | None = None
    created_before: UtcDatetime | None = None
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(20, ge=1, le=50)


class GroupOut(Schema):
    items: list[dict[str, Any]]
    next_cursor: str | None
    plan: str | None


class SearchOut(Schema):
    query: str
    search_id: int | None
    direct: dict[str, Any] | None = Field(None, description="the ticket a #number names")
    groups: dict[str, GroupOut]
    did_you_mean: str | None
    count: int


class SuggestionOut(Schema):
    type: str
    id: int | None
    text: str


class OpenedIn(Strict):
    type: Literal["ticket", "comment", "canned_response", "user", "attachment", "organization"]
    id: int = Field(..., ge=1)


class PopularOut(Schema):
    query: str
    searches: int
    avg_results: float | None
    opened: int


class ZeroResultOut(Schema):
    query: str
    searches: int
    last_searched_at: datetime


class SuccessOut(Schema):
    days: int
    searches: int
    successful: int
    zero_results: int
    rate: float | None


def _types(value: str | None, user) -> list[str] | None:
    if not value:
        return None
    wanted = [t.strip() for t in value.split(",") if t.strip()]
    unknown = [t for t in wanted if t not in selectors.STAFF_TYPES]
    if unknown:
        raise ValidationFailed.one(
            "types", f"Unknown type {unknown[0]!r}; use {', '.join(selectors.STAFF_TYPES)}."
        )
    return wanted


def _assignee(value: str | None) -> str | None:
    if value is None or value in ("me", "unassigned") or (value.isdigit() and len(value) < 19):
        return value
    raise ValidationFailed.one("assignee", "Use me, unassigned or an agent id.")


@router.get("", response={200: SearchOut, **ERRORS})
def search(request: ApiRequest, params: Query[SearchQuery]):
    """Tickets (with their comments), comments, canned responses, people, attachments,
    the organization and (staff) published knowledge base articles."""
    user = request.auth
    started = time.perf_counter()
    text = query.clean(params.q)
    cursor = query.decode_cursor(params.cursor) if params.cursor else None
    filters = selectors.Filters(
        status=list(params.status), priority=list(params.priority),
        assignee=_assignee(params.assignee), created_after=params.created_after,
        created_before=params.created_before,
    )  # fmt: skip
    found = selectors.search(user=user, text=text, types=_types(params.types, user),
                             filters=filters, cursor=cursor, limit=params.limit)  # fmt: skip
    latency = (time.perf_counter() - started) * 1000
    search_id = None
    if cursor is None and text:
        search_id = services.search_log(user=user, text=text, types=list(found.groups),
                                        result_count=found.count, latency_ms=latency)  # fmt: skip
    return {
        "query": text, "search_id": search_id, "direct": found.direct,
        "groups": {k: vars(g) for k, g in found.groups.items()},
        "did_you_mean": found.did_you_mean, "count": found.count,
    }  # fmt: skip


@router.get("/suggest", response={200: list[SuggestionOut], **ERRORS})
def suggest(request: ApiRequest, q: str = ""):
    """Completions of a prefix: ticket subjects, canned responses, customers, organization."""
    return selectors.suggest(user=request.auth, text=query.clean(q))


@router.post("/{search_id}/opened", response={204: None, **ERRORS})
def opened(request: ApiRequest, search_id: int, payload: OpenedIn):
    """Record which result of one of the caller's searches was opened (search analytics)."""
    services.search_opened(user=request.auth, search_id=search_id, opened_type=payload.type,
                           opened_id=payload.id)  # fmt: skip
    return HttpResponse(status=204)


class PeriodQuery(Schema):
    days: int = Field(30, ge=1, le=400, description="the last N days")
    limit: int = Field(20, ge=1, le=100)


@router.get("/analytics/popular", response={200: list[PopularOut], **ERRORS})
def popular(request: ApiRequest, params: Query[PeriodQuery]):
    """The most frequent searches over the last `days` days (managers and admins)."""
    return analytics.popular_queries(user=request.auth, days=params.days, limit=params.limit)


@router.get("/analytics/zero-results", response={200: list[ZeroResultOut], **ERRORS})
def zero_results(request: ApiRequest, params: Query[PeriodQuery]):
    """The most frequent searches that found nothing (managers and admins)."""
    return analytics.zero_result_queries(user=request.auth, days=params.days,
                                         limit=params.limit)  # fmt: skip


@router.get("/analytics/success-rate", response={200: SuccessOut, **ERRORS})
def success_rate(request: ApiRequest, params: Query[PeriodQuery]):
    """Share of searches followed by an opened result (managers and admins)."""
    return analytics.success_rate(user=request.auth, days=params.days)
