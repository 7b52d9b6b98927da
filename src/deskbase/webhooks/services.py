"""Webhook endpoints as admins and managers write them, and the delivery of messages.

- Endpoints: an https URL (checked against the internal network when saved, and
  again at each delivery), the events they subscribe to, and a signing secret
  `whsec_...` stored encrypted (deskbase.mail.crypto), shown once when made or
  rotated. During a rotation the previous secret stays valid for a while: messages
  carry both signatures.
- `send_event` enqueues one message to one endpoint in the caller's transaction
  (the outbox delivers it at least once, retrying for about three days); the event
  subscribers (deskbase.webhooks.subscribers) and the automation rules call it.
- `deliver` is the outbox consumer's work: sign, POST (deskbase.webhooks.client),
  log the attempt in `webhooks_delivery` (kept even when the attempt fails), and
  say whether to retry. A 410 Gone disables the endpoint; a 3xx is a failure.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import orjson
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext

from deskbase import outbox
from deskbase.accounts import audit
from deskbase.accounts.models import AuditAction, Role, User
from deskbase.core.errors import NotFound, PermissionDenied, ValidationFailed
from deskbase.core.netguard import HostRefused
from deskbase.core.tenancy import current_tenant, tenant, tenant_atomic
from deskbase.mail import crypto
from deskbase.organizations.models import Organization
from deskbase.webhooks import client, signing
from deskbase.webhooks.models import MAX_EVENT_TYPES, MAX_URL_LENGTH, Delivery, Endpoint
from deskbase.webhooks.payloads import CARRIED, TEST_TYPE, WILDCARD

CONSUMER = "webhooks.deliver"
# The waits after the 1st, 2nd, ... failed attempt (each +-20%): ten attempts over
# about three days (docs/webhooks.md, "Retries").
RETRY_SCHEDULE: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
MAX_KEY_LENGTH = 150
EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,30}\.[a-z][a-z0-9_.]{0,30}$")
STORED_RESPONSE = 4096  # characters of the answer kept in the log
DEFAULT_KEEP_PREVIOUS_HOURS = 24
GONE = "The receiver answered 410 Gone: it asked for no more messages."


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def ensure_may_manage(actor: User | None) -> None:
    """Admins and managers manage webhooks; None is an operator command or the system."""
    if actor is not None and actor.role not in (Role.ADMIN, Role.MANAGER):
        raise PermissionDenied(gettext("only admins and managers may manage webhooks"))


# ------------------------------------------------------------------ validation
def clean_url(url: Any) -> str:
    """A URL deliveries may go to, or ValidationFailed naming `url`."""
    if not isinstance(url, str) or not url.strip():
        raise ValidationFailed.one("url", gettext("Give the receiver's URL (https://...)."))
    url = url.strip()
    if len(url) > MAX_URL_LENGTH or any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise ValidationFailed.one(
            "url",
            gettext("A URL has at most %(count)s characters and no spaces.")
            % {"count": MAX_URL_LENGTH},
        )
    parts = urlsplit(url)
    plain_http = parts.scheme == "http" and client.allow_private()
    if parts.scheme != "https" and not plain_http:
        raise ValidationFailed.one("url", gettext("A webhook URL starts with https://."))
    if parts.username is not None or parts.password is not None:
        raise ValidationFailed.one("url", gettext("Put no user name or password in the URL."))
    if parts.fragment:
        raise ValidationFailed.one("url", gettext("A webhook URL has no #fragment."))
    try:
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError:
        raise ValidationFailed.one(
            "url", gettext("The URL's port is a number from 1 to 65535.")
        ) from None
    if not parts.hostname:
        raise ValidationFailed.one("url", gettext("The URL names no host."))
    try:
        client.check_address(url)
    except HostRefused:
        raise
    except OSError as exc:
        raise ValidationFailed.one(
            "url",
            gettext("%(hostname)s cannot be resolved (%(exc)s).")
            % {"hostname": parts.hostname, "exc": exc},
        ) from None
    return url


def clean_event_types(value: Any) -> list[str]:
    if not isinstance(value, list | tuple) or not value:
        raise ValidationFailed.one(
            "event_types",
            gettext("Subscribe to one or more of: %(choices)s.")
            % {"choices": ", ".join((WILDCARD, *CARRIED))},
        )
    found: list[str] = []
    for name in value:
        if name not in (WILDCARD, *CARRIED):
            raise ValidationFailed.one(
                "event_types",
                gettext("%(name)r is not an event webhooks carry; known: %(choices)s")
                % {"name": name, "choices": ", ".join((WILDCARD, *CARRIED))},
            )
        if name not in found:
            found.append(name)
    return found[:MAX_EVENT_TYPES]


def _clean_text(field: str, value: Any, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit or "\x00" in value:
        raise ValidationFailed.one(
            field,
            gettext("%(field)s is text of at most %(limit)s characters.")
            % {"field": field, "limit": limit},
        )
    return value.strip()


def _locked(organization: Organization, endpoint_id: int) -> Endpoint:
    found = (
        Endpoint.objects.select_for_update()
        .filter(organization_id=organization.id, pk=endpoint_id)
        .first()
    )
    if found is None:
        raise NotFound(gettext("no such webhook endpoint"), field="endpoint")
    return found


# ------------------------------------------------------------------ endpoints
@tenant_atomic
def endpoint_create(
    *,
    organization: Organization,
    actor: User | None,
    url: str,
    event_types: list[str],
    description: str = "",
    enabled: bool = True,
) -> tuple[Endpoint, str]:
    """A new endpoint and its signing secret (in clear: shown to the caller once)."""
    ensure_may_manage(actor)
    secret = signing.new_secret()
    endpoint = Endpoint(
        organization=organization, url=clean_url(url), event_types=clean_event_types(event_types),
        description=_clean_text("description", description, 500), secret=crypto.encrypt(secret),
    )  # fmt: skip
    if not enabled:
        endpoint.enabled, endpoint.disabled_at = False, timezone.now()
        endpoint.disabled_reason = "Disabled when it was added."
    endpoint.save()
    endpoint.refresh_from_db()
    _audit(AuditAction.WEBHOOK_CREATED, endpoint, actor, event_types=endpoint.event_types,
           enabled=endpoint.enabled)  # fmt: skip
    return endpoint, secret


@tenant_atomic
def endpoint_update(
    *, organization: Organization, actor: User | None, endpoint_id: int, **changes: Any
) -> Endpoint:
    """Change the URL, description, events or enabled flag; enabling clears the reason."""
    ensure_may_manage(actor)
    unknown = set(changes) - {"url", "description", "event_types", "enabled"}
    if unknown:
        raise ValidationFailed.one(sorted(unknown)[0], gettext("This field cannot be changed."))
    endpoint = _locked(organization, endpoint_id)
    before = {name: getattr(endpoint, name) for name in ("url", "event_types", "enabled")}
    fields: list[str] = []
    if "url" in changes:
        endpoint.url = clean_url(changes["url"])
        fields.append("url")
    if "description" in changes:
        endpoint.description = _clean_text("description", changes["description"], 500)
        fields.append("description")
    if "event_types" in changes:
        endpoint.event_types = clean_event_types(changes["event_types"])
        fields.append("event_types")
    if "enabled" in changes:
        enabled = changes["enabled"]
        if not isinstance(enabled, bool):
            raise ValidationFailed.one("enabled", gettext("Say true or false."))
        if enabled and not endpoint.enabled:
            endpoint.enabled, endpoint.disabled_at, endpoint.disabled_reason = True, None, ""
            endpoint.failing_since = None
        elif not enabled and endpoint.enabled:
            endpoint.enabled, endpoint.disabled_at = False, timezone.now()
            endpoint.disabled_reason = "Disabled by a person."
        fields += ["enabled", "disabled_at", "disabled_reason", "failing_since"]
    if fields:
        endpoint.save(update_fields=fields)
        endpoint.refresh_from_db()
        changed = {name: getattr(endpoint, name) for name in before
                   if getattr(endpoint, name) != before[name]}  # fmt: skip
        _audit(AuditAction.WEBHOOK_CHANGED, endpoint, actor, changed=sorted(fields), **changed)
    return endpoint


@tenant_atomic
def endpoint_delete(*, organization: Organization, actor: User | None, endpoint_id: int) -> None:
    """Remove an endpoint: messages not yet delivered are dropped; its log stays."""
    ensure_may_manage(actor)
    endpoint = _locked(organization, endpoint_id)
    _audit(AuditAction.WEBHOOK_DELETED, endpoint, actor)
    endpoint.delete()


@tenant_atomic
def endpoint_rotate_secret(
    *,
    organization: Organization,
    actor: User | None,
    endpoint_id: int,
    keep_previous_hours: int = DEFAULT_KEEP_PREVIOUS_HOURS,
) -> tuple[Endpoint, str]:
    """A new signing secret (in clear, shown once); the current one stays valid for
    `keep_previous_hours` (0: at once invalid), messages being signed with both."""
    ensure_may_manage(actor)
    if not isinstance(keep_previous_hours, int) or not 0 <= keep_previous_hours <= 24 * 7:
        raise ValidationFailed.one("keep_previous_hours", gettext("Keep it 0 to 168 hours."))
    endpoint = _locked(organization, endpoint_id)
    secret = signing.new_secret()
    if keep_previous_hours:
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = timezone.now() + timedelta(hours=keep_previous_hours)
    else:
        endpoint.previous_secret, endpoint.previous_secret_expires_at = "", None
    endpoint.secret = crypto.encrypt(secret)
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
    endpoint.refresh_from_db()
    _audit(AuditAction.WEBHOOK_SECRET_ROTATED, endpoint, actor,
           keep_previous_hours=keep_previous_hours)  # fmt: skip
    return endpoint, secret


def _audit(action: str, endpoint: Endpoint, actor: User | None, **detail: Any) -> None:
    """An audit row naming the endpoint (a webhook sends the organization's data out)."""
    audit.record(
        action, organization_id=endpoint.organization_id, actor_id=actor.pk if actor else None,
        endpoint=endpoint.pk, url=endpoint.url, **detail,
    )  # fmt: skip


def valid_secrets(endpoint: Endpoint) -> list[str]:
    """The secrets messages are signed with now: the current one, and the previous one
    until it expires."""
    found = [crypto.decrypt(endpoint.secret)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > timezone.now():
        found.append(crypto.decrypt(endpoint.previous_secret))
    return found


# ------------------------------------------------------------------ sending
def message_id(organization_id: int, endpoint_id: int, key: str) -> str:
    """The `webhook-id` of a message: derived from its key, the same on every attempt."""
    digest = hashlib.sha256(f"{organization_id}:{endpoint_id}:{key}".encode()).hexdigest()
    return "msg_" + digest[:32]


def body_of(event_type: str, data: dict[str, Any], at: Any = None) -> str:
    """The JSON body: {"type", "timestamp", "data"} (Standard Webhooks)."""
    stamp = (at or timezone.now()).isoformat().replace("+00:00", "Z")
    return orjson.dumps(
        {"type": event_type, "timestamp": stamp, "data": data},
        option=orjson.OPT_NON_STR_KEYS | orjson.OPT_UTC_Z,
    ).decode()


def send_event(
    *,
    organization: Organization,
    endpoint: Endpoint | int,
    event_type: str,
    data: dict[str, Any],
    key: str,
) -> bool:
    """Enqueue one message to one endpoint, in the caller's transaction (or its own).

    `endpoint` must be the organization's (else NotFound naming `endpoint`), `key`
    names the effect (1-150 characters, derived from what it is about, never from a
    clock: the same key again for the same endpoint is not sent twice; False then).
    `data` is a JSON object (at most 64 KB with its envelope). The outbox delivers it
    at least once, signed, retried about three days; a disabled endpoint gets nothing.
    """
    if not isinstance(event_type, str) or not EVENT_TYPE.match(event_type):
        raise ValidationFailed.one(
            "event_type", gettext("An event type is <noun>.<verb>, e.g. ticket.updated.")
        )
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise ValidationFailed.one(
            "key",
            gettext("A key has 1 to %(max_key_length)s characters.")
            % {"max_key_length": MAX_KEY_LENGTH},
        )
    if not isinstance(data, dict):
        raise ValidationFailed.one("data", gettext("The data is a JSON object."))
    endpoint_id = endpoint if isinstance(endpoint, int) else endpoint.pk
    with tenant(organization, savepoint=False):
        # Always read: an Endpoint in hand may be another tenant's, or deleted since.
        if not Endpoint.objects.filter(organization_id=organization.id, pk=endpoint_id).exists():
            raise NotFound(gettext("no such webhook endpoint"), field="endpoint")
        return _enqueue(organization.id, endpoint_id, event_type, data, key)


def _enqueue(
    organization_id: int, endpoint_id: int, event_type: str, data: dict[str, Any], key: str,
    *, body: str | None = None, replay_of: int | None = None,
) -> bool:  # fmt: skip
    payload = {
        "endpoint": endpoint_id,
        "message_id": message_id(organization_id, endpoint_id, key),
        "type": event_type,
        "body": body if body is not None else body_of(event_type, data),
        "replay_of": replay_of,
    }
    return outbox.enqueue(organization_id, CONSUMER, f"{endpoint_id}:{key}", payload)


def send_to_subscribers(
    *, organization_id: int, endpoints: Iterable[int], event_type: str, data: dict[str, Any],
    key: str,
) -> int:  # fmt: skip
    """One message per endpoint (already the organization's, already checked): the
    event subscribers' path, inside the write's transaction. The body is built once."""
    body = body_of(event_type, data)
    return sum(
        _enqueue(organization_id, endpoint_id, event_type, data, key, body=body)
        for endpoint_id in endpoints
    )


@tenant_atomic
def delivery_replay(*, organization: Organization, actor: User | None, delivery_id: int) -> bool:
    """Send a logged message again, as it was (its id and body), signed anew: a new
    attempt, logged as a new delivery that names the one replayed. False when this
    replay is already waiting to go."""
    ensure_may_manage(actor)
    found = Delivery.objects.filter(organization_id=organization.id, pk=delivery_id).first()
    if found is None:
        raise NotFound(gettext("no such webhook delivery"), field="delivery")
    if not Endpoint.objects.filter(organization_id=organization.id, pk=found.endpoint_id).exists():
        raise ValidationFailed.one(
            "delivery", gettext("Its endpoint was removed: it cannot be replayed.")
        )
    replays = Delivery.objects.filter(organization_id=organization.id, replay_of=found.pk).count()
    payload = {
        "endpoint": found.endpoint_id, "message_id": found.message_id, "type": found.event_type,
        "body": found.request_body, "replay_of": found.pk, "force": True,
    }  # fmt: skip
    return outbox.enqueue(
        organization.id, CONSUMER, f"{found.endpoint_id}:replay:{found.pk}:{replays}", payload
    )


def endpoint_test(*, organization: Organization, actor: User | None, endpoint_id: int) -> Delivery:
    """Send a `webhook.test` message now (outside any transaction of the caller's) and
    return its logged delivery: what the receiver answered, how long it took."""
    ensure_may_manage(actor)
    with tenant(organization, actor):
        endpoint = Endpoint.objects.filter(organization_id=organization.id, pk=endpoint_id).first()
        if endpoint is None:
            raise NotFound(gettext("no such webhook endpoint"), field="endpoint")
    body = body_of(TEST_TYPE, {"endpoint": endpoint.pk, "test": True})
    payload = {
        "endpoint": endpoint.pk, "type": TEST_TYPE, "body": body, "replay_of": None, "force": True,
        "message_id": "msg_test_" + hashlib.sha256(body.encode()).hexdigest()[:24],
    }  # fmt: skip
    with tenant(organization, actor):
        outcome = attempt(payload)
        if outcome is None:  # removed meanwhile
            raise NotFound(gettext("no such webhook endpoint"), field="endpoint")
        return Delivery.objects.get(organization_id=organization.id, pk=outcome.delivery_id)


# ------------------------------------------------------------------ delivering
class DeliveryFailed(outbox.FailedWithRecord):
    """The receiver did not take the message: retried later; the attempt stays logged."""


class Outcome:
    def __init__(self, delivery_id: int, success: bool, gone: bool, error: str) -> None:
        self.delivery_id, self.success, self.gone, self.error = delivery_id, success, gone, error


def deliver(payload: dict[str, Any], key: str) -> None:
    """The outbox consumer: one attempt; raises DeliveryFailed to be retried."""
    outcome = attempt(payload)
    if outcome is not None and not outcome.success and not outcome.gone:
        raise DeliveryFailed(outcome.error)


def attempt(payload: dict[str, Any], *, resolver: Any = None) -> Outcome | None:
    """Sign and POST one message, log it, keep the endpoint's health; in the tenant's
    transaction. None: the endpoint is gone or disabled, nothing was sent."""
    # The row's organization (the worker sets it), named as well as enforced by RLS: the
    # worker's owner role sees every tenant. Not locked: a POST may take seconds.
    organization_id = current_tenant()
    if organization_id is None:
        raise RuntimeError("a webhook is delivered with its organization as the tenant")
    endpoint = Endpoint.objects.filter(
        organization_id=organization_id, pk=payload["endpoint"]
    ).first()
    if endpoint is None or (not endpoint.enabled and not payload.get("force")):
        return None
    body = payload["body"].encode()
    headers = signing.headers(
        valid_secrets(endpoint), payload["message_id"], int(time.time()), body
    )
    try:
        answer = client.post(endpoint.url, body, headers, resolver=resolver)
    except HostRefused as refused:
        answer = client.Answer(None, b"", 0, refused.message, "")
    status = answer.status
    success = not answer.error and status is not None and 200 <= status < 300
    error = answer.error
    if not error and not success:
        kind = (
            "a redirect, not followed" if status is not None and 300 <= status < 400 else "refused"
        )
        error = f"the receiver answered {status} ({kind})"
    delivery_id = _log(endpoint, payload, headers, answer, success=success, error=error)
    gone = status == 410
    _keep_health(endpoint, success=success, gone=gone)
    return Outcome(delivery_id, success, gone, error)


_LOG = """
INSERT INTO webhooks_delivery (organization_id, endpoint_id, message_id, event_type, attempt,
    replay_of, url, request_headers, request_body, response_status, response_body, duration_ms,
    success, error)
SELECT %(org)s::bigint, %(endpoint)s::bigint, %(message)s::text, %(type)s::text,
    (SELECT count(*) + 1 FROM webhooks_delivery WHERE organization_id = %(org)s::bigint
       AND endpoint_id = %(endpoint)s::bigint AND message_id = %(message)s::text),
    %(replay_of)s::bigint, %(url)s::text, %(headers)s::jsonb, %(body)s::text,
    %(status)s::integer, %(response)s::text, %(ms)s::integer, %(success)s::boolean,
    %(error)s::text
RETURNING id
"""


def _log(
    endpoint: Endpoint, payload: dict[str, Any], headers: dict[str, str], answer: client.Answer,
    *, success: bool, error: str,
) -> int:  # fmt: skip
    sent = {"content-type": "application/json", "user-agent": client.USER_AGENT, **headers}
    response = answer.body.decode("utf-8", "replace").replace("\x00", "")[:STORED_RESPONSE]
    with connection.cursor() as cursor:
        cursor.execute(_LOG, {
            "org": endpoint.organization_id, "endpoint": endpoint.pk,
            "message": payload["message_id"], "type": payload["type"],
            "replay_of": payload.get("replay_of"), "url": endpoint.url,
            "headers": orjson.dumps(sent).decode(), "body": payload["body"],
            "status": answer.status, "response": response, "ms": answer.duration_ms,
            "success": success, "error": error[:2000],
        })  # fmt: skip
        return cursor.fetchone()[0]


def _keep_health(endpoint: Endpoint, *, success: bool, gone: bool) -> None:
    """A success clears the failure clock; a 410, or failures every day for
    WEBHOOKS_DISABLE_AFTER_DAYS (5), disables the endpoint with its reason."""
    now = timezone.now()
    fields: list[str] = []
    if success:
        if endpoint.failing_since is not None:
            endpoint.failing_since = None
            fields.append("failing_since")
    else:
        if endpoint.failing_since is None:
            endpoint.failing_since = now
            fields.append("failing_since")
        days = _setting("WEBHOOKS_DISABLE_AFTER_DAYS", 5)
        reason = ""
        if gone:
            reason = GONE
        elif days and now - endpoint.failing_since >= timedelta(days=days):
            reason = f"Every delivery failed for {days} days."
        if reason and endpoint.enabled:
            endpoint.enabled, endpoint.disabled_at, endpoint.disabled_reason = False, now, reason
            fields += ["enabled", "disabled_at", "disabled_reason"]
            _audit(AuditAction.WEBHOOK_DISABLED, endpoint, None, reason=reason)
    if fields:
        endpoint.save(update_fields=fields)
