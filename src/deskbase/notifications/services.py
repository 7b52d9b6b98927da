"""Writes of notifications (docs/notifications.md).

`notify` runs inside the write that caused it (an `after` subscriber): the entries and
the mail to send commit with the change, or not at all. One statement finds the
recipients of an event (their choices joined in, defaults for those who chose nothing)
and writes or groups their entries; mail goes through the outbox.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from deskbase.accounts.models import STAFF_ROLES, User
from deskbase.core.errors import NotFound, PermissionDenied, ValidationFailed
from deskbase.core.tenancy import tenant, tenant_atomic
from deskbase.notifications.models import Notification, Preference, Reason, Scope
from deskbase.notifications.preferences import DEFAULTS, DIRECT
from deskbase.organizations.models import Organization

GROUP_MINUTES = 10  # events on one ticket within the same 10-minute window: one entry
MAIL = "notifications.mail"

# The recipients of events and their entries, in one statement, each event a row of `e`
# (its ticket, reason, actor, defaults, skip and direct lists). `direct`: the named
# people (assigned, mentioned), else everyone whose scope covers the ticket: its
# assignee, members of its team for "teams", everyone for "all". `skip`: the actor
# (never for one's own change) and those an earlier reason of the same event reached.
_NOTIFY_MANY = """
WITH e AS (
    SELECT * FROM jsonb_to_recordset(%(items)s::jsonb) AS e(
        idx int, ticket bigint, reason text, actor bigint, d_scope text, d_in_app boolean,
        d_mail boolean, skip bigint[], direct bigint[])
),
t AS (
    SELECT e.*, tk.assignee_id, tk.team_id FROM e
    JOIN tickets_ticket tk
      ON tk.organization_id = %(org)s AND tk.id = e.ticket AND tk.deleted_at IS NULL
),
wants AS (
    SELECT t.idx, t.ticket, t.reason, t.actor, t.direct, u.id AS user_id,
           COALESCE(p.scope, t.d_scope) AS scope,
           COALESCE(p.in_app, t.d_in_app) AS in_app,
           COALESCE(p.mail, t.d_mail) AS mail,
           u.id = t.assignee_id AS assignee,
           t.team_id
    FROM t
    JOIN accounts_user u
      ON u.organization_id = %(org)s AND u.role = ANY(%(staff)s) AND u.is_active
     AND u.deleted_at IS NULL AND u.id <> ALL(t.skip)
     AND (t.direct IS NULL OR u.id = ANY(t.direct))
    LEFT JOIN notifications_preference p
      ON p.organization_id = u.organization_id AND p.user_id = u.id AND p.reason = t.reason
),
chosen AS (
    SELECT w.idx, w.ticket, w.reason, w.actor, w.user_id, w.in_app, w.mail FROM wants w
    WHERE (w.in_app OR w.mail)
      AND (w.direct IS NOT NULL OR w.assignee OR w.scope = 'all'
           OR (w.scope = 'teams' AND w.team_id IS NOT NULL AND EXISTS (
                SELECT 1 FROM accounts_teammembership m
                WHERE m.organization_id = %(org)s AND m.team_id = w.team_id
                  AND m.user_id = w.user_id)))
),
written AS (
    INSERT INTO notifications_notification
        (organization_id, recipient_id, ticket_id, reason, actor_id, count, bucket,
         created_at, last_at)
    SELECT %(org)s, c.user_id, c.ticket, c.reason, c.actor, 1, %(bucket)s, %(now)s, %(now)s
    FROM chosen c WHERE c.in_app
    ON CONFLICT (organization_id, recipient_id, ticket_id, bucket) WHERE read_at IS NULL
    DO UPDATE SET count = notifications_notification.count + 1, reason = EXCLUDED.reason,
                  actor_id = EXCLUDED.actor_id, last_at = EXCLUDED.last_at
    RETURNING recipient_id
)
SELECT c.idx, c.user_id, c.mail FROM chosen c ORDER BY c.idx, c.user_id
"""


@dataclass(frozen=True)
class Notified:
    recipients: list[int]  # everyone the event reached, in the app or by mail
    mailed: list[int]


def bucket_of(moment: datetime) -> int:
    return int(moment.timestamp()) // (GROUP_MINUTES * 60)


def notify(
    *, organization_id: int, ticket_id: int, reason: str, actor_id: int | None, event_ref: str,
    direct: Sequence[int] | None = None, skip: Iterable[int] = (), now: datetime | None = None,
) -> Notified:  # fmt: skip
    """Notify the agents `reason` reaches on the ticket, inside the caller's transaction.

    `event_ref` names the event (a comment, a version, an alert): with the reason,
    ticket and recipient it is the mail's delivery key, so an event mails once.
    """
    notice = Notice(ticket_id, reason, actor_id, event_ref, direct, skip)
    return notify_many(organization_id=organization_id, notices=[notice], now=now)[0]


@dataclass(frozen=True)
class Notice:
    """One event's `notify` arguments, for `notify_many`."""

    ticket_id: int
    reason: str
    actor_id: int | None
    event_ref: str
    direct: Sequence[int] | None = None
    skip: Iterable[int] = ()


