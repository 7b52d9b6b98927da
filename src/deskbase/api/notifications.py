"""/api/v1/notifications: the caller's notifications and their settings (staff only).

Each person sees and marks only their own entries: someone else's, like another
tenant's, is a 404. Customers get a 403.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Query, Router, Schema, Status

from deskbase.accounts.requests import ApiRequest
from deskbase.api.schemas import ERRORS
from deskbase.api.tickets import Strict
from deskbase.notifications import selectors
from deskbase.notifications import services as notifications
from deskbase.notifications.models import Notification
from deskbase.tickets.access import caller_organization

router = Router(tags=["notifications"])


class TicketRef(Schema):
    number: int
    subject: str


class NotificationActorOut(Schema):
    id: int
    full_name: str


class NotificationOut(Schema):
    id: int
    reason: str = Field(..., description="the latest event of the entry")
    count: int = Field(..., description="events on the ticket grouped in this entry")
    ticket: TicketRef
    actor: NotificationActorOut | None
    created_at: datetime
    last_at: datetime
    read_at: datetime | None


class ListFilters(Schema):
    unread: bool = False
    before: int | None = Field(None, description="the smallest id of the previous page")
    limit: int = Field(50, ge=1, le=100)


class CountOut(Schema):
    unread: int = Field(..., description=f"capped at {selectors.COUNT_CAP + 1}")


class MarkedOut(Schema):
    marked: int


class SettingOut(Schema):
    reason: str
    label: str
    scope: str
    in_app: bool
    mail: bool
    direct: bool = Field(..., description="about the person named: no scope to choose")


class SettingsIn(Strict):
    settings: list[dict[str, Any]] = Field(..., min_length=1, max_length=20)


def _staff(request: ApiRequest) -> Any:
    user = request.auth
    notifications.ensure_agent(user)
    return user


@router.get("/notifications", response={200: list[NotificationOut], **ERRORS})
def list_notifications(request: ApiRequest, filters: Query[ListFilters]):
    """The caller's notifications, newest first; page with `before`."""
    user = _staff(request)
    rows: list[Notification] = list(
        selectors.notification_list(
            organization_id=user.tenant_id,
            user=user,
            unread_only=filters.unread,
            before=filters.before,
            limit=filters.limit,
        )
    )
    return rows


@router.get("/notifications/unread-count", response={200: CountOut, **ERRORS})
def unread_count(request: ApiRequest):
    user = _staff(request)
    return {"unread": selectors.unread_count(organization_id=user.tenant_id, user=user)}


@router.post("/notifications/read-all", response={200: MarkedOut, **ERRORS})
def mark_all_read(request: ApiRequest):
    user = _staff(request)
    marked = notifications.notification_mark_all_read(
        organization=caller_organization(user), actor=user
    )
    return {"marked": marked}


@router.post("/notifications/{notification_id}/read", response={204: None, **ERRORS})
def mark_read(request: ApiRequest, notification_id: int):
    user = _staff(request)
    notifications.notification_mark_read(
        organization=caller_organization(user), actor=user, notification_id=notification_id
    )
    return Status(204, None)


@router.get("/notifications/settings", response={200: list[SettingOut], **ERRORS})
def get_settings(request: ApiRequest):
    """Every notification with the caller's choice (or its default)."""
    user = _staff(request)
    return selectors.preferences_for(organization_id=user.tenant_id, user=user)


@router.put("/notifications/settings", response={200: list[SettingOut], **ERRORS})
def put_settings(request: ApiRequest, payload: SettingsIn):
    """Change the listed notifications; the others keep their choice."""
    user = _staff(request)
    notifications.preferences_save(
        organization=caller_organization(user), actor=user, rows=payload.settings
    )
    return selectors.preferences_for(organization_id=user.tenant_id, user=user)
