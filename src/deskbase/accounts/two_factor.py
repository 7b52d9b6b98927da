"""Two-factor sign-in: an authenticator app (TOTP, RFC 6238) and single-use recovery codes.

- The TOTP secret is stored encrypted with the key that protects mailbox secrets
  (deskbase.mail.crypto: `DESKBASE_MAIL_KEY` or var/mail.key), never in plain text.
- A code is accepted once: the device remembers the time step of the last accepted
  code and refuses that step and every earlier one (a code seen over a shoulder or
  replayed from a log signs nobody in).
- Recovery codes are shown once, stored as sha256 digests (they are random, 50 bits
  each, so a plain digest suffices as for API tokens) and each works once.
- Losing both is handled by an admin: `two_factor_reset` removes the device and the
  codes, ends the person's sessions and is audited.
- API tokens are not affected: a token is a credential of its own (docs/identity.md).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

import pyotp
import segno
from django.db.models import Exists
from django.utils import timezone
from django.utils.translation import gettext

from deskbase.accounts import audit
from deskbase.accounts.models import (
    STAFF_ROLES,
    AuditAction,
    Passkey,
    RecoveryCode,
    Role,
    TotpDevice,
    User,
)
from deskbase.core.errors import PermissionDenied, ValidationFailed
from deskbase.core.tenancy import tenant_atomic
from deskbase.mail import crypto
from deskbase.organizations.models import Organization

ISSUER = "deskbase"
RECOVERY_CODES = 10
# One step (30 s) either side of now: a phone clock a little off still works.
VALID_WINDOW = 1
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper


def _digest(code: str) -> str:
    normalized = "".join(ch for ch in code.lower() if ch.isalnum())
    return hashlib.sha256(normalized.encode()).hexdigest()


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


# ------------------------------------------------------------------ reads
def device_of(user: User) -> TotpDevice | None:
    """The person's confirmed authenticator, if any (under the caller's tenant)."""
    return (
        TotpDevice.objects.filter(
            organization_id=user.tenant_id, user_id=user.id, confirmed_at__isnull=False
        )
        .only("id", "confirmed_at")
        .first()
    )


def has_two_factor(user: User) -> bool:
    """A confirmed authenticator app or a passkey."""
    return (
        device_of(user) is not None
        or Passkey.objects.filter(organization_id=user.tenant_id, user_id=user.id).exists()
    )


def sign_in_state(user: User) -> tuple[bool, bool]:
    """(has an authenticator, must set one up): what the password step decides on, in
    one query."""
    devices = TotpDevice.objects.filter(
        organization_id=user.tenant_id, user_id=user.id, confirmed_at__isnull=False
    )
    keys = Passkey.objects.filter(organization_id=user.tenant_id, user_id=user.id)
    row = (
        Organization.objects.filter(pk=user.tenant_id)
        .annotate(has=Exists(devices) | Exists(keys))
        .values_list("has", "require_staff_two_factor")
        .first()
    )
    has, required = row if row is not None else (False, False)
    return has, (not has and required and user.role in STAFF_ROLES)


def recovery_codes_left(user: User) -> int:
    return RecoveryCode.objects.filter(
        organization_id=user.tenant_id, user_id=user.id, used_at__isnull=True
    ).count()


def required_for(user: User) -> bool:
    """Whether the person's organization requires two-factor sign-in of them (staff)."""
    if user.role not in STAFF_ROLES:
        return False
    return Organization.objects.filter(pk=user.tenant_id, require_staff_two_factor=True).exists()


def enrolment_required(user: User) -> bool:
    """Staff of an organization that requires it, without an authenticator yet."""
    return required_for(user) and not has_two_factor(user)


def provisioning_uri(user: User, secret: str, organization: Organization) -> str:
    return pyotp.TOTP(secret).provisioning_uri(
        name=f"{user.email} ({organization.slug})", issuer_name=ISSUER
    )


def qr_svg(uri: str) -> str:
    """The enrolment QR code as an inline SVG element (no image request, no data: URL)."""
    return segno.make(uri, error="m").svg_inline(scale=4, dark="#111", light="#fff")


def pending_secret(user: User) -> str | None:
    """The secret of an authenticator being set up (not confirmed yet)."""
    device = TotpDevice.objects.filter(
        organization_id=user.tenant_id, user_id=user.id, confirmed_at__isnull=True
    ).first()
    return crypto.decrypt(device.secret) if device else None


# ------------------------------------------------------------------ writes
@tenant_atomic
def totp_begin(*, organization: Organization, actor: User) -> str:
    """Start setting up an authenticator: a new secret (replacing an unconfirmed one)."""
    if TotpDevice.objects.filter(user_id=actor.id, confirmed_at__isnull=False).exists():
        raise ValidationFailed.one(
            "code",
            gettext("Two-factor sign-in is already on; turn it off first to change the app."),
        )
    secret = pyotp.random_base32()
    TotpDevice.objects.filter(user_id=actor.id).delete()
    TotpDevice.objects.create(organization=organization, user=actor, secret=crypto.encrypt(secret))
    return secret


def _matching_step(secret: str, code: str, after: int | None) -> int | None:
    """The time step whose code this is (within the window), if later than `after`."""
    code = "".join(ch for ch in code if not ch.isspace())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now_step = int(time.time()) // totp.interval
    for step in range(now_step - VALID_WINDOW, now_step + VALID_WINDOW + 1):
        if secrets.compare_digest(totp.generate_otp(step), code) and (
            after is None or step > after
        ):
            return step
    return None