def notify_many(
    *, organization_id: int, notices: Sequence[Notice], now: datetime | None = None
) -> list[Notified]:
    """`notify` for each notice, in one statement (and the mail in the outbox), for
    events written together. Each ticket appears at most once among the notices (a
    bulk chunk's tickets): the recipients and entries are those of `notify` one by one."""
    if not connection.in_atomic_block:
        raise RuntimeError("notify_many() belongs in the transaction of the change it follows")
    now = now or timezone.now()
    items = []
    for index, notice in enumerate(notices):
        default = DEFAULTS[notice.reason]
        if notice.direct is not None and not notice.direct:
            continue
        skipped = sorted({*notice.skip, *([notice.actor_id] if notice.actor_id else [])})
        items.append({
            "idx": index, "ticket": notice.ticket_id, "reason": str(notice.reason),
            "actor": notice.actor_id, "d_scope": str(default.scope), "d_in_app": default.in_app,
            "d_mail": default.mail, "skip": skipped,
            "direct": list(notice.direct) if notice.direct is not None else None,
        })  # fmt: skip
    reached: list[list[tuple[int, bool]]] = [[] for _ in notices]
    if items:
        with connection.cursor() as cursor:
            cursor.execute(_NOTIFY_MANY, {
                "org": organization_id, "items": json.dumps(items),
                "staff": [str(r) for r in STAFF_ROLES], "bucket": bucket_of(now), "now": now,
            })  # fmt: skip
            for index, user_id, mail in cursor.fetchall():
                reached[index].append((user_id, mail))
    notified = []
    sends: bool | None = None  # asked once for the notices: does a mailbox send?
    for notice, rows in zip(notices, reached, strict=True):
        mailed = [user_id for user_id, mail in rows if mail]
        if mailed and sends is None:
            from deskbase.mail.outgoing import sender_ids

            sends = bool(sender_ids(organization_id))
        if mailed and sends:
            _enqueue_mail(organization_id, notice.ticket_id, notice.reason, notice.actor_id,
                          notice.event_ref, mailed, sends=True)  # fmt: skip
        notified.append(Notified([user_id for user_id, _ in rows], mailed))
    return notified


def _enqueue_mail(
    organization_id: int, ticket_id: int, reason: str, actor_id: int | None, event_ref: str,
    recipients: list[int], *, sends: bool | None = None,
) -> None:  # fmt: skip
    from deskbase.mail.outgoing import sender_ids
    from deskbase.outbox import enqueue

    if not (sends if sends is not None else sender_ids(organization_id)):
        return  # no mailbox sends for this organization: in the app only
    for recipient in recipients:
        enqueue(
            organization=organization_id, consumer=MAIL,
            key=f"{reason}:{ticket_id}:{recipient}:{event_ref}"[:200],
            payload={"organization": organization_id, "recipient": recipient,
                     "ticket": ticket_id, "reason": reason, "actor": actor_id},
        )  # fmt: skip


# ------------------------------------------------------------------ the reader's writes
def ensure_agent(actor: User) -> None:
    if actor.role not in STAFF_ROLES:
        raise PermissionDenied(gettext("notifications are for staff"))


@tenant_atomic
def notification_mark_read(
    *, organization: Organization, actor: User, notification_id: int
) -> None:
    """Mark one of the caller's notifications read; someone else's is a 404 like a missing one."""
    ensure_agent(actor)
    mine = Notification.objects.filter(
        organization_id=organization.id, recipient_id=actor.id, id=notification_id
    )
    if not mine.exists():
        raise NotFound(gettext("notification"))
    mine.filter(read_at__isnull=True).update(read_at=timezone.now())


