"""Personal API tokens: created, listed, revoked, and checked on each request."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext

from deskbase.accounts import throttle
from deskbase.accounts.models import ApiToken, User
from deskbase.accounts.readers import USERS
from deskbase.core import events
from deskbase.core.errors import NotFound, PermissionDenied, ValidationFailed
from deskbase.core.tenancy import actor_was_set, set_tenant, tenant_atomic
from deskbase.organizations.models import Organization

TOKEN_FORMAT = re.compile(r"^dsk_(\d{1,18})_([A-Za-z0-9_-]{20,100})$")
# last_used_at is written at most this often: not a write per API request.
TOUCH_EVERY = timedelta(minutes=1)
# The token's user becomes the transaction's actor in the same statement (the SET LOCAL
# that tenancy.set_tenant would make in a second round trip; set_config runs for the
# one row row-level security let through).
# The same statement tells whether the client's address is throttled for wrong tokens
# (throttle.ADDRESS_BLOCKED_SQL): always one row, the token's columns NULL if none.
_LOOKUP = (  # noqa: S608 - the columns are the User model's own names
    "SELECT {blocked}, x.* FROM (SELECT 1) AS one LEFT JOIN LATERAL ("
    "SELECT t.id, t.expires_at, t.last_used_at,"
    " set_config('deskbase.actor_id', t.user_id::text, true), {user_columns}"
    " FROM accounts_apitoken t JOIN accounts_user u ON u.id = t.user_id"
    " WHERE t.token_hash = %s AND t.revoked_at IS NULL) AS x ON true"
).format(blocked=throttle.ADDRESS_BLOCKED_SQL, user_columns=USERS.columns("u"))


def digest(token: str) -> str:
    # Tokens carry 256 random bits: a plain sha256 is enough (no guessing to slow down).
    return hashlib.sha256(token.encode()).hexdigest()


@tenant_atomic
def token_create(
    *,
    organization: Organization,
    actor: User,
    user: User | None = None,
    name: str,
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """A new token for `user` (default: the actor). Returns the row and the token, once."""
    user = user or actor
    if user.id != actor.id and actor.role != "admin":
        raise PermissionDenied(gettext("only admins create tokens for other people"))
    if user.organization_id != organization.id:
        raise ValidationFailed.one("user", gettext("No such user in this organization."))
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed.one(
            "name", gettext("A token needs a name of at most 100 characters.")
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed.one("expires_at", gettext("The expiry must be in the future."))
    plain = f"dsk_{organization.id}_{secrets.token_urlsafe(32)}"
    token = ApiToken(
        organization=organization, user=user, name=name, prefix=plain[:12],
        token_hash=digest(plain), expires_at=expires_at,
    )  # fmt: skip
    with events.announce(events.TOKEN_CREATED, organization, actor, token):
        token.save(force_insert=True)
    return token, plain


@tenant_atomic
def token_revoke(*, organization: Organization, actor: User, token_id: int) -> ApiToken:
    token = (
        ApiToken.objects.select_for_update()
        .filter(organization_id=organization.id, pk=token_id)
        .first()
    )
    if token is None or (token.user_id != actor.id and actor.role != "admin"):
        raise NotFound(gettext("no such token"), field="token")
    if token.revoked_at is None:
        with events.announce(events.TOKEN_REVOKED, organization, actor, token):
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
    return token


def authenticate(raw: str, address: str | None = None) -> User | None:
    """The active user a bearer token belongs to, with the tenant set; None if invalid.

    Runs inside the request's transaction: the tenant named by the token is set
    first, so the lookup itself is confined to that tenant by row-level security.
    With the client's `address`, wrong tokens are counted against it and, past
    throttle.TOKEN_ADDRESS_LIMIT, every token from it is refused with Throttled.
    """
    user = _lookup(raw, address)
    if user is None and address is not None:
        throttle.record_token_failure(address)
    return user


def _lookup(raw: str, address: str | None) -> User | None:
    match = TOKEN_FORMAT.match(raw or "")
    if match is None or not connection.in_atomic_block:
        return None
    set_tenant(int(match[1]))
    key = throttle.token_address_key(address or "")
    # One fixed statement (every API request runs it; the connection prepares it).
    with connection.cursor() as cursor:
        cursor.execute(_LOOKUP, [key, throttle.TOKEN_ADDRESS_LIMIT, digest(raw)])
        blocked, *row = cursor.fetchone()
    if blocked is not None and address is not None:
        raise throttle.Throttled(retry_after=blocked, what=throttle.TOKEN_FAILURES)
    if row[0] is None:
        return None
    token_id, expires_at, last_used_at = row[:3]
    user = USERS.build(row[4:])
    actor_was_set(user.organization_id, user)
    now = timezone.now()
    if expires_at is not None and expires_at <= now:
        return None
    if not user.is_active or user.deleted_at is not None:
        return None
    if last_used_at is None or now - last_used_at > TOUCH_EVERY:
        ApiToken.objects.filter(pk=token_id).update(last_used_at=now)
    return user
