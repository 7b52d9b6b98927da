"""/api/v1/views: saved views, personal and shared, with live counts (docs/saved-views.md).

Staff only. Every agent keeps personal views; admins and managers create and change
the shared ones. Someone else's personal view, like another tenant's, is a 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Field, Query, Router, Schema, Status

from deskbase.accounts.requests import ApiRequest
from deskbase.api.renderers import json_response
from deskbase.api.schemas import ERRORS, TicketPage
from deskbase.api.tickets import Strict
from deskbase.core.errors import ValidationFailed
from deskbase.savedviews import selectors, services
from deskbase.savedviews.filters import filters_from
from deskbase.savedviews.models import SavedView
from deskbase.tickets import listing
from deskbase.tickets.access import caller_organization

router = Router(tags=["saved views"])

SortName = Literal["updated", "created", "priority", "sla_due"]


class SavedViewOut(Schema):
    id: int
    name: str
    shared: bool
    filters: dict[str, Any]
    sort: str
    count: int | None = Field(None, description=f"tickets now, up to {selectors.COUNT_CAP + 1}")
    count_capped: bool = False
    created_at: datetime
    updated_at: datetime


class SavedViewIn(Strict):
    name: str = Field(..., min_length=1, max_length=80)
    filters: dict[str, Any] = Field(default_factory=dict)
    sort: SortName = "updated"
    shared: bool = Field(False, description="for the whole organization (admins, managers)")


class SavedViewPatch(Strict):
    name: str | None = Field(None, min_length=1, max_length=80)
    filters: dict[str, Any] | None = None
    sort: SortName | None = None


class ViewPageQuery(Schema):
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(25, ge=1, le=100)


def _out(view: SavedView, count: int | None = None) -> dict[str, Any]:
    capped = count is not None and count > selectors.COUNT_CAP
    return {
        "id": view.id, "name": view.name, "shared": view.shared, "filters": view.filters,
        "sort": view.sort, "count": selectors.COUNT_CAP if capped else count,
        "count_capped": capped, "created_at": view.created_at, "updated_at": view.updated_at,
    }  # fmt: skip


@router.get("/views", response={200: list[SavedViewOut], **ERRORS})
def list_views(request: ApiRequest):
    """Your personal views and the shared ones, each with its count (one query for all)."""
    user = request.auth
    organization = caller_organization(user)
    views = selectors.views_for(organization=organization, actor=user)
    counts = selectors.view_counts(organization=organization, actor=user, views=views)
    return [_out(view, counts[view.id]) for view in views]


@router.post("/views", response={201: SavedViewOut, **ERRORS})
def create_view(request: ApiRequest, payload: SavedViewIn):
    user = request.auth
    view = services.view_create(
        organization=caller_organization(user), actor=user, name=payload.name,
        filters=payload.filters, sort=payload.sort, shared=payload.shared,
    )  # fmt: skip
    view.refresh_from_db()
    return Status(201, _out(view))


@router.get("/views/{view_id}", response={200: SavedViewOut, **ERRORS})
def get_view(request: ApiRequest, view_id: int):
    user = request.auth
    view = selectors.access_view(user, view_id)
    counts = selectors.view_counts(organization=caller_organization(user), actor=user, views=[view])
    return _out(view, counts[view.id])


@router.patch("/views/{view_id}", response={200: SavedViewOut, **ERRORS})
def update_view(request: ApiRequest, view_id: int, payload: SavedViewPatch):
    user = request.auth
    changes = payload.dict(exclude_unset=True)
    for field, value in changes.items():
        if value is None:
            raise ValidationFailed.one(field, f"{field} cannot be null.")
    view = services.view_update(
        organization=caller_organization(user), actor=user,
        view=selectors.access_view(user, view_id), **changes,
    )  # fmt: skip
    return _out(view)


@router.delete("/views/{view_id}", response={204: None, **ERRORS})
def delete_view(request: ApiRequest, view_id: int):
    user = request.auth
    services.view_delete(
        organization=caller_organization(user), actor=user,
        view=selectors.access_view(user, view_id),
    )  # fmt: skip
    return Status(204, None)


@router.get("/views/{view_id}/tickets", response={200: TicketPage, **ERRORS})
def view_tickets(request: ApiRequest, view_id: int, query: Query[ViewPageQuery]):
    """The view's tickets in its sort, one keyset page at a time (as GET /tickets)."""
    user = request.auth
    view = selectors.access_view(user, view_id)
    items, next_cursor = listing.ticket_list_rows(
        organization=caller_organization(user), actor=user,
        filters=filters_from(view.filters, user), sort=view.sort, after=query.cursor,
        limit=query.limit,
    )  # fmt: skip
    return json_response({"items": items, "next_cursor": next_cursor})