@tenant_atomic
def notification_mark_all_read(*, organization: Organization, actor: User) -> int:
    """Mark every unread notification of the caller read; how many."""
    ensure_agent(actor)
    return Notification.objects.filter(
        organization_id=organization.id, recipient_id=actor.id, read_at__isnull=True
    ).update(read_at=timezone.now())


def _checked(rows: Any) -> dict[str, tuple[str, bool, bool]]:
    if not isinstance(rows, list) or not rows:
        raise ValidationFailed.one("settings", gettext("A list of settings, one per notification."))
    chosen: dict[str, tuple[str, bool, bool]] = {}
    for index, row in enumerate(rows):
        at = f"settings[{index}]"
        if not isinstance(row, dict):
            raise ValidationFailed.one(
                at, gettext("An object with reason, scope, in_app and mail.")
            )
        extra = sorted(set(row) - {"reason", "scope", "in_app", "mail"})
        if extra:
            raise ValidationFailed.one(
                f"{at}.{extra[0]}",
                gettext("Unknown key; a setting has reason, scope, in_app and mail."),
            )
        reason = row.get("reason")
        if reason not in Reason.values:
            raise ValidationFailed.one(
                f"{at}.reason",
                gettext("Unknown notification %(reason)r; use one of %(choices)s.")
                % {"reason": reason, "choices": ", ".join(Reason.values)},
            )
        if reason in chosen:
            raise ValidationFailed.one(
                f"{at}.reason", gettext("%(reason)s is listed twice.") % {"reason": reason}
            )
        default = DEFAULTS[reason]
        scope = row.get("scope", default.scope)
        if scope not in Scope.values:
            raise ValidationFailed.one(
                f"{at}.scope", gettext("Unknown scope; use mine, teams or all.")
            )
        flags = []
        for key in ("in_app", "mail"):
            value = row.get(key, getattr(default, key))
            if not isinstance(value, bool):
                raise ValidationFailed.one(f"{at}.{key}", gettext("true or false"))
            flags.append(value)
        chosen[reason] = (Scope.MINE if reason in DIRECT else scope, flags[0], flags[1])
    return chosen


def preferences_save(*, organization: Organization, actor: User, rows: Any) -> None:
    """Save the caller's choices for the listed notifications (the others stay as they are)."""
    ensure_agent(actor)
    chosen = _checked(rows)
    with tenant(organization, actor), transaction.atomic():
        for reason, (scope, in_app, mail) in chosen.items():
            Preference.objects.update_or_create(
                organization_id=organization.id, user_id=actor.id, reason=reason,
                defaults={"scope": scope, "in_app": in_app, "mail": mail},
            )  # fmt: skip


# ------------------------------------------------------------------ retention
PURGE_BATCH = 5000

_PURGE = """
DELETE FROM notifications_notification WHERE id IN (
    SELECT id FROM notifications_notification
    WHERE organization_id = %(org)s AND last_at < %(read_cutoff)s
      AND (read_at IS NOT NULL OR last_at < %(unread_cutoff)s)
    LIMIT %(batch)s
)
"""


def purge_old(
    *, organization_id: int, now: datetime | None = None, batch: int = PURGE_BATCH,
    say: Callable[[str], None] | None = None,
) -> int:  # fmt: skip
    """Delete the organization's notifications past retention: read ones whose last event
    is older than NOTIFICATION_RETENTION_DAYS, unread ones older than
    NOTIFICATION_UNREAD_RETENTION_DAYS. In batches of `batch` rows, each its own
    transaction (short locks, progress kept if stopped); how many were deleted."""
    from django.conf import settings

    now = now or timezone.now()
    read_days = settings.NOTIFICATION_RETENTION_DAYS
    unread_days = max(settings.NOTIFICATION_UNREAD_RETENTION_DAYS, read_days)
    params: dict[str, Any] = {
        "org": organization_id, "batch": batch,
        "read_cutoff": now - timedelta(days=read_days),
        "unread_cutoff": now - timedelta(days=unread_days),
    }  # fmt: skip
    deleted = 0
    while True:
        with tenant(organization_id), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_PURGE, params)
            count = cursor.rowcount
        deleted += count
        if count and say is not None:
            say(f"notifications of organization {organization_id}: {deleted} deleted")
        if count < batch:
            return deleted
