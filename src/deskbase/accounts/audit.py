"""The security audit log and browser sessions, written as the acts happen.

Sign-in, failed sign-in and sign-out come from Django's auth signals (the web form
and the API both call `login`, `logout` and `authenticate`); token, role and removal
rows from the domain events of the account services, in their transaction. Each
row is written under its organization's tenant: a failed sign-in naming an
organization that does not exist is not recorded here (the throttle counts it).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from deskbase.accounts.models import AuditAction, AuditLog, UserSession
from deskbase.core import events
from deskbase.core.tenancy import tenant

SESSION_ID = "_deskbase_session"
SESSION_STARTED = "_deskbase_session_started"
SESSION_SEEN = "_deskbase_session_seen"
# last_seen_at is written at most this often: not a write per request.
TOUCH_EVERY = timedelta(minutes=1)


def _client(request: Any) -> tuple[str | None, str]:
    if request is None:
        return None, ""
    address = request.META.get("REMOTE_ADDR") or None
    return address, (request.META.get("HTTP_USER_AGENT") or "")[:300]


def record(
    action: str,
    *,
    organization_id: int,
    actor_id: int | None = None,
    subject_id: int | None = None,
    request: Any = None,
    **detail: Any,
) -> AuditLog:
    """Append one audit row under the organization's tenant."""
    address, agent = _client(request)
    with tenant(organization_id, actor_id):
        return AuditLog.objects.create(
            organization_id=organization_id, actor_id=actor_id, subject_id=subject_id,
            action=action, address=address, user_agent=agent, detail=detail,
        )  # fmt: skip


# ------------------------------------------------------------------ auth signals
def signed_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """The audit row and the browser session's row: one INSERT each.

    The sign-in has set the tenant for the request's transaction already, and these
    rows name their actor in a column (no trigger reads deskbase.actor_id here), so
    `tenant()` costs no statement; neither row needs a savepoint of its own, as a
    failure here fails the sign-in.
    """
    if user.organization_id is None:  # a platform operator: no tenant to log under
        return
    address, agent = _client(request)
    with tenant(user.organization_id, savepoint=False):
        AuditLog.objects.create(
            organization_id=user.organization_id, actor_id=user.id, subject_id=user.id,
            action=AuditAction.SIGNED_IN, address=address, user_agent=agent, detail={},
        )  # fmt: skip
        if request is None or not hasattr(request, "session"):
            return
        # started_at comes back from the INSERT (RETURNING), being a database default
        session = UserSession.objects.create(
            organization_id=user.organization_id, user_id=user.id, address=address,
            user_agent=agent, session_key=request.session.session_key,
        )  # fmt: skip
    request.session[SESSION_ID] = session.id
    request.session[SESSION_STARTED] = session.started_at.isoformat()
    request.session[SESSION_SEEN] = session.started_at.isoformat()


def signed_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is None or user.organization_id is None:
        return
    record(
        AuditAction.SIGNED_OUT, organization_id=user.organization_id, actor_id=user.id,
        subject_id=user.id, request=request,
    )  # fmt: skip
    found = _session(request)
    if found is not None:
        with tenant(user.organization_id, user):
            UserSession.objects.filter(
                id=found[0], started_at=found[1], ended_at__isnull=True
            ).update(ended_at=timezone.now())


def sign_in_failed(sender: Any, credentials: dict, request: Any = None, **kwargs: Any) -> None:
    from deskbase.accounts.backends import organization_id_for_slug

    slug = credentials.get("organization")
    if slug is None and request is not None and hasattr(request, "POST"):
        slug = request.POST.get("organization")
    org_id = organization_id_for_slug(slug) if slug else None
    if org_id is None:
        return
    email = str(credentials.get("username") or "")[:254]
    record(AuditAction.SIGN_IN_FAILED, organization_id=org_id, request=request, email=email)


def _session(request: Any) -> tuple[int, datetime] | None:
    session = getattr(request, "session", None)
    if session is None or SESSION_ID not in session:
        return None
    return session[SESSION_ID], datetime.fromisoformat(session[SESSION_STARTED])


