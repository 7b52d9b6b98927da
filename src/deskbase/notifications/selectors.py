"""Reads of notifications: the bell's count, the list, the settings grid."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from deskbase.accounts.models import User
from deskbase.notifications.models import Notification, Preference, Reason
from deskbase.notifications.preferences import DEFAULTS, DIRECT

COUNT_CAP = 99  # the bell shows "99+": counting further costs time and tells nothing


def unread_count(*, organization_id: int, user: User) -> int:
    """The caller's unread entries, at most COUNT_CAP + 1 (1 query, by the partial index)."""
    unread = Notification.objects.filter(
        organization_id=organization_id, recipient_id=user.id, read_at__isnull=True
    )
    return unread.values("id")[: COUNT_CAP + 1].count()


def notification_list(
    *, organization_id: int, user: User, unread_only: bool = False, before: int | None = None,
    limit: int = 50,
) -> QuerySet[Notification]:  # fmt: skip
    """The caller's entries, newest first, keyset on id (1 query whatever the page size)."""
    rows = Notification.objects.filter(organization_id=organization_id, recipient_id=user.id)
    if unread_only:
        rows = rows.filter(read_at__isnull=True)
    if before is not None:
        rows = rows.filter(id__lt=before)
    return rows.select_related("ticket", "actor").order_by("-id")[:limit]


@dataclass(frozen=True)
class Row:
    reason: str
    label: str
    scope: str
    in_app: bool
    mail: bool
    direct: bool  # about a named person: no scope to choose


def preferences_for(*, organization_id: int, user: User) -> list[Row]:
    """Every notification with the caller's choice or its default (1 query)."""
    own = {
        p.reason: p
        for p in Preference.objects.filter(organization_id=organization_id, user_id=user.id)
    }
    rows = []
    for reason in Reason:
        choice = own.get(reason.value) or DEFAULTS[reason.value]
        rows.append(Row(reason.value, str(reason.label), choice.scope, choice.in_app,
                        choice.mail, reason.value in DIRECT))  # fmt: skip
    return rows
