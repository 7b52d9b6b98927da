"""Browser sessions a person can see and end; timeouts per organization.

Each accounts_usersession row names its browser session's key, so ending the row
deletes that key from django_session: the browser is signed out on its next
request, wherever it is, at no cost to the requests of sessions that go on.

- People see their own open sessions (device, address, last seen) and end any of them.
- Admins end anyone's in their organization; managers those of agents and customers.
- A password change ends every other session of the person; a deactivation or a
  removal ends all of them (accounts.audit subscribes to those events).
- An organization's idle timeout (`session_idle_minutes`) and absolute lifetime
  (`session_max_hours`) are checked on each request (SessionActivityMiddleware).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import password_validation, update_session_auth_hash
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext

from deskbase.accounts import audit
from deskbase.accounts.models import AuditAction, Role, User, UserSession
from deskbase.core.errors import NotFound, PermissionDenied, ValidationFailed
from deskbase.core.tenancy import tenant, tenant_atomic
from deskbase.organizations.models import Organization


def open_sessions(*, organization_id: int, user_id: int) -> list[UserSession]:
    """The person's sessions not ended, most recently seen first (one query)."""
    with tenant(organization_id, savepoint=False):
        return list(
            UserSession.objects.filter(
                organization_id=organization_id, user_id=user_id, ended_at__isnull=True
            ).order_by("-last_seen_at", "-id")[:100]
        )


_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("HeadlessChrome", "Headless Chrome"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iPadOS"),
            ("Windows", "Windows"), ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"),
            ("Linux", "Linux"))  # fmt: skip


def device_name(user_agent: str) -> str:
    """A readable name for a browser's user agent: "Firefox on Windows", or what it sent."""
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), "")
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or user_agent[:60] or "Unknown device"


def current_session_id(request: Any) -> int | None:
    session = getattr(request, "session", None)
    return session.get(audit.SESSION_ID) if session is not None else None


def _end(rows: list[UserSession]) -> int:
    keys = [row.session_key for row in rows if row.session_key]
    if keys:
        Session.objects.filter(session_key__in=keys).delete()
    now = timezone.now()
    for row in rows:  # a partitioned table: (id, started_at) finds the row's partition
        UserSession.objects.filter(id=row.id, started_at=row.started_at).update(ended_at=now)
    return len(rows)


def end_all_sessions(*, organization_id: int, user_id: int, keep_id: int | None = None) -> int:
    """End every open session of the person (but `keep_id`); under the caller's tenant."""
    rows = list(
        UserSession.objects.filter(
            organization_id=organization_id, user_id=user_id, ended_at__isnull=True
        ).exclude(id=keep_id or 0)
    )
    return _end(rows)


def _ensure_may_end(actor: User, owner: User | None) -> None:
    if owner is not None and owner.id == actor.id:
        return
    if actor.role == Role.ADMIN:
        return
    if actor.role == Role.MANAGER and owner is not None and owner.role in (
        Role.AGENT, Role.CUSTOMER,
    ):  # fmt: skip
        return
    raise NotFound(gettext("No such session."))  # another's session answers like a missing one


@tenant_atomic
def session_end(
    *, organization: Organization, actor: User, session_id: int, request: Any = None
) -> None:
    """End one session: one's own, or (admins) anyone's in the organization."""
    row = UserSession.objects.filter(
        organization_id=organization.id, id=session_id, ended_at__isnull=True
    ).first()
    if row is None:
        raise NotFound(gettext("No such session."))
    owner = User.all_objects.filter(id=row.user_id).first()
    _ensure_may_end(actor, owner)
    _end([row])
    audit.record(
        AuditAction.SESSION_ENDED, organization_id=organization.id, actor_id=actor.id,
        subject_id=row.user_id, request=request, session_id=row.id,
    )  # fmt: skip


@tenant_atomic
def sessions_end_for(
    *, organization: Organization, actor: User, user: User, request: Any = None
) -> int:
    """End every session of a person (admins; managers for agents and customers)."""
    if actor.role not in (Role.ADMIN, Role.MANAGER):
        raise PermissionDenied(gettext("only admins and managers may end other people's sessions"))
    if user.organization_id != organization.id:
        raise ValidationFailed.one("user", gettext("No such user in this organization."))
    _ensure_may_end(actor, user)
    ended = end_all_sessions(organization_id=organization.id, user_id=user.id)
    audit.record(
        AuditAction.SESSIONS_ENDED, organization_id=organization.id, actor_id=actor.id,
        subject_id=user.id, request=request, count=ended,
    )  # fmt: skip
    return ended


@tenant_atomic
def password_change(
    *,
    organization: Organization,
    actor: User,
    current_password: str,
    new_password: str,
    request: Any = None,
) -> int:
    """Change one's own password; every other session ends, this one goes on."""
    if not actor.check_password(current_password or ""):
        raise ValidationFailed.one(
            "current_password", gettext("Your current password is not right.")
        )
    try:
        password_validation.validate_password(new_password or "", actor)
    except ValidationError as error:
        raise ValidationFailed({"new_password": list(error.messages)}) from None
    actor.set_password(new_password)
    actor.save(update_fields=["password"])
    ended = end_all_sessions(
        organization_id=organization.id, user_id=actor.id, keep_id=current_session_id(request)
    )
    if request is not None and hasattr(request, "session"):
        update_session_auth_hash(request, actor)  # a new key for this browser's session
        keep = current_session_id(request)
        if keep is not None:
            UserSession.objects.filter(id=keep).update(session_key=request.session.session_key)
    audit.record(
        AuditAction.PASSWORD_CHANGED, organization_id=organization.id, actor_id=actor.id,
        subject_id=actor.id, request=request, sessions_ended=ended,
    )  # fmt: skip
    return ended


def expired(organization: Organization, started: datetime, seen: datetime) -> str | None:
    """Why a session is over by the organization's timeouts, or None."""
    now = timezone.now()
    if organization.session_max_hours and now - started > timedelta(
        hours=organization.session_max_hours
    ):
        return "lifetime"
    if organization.session_idle_minutes and now - seen > timedelta(
        minutes=organization.session_idle_minutes
    ):
        return "idle"
    return None