def _renew_codes(organization: Organization, user: User) -> list[str]:
    RecoveryCode.objects.filter(user_id=user.id).delete()
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    RecoveryCode.objects.bulk_create(
        RecoveryCode(organization=organization, user=user, code_hash=_digest(code))
        for code in codes
    )
    return codes


@tenant_atomic
def totp_confirm(
    *, organization: Organization, actor: User, code: str, request: Any = None
) -> list[str]:
    """Turn two-factor sign-in on with a first code; returns the recovery codes (shown once)."""
    device = (
        TotpDevice.objects.select_for_update()
        .filter(user_id=actor.id, confirmed_at__isnull=True)
        .first()
    )
    if device is None:
        raise ValidationFailed.one(
            "code", gettext("Start the set-up again: no authenticator is pending.")
        )
    step = _matching_step(crypto.decrypt(device.secret), code or "", None)
    if step is None:
        raise ValidationFailed.one("code", gettext("That code is not the one your app shows now."))
    device.confirmed_at = timezone.now()
    device.last_step = step
    device.save(update_fields=["confirmed_at", "last_step"])
    codes = _renew_codes(organization, actor)
    audit.record(
        AuditAction.TWO_FACTOR_ENABLED, organization_id=organization.id, actor_id=actor.id,
        subject_id=actor.id, request=request,
    )  # fmt: skip
    return codes


@tenant_atomic
def recovery_codes_renew(*, organization: Organization, actor: User, code: str) -> list[str]:
    """New recovery codes (the old ones stop working); needs a current code from the app."""
    if not _check(organization, actor, code, recovery=False, request=None):
        raise ValidationFailed.one("code", gettext("That code is not the one your app shows now."))
    codes = _renew_codes(organization, actor)
    audit.record(
        AuditAction.RECOVERY_CODES_RENEWED, organization_id=organization.id,
        actor_id=actor.id, subject_id=actor.id,
    )  # fmt: skip
    return codes


@tenant_atomic
def two_factor_disable(*, organization: Organization, actor: User, code: str) -> None:
    """Turn one's own two-factor sign-in off; needs a current code (or a recovery code)."""
    if required_for(actor):
        raise ValidationFailed.one(
            "code", gettext("Your organization requires two-factor sign-in for staff.")
        )
    if not _check(organization, actor, code, recovery=True, request=None):
        raise ValidationFailed.one("code", gettext("That code is not valid."))
    _remove(actor)
    audit.record(
        AuditAction.TWO_FACTOR_DISABLED, organization_id=organization.id, actor_id=actor.id,
        subject_id=actor.id,
    )  # fmt: skip


@tenant_atomic
def two_factor_reset(
    *, organization: Organization, actor: User | None, user: User, request: Any = None
) -> None:
    """An admin removes someone's authenticator and recovery codes (a lost phone).

    Admins reset anyone in their organization; managers agents and customers. The
    person's sessions end: whoever holds the lost phone is signed out too.
    """
    from deskbase.accounts.session_control import end_all_sessions

    if actor is not None and actor.role not in (Role.ADMIN, Role.MANAGER):
        raise PermissionDenied(gettext("only admins and managers may reset two-factor sign-in"))
    if actor is not None and actor.role == Role.MANAGER and user.role in (Role.ADMIN, Role.MANAGER):
        raise PermissionDenied(gettext("only admins may reset the sign-in of managers and admins"))
    if user.organization_id != organization.id:
        raise ValidationFailed.one("user", gettext("No such user in this organization."))
    _remove(user)
    end_all_sessions(organization_id=organization.id, user_id=user.id)
    audit.record(
        AuditAction.TWO_FACTOR_RESET, organization_id=organization.id,
        actor_id=actor.id if actor else None, subject_id=user.id, request=request,
    )  # fmt: skip


def _remove(user: User) -> None:
    TotpDevice.objects.filter(user_id=user.id).delete()
    Passkey.objects.filter(user_id=user.id).delete()
    RecoveryCode.objects.filter(user_id=user.id).delete()


def _check(
    organization: Organization, user: User, code: str, *, recovery: bool, request: Any
) -> bool:
    """A current TOTP code (each accepted once) or, if allowed, an unused recovery code."""
    code = (code or "").strip()[:40]
    device = (
        TotpDevice.objects.select_for_update()
        .filter(user_id=user.id, confirmed_at__isnull=False)
        .first()
    )
    if device is None:
        return False
    step = _matching_step(crypto.decrypt(device.secret), code, device.last_step)
    if step is not None:
        device.last_step = step
        device.save(update_fields=["last_step"])
        return True
    if not recovery or not code:
        return False
    used = RecoveryCode.objects.filter(
        user_id=user.id, code_hash=_digest(code), used_at__isnull=True
    ).update(used_at=timezone.now())
    if used:
        audit.record(
            AuditAction.RECOVERY_CODE_USED, organization_id=organization.id, actor_id=user.id,
            subject_id=user.id, request=request,
        )  # fmt: skip
    return bool(used)


@tenant_atomic
def second_factor_verify(
    *, organization: Organization, actor: User, code: str, request: Any = None
) -> bool:
    """The sign-in's second step: True for a valid code; a refusal is audited."""
    if _check(organization, actor, code, recovery=True, request=request):
        return True
    audit.record(
        AuditAction.TWO_FACTOR_FAILED, organization_id=organization.id, actor_id=actor.id,
        subject_id=actor.id, request=request,
    )  # fmt: skip
    return False