def touch_session(request: Any) -> bool:
    """Move last_seen_at of the request's session forward, at most once a minute."""
    found = _session(request)
    user = getattr(request, "user", None)
    if found is None or user is None or not user.is_authenticated:
        return False
    now = timezone.now()
    seen = datetime.fromisoformat(request.session.get(SESSION_SEEN, found[1].isoformat()))
    if now - seen < TOUCH_EVERY:
        return False
    # The request's transaction already has the tenant (TenantMiddleware).
    UserSession.objects.filter(id=found[0], started_at=found[1], ended_at__isnull=True).update(
        last_seen_at=now
    )
    request.session[SESSION_SEEN] = now.isoformat()
    return True


class SessionActivityMiddleware:
    """Keeps accounts_usersession.last_seen_at current; after AuthenticationMiddleware."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        if request.path != "/health" and not timed_out(request):
            touch_session(request)
        return self.get_response(request)


def timed_out(request: Any) -> bool:
    """Sign out a session past its organization's idle timeout or lifetime."""
    from django.contrib.auth import logout

    from deskbase import cached
    from deskbase.accounts.session_control import expired

    found = _session(request)
    user = getattr(request, "user", None)
    if found is None or user is None or not user.is_authenticated:
        return False
    organization = getattr(request, "organization_settings", None)
    if organization is None or organization.id != user.tenant_id:
        organization = cached.organization_settings(user.tenant_id)
    if not (organization.session_idle_minutes or organization.session_max_hours):
        return False
    seen = datetime.fromisoformat(request.session.get(SESSION_SEEN, found[1].isoformat()))
    if expired(organization, found[1], seen) is None:
        return False
    logout(request)  # audited as a sign-out; the session row ends
    return True


# ------------------------------------------------------------------ domain events
_TOKEN_ACTIONS = {
    events.TOKEN_CREATED.name: AuditAction.TOKEN_CREATED,
    events.TOKEN_REVOKED.name: AuditAction.TOKEN_REVOKED,
}


@events.subscribe(events.TOKEN_CREATED)
@events.subscribe(events.TOKEN_REVOKED)
def _token_changed(event: events.Event) -> None:
    token = event.instance
    record(
        _TOKEN_ACTIONS[event.name], organization_id=event.organization_id,
        actor_id=event.actor_id, subject_id=token.user_id, token_id=token.id, name=token.name,
    )  # fmt: skip


@events.subscribe("user.updated")
def _role_changed(event: events.Event) -> None:
    before, after = event.changes.get("role", (None, None))
    if before == after:
        return
    record(
        AuditAction.ROLE_CHANGED, organization_id=event.organization_id,
        actor_id=event.actor_id, subject_id=event.instance.id, old=before, new=after,
    )  # fmt: skip


@events.subscribe(events.ORGANIZATION_UPDATED)
def _settings_changed(event: events.Event) -> None:
    """Who changed which organization setting, from what to what."""
    if not event.changes:
        return
    record(
        AuditAction.SETTINGS_CHANGED, organization_id=event.organization_id,
        actor_id=event.actor_id,
        changes={field: [old, new] for field, (old, new) in event.changes.items()},
    )  # fmt: skip


@events.subscribe("user.updated")
def _deactivated(event: events.Event) -> None:
    """A deactivated person is signed out everywhere at once."""
    from deskbase.accounts.session_control import end_all_sessions

    before, after = event.changes.get("is_active", (None, None))
    if before and after is False:
        end_all_sessions(organization_id=event.organization_id, user_id=event.instance.id)


@events.subscribe("user.soft_deleted")
def _user_removed(event: events.Event) -> None:
    from deskbase.accounts.session_control import end_all_sessions

    end_all_sessions(organization_id=event.organization_id, user_id=event.instance.id)
    record(
        AuditAction.USER_REMOVED, organization_id=event.organization_id,
        actor_id=event.actor_id, subject_id=event.instance.id,
        reason=event.instance.delete_reason or "",
    )  # fmt: skip
