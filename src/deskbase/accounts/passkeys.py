"""Passkeys and security keys (WebAuthn) as a second factor, verified with py_webauthn.

The relying party is the host the person uses (its name without the port) and the
origin that host's scheme and address: a passkey made on one address does not work
on another, as browsers require. Challenges are made here, kept in the session by
the caller, and used once. Attestation is not asked for ("none"): any authenticator
the person owns is welcome; what is checked is that each sign-in is signed by the
key registered, for this origin, over this challenge, and that the authenticator's
signature counter, when it keeps one, has moved forward (a cloned key is refused).
"""

from __future__ import annotations

import json
from typing import Any

import webauthn
from django.utils import timezone
from django.utils.translation import gettext
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from deskbase.accounts import audit
from deskbase.accounts.models import AuditAction, Passkey, RecoveryCode, User
from deskbase.core.errors import NotFound, ValidationFailed
from deskbase.core.tenancy import tenant_atomic
from deskbase.organizations.models import Organization

RP_NAME = "deskbase"


def _descriptors(user: User) -> list[PublicKeyCredentialDescriptor]:
    return [
        PublicKeyCredentialDescriptor(id=bytes(key.credential_id))
        for key in Passkey.objects.filter(organization_id=user.tenant_id, user_id=user.id)
    ]


def passkeys_of(user: User) -> list[Passkey]:
    return list(
        Passkey.objects.filter(organization_id=user.tenant_id, user_id=user.id).order_by("id")
    )


def registration_options(*, user: User, rp_id: str) -> tuple[str, bytes]:
    """The browser's options for navigator.credentials.create (JSON) and the challenge."""
    options = webauthn.generate_registration_options(
        rp_id=rp_id, rp_name=RP_NAME, user_name=user.email,
        user_id=f"{user.tenant_id}:{user.id}".encode(),
        user_display_name=user.full_name or user.email,
        exclude_credentials=_descriptors(user),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
    )  # fmt: skip
    return webauthn.options_to_json(options), options.challenge


def authentication_options(*, user: User, rp_id: str) -> tuple[str, bytes]:
    """The options for navigator.credentials.get, limited to the person's passkeys."""
    options = webauthn.generate_authentication_options(
        rp_id=rp_id, allow_credentials=_descriptors(user),
        user_verification=UserVerificationRequirement.PREFERRED,
    )  # fmt: skip
    return webauthn.options_to_json(options), options.challenge


def _credential(raw: Any) -> dict[str, Any]:
    if isinstance(raw, str | bytes):
        try:
            raw = json.loads(raw)
        except ValueError:
            raw = None
    if not isinstance(raw, dict):
        raise ValidationFailed.one("credential", gettext("Not a WebAuthn credential."))
    return raw


@tenant_atomic
def passkey_add(
    *,
    organization: Organization,
    actor: User,
    credential: Any,
    challenge: bytes,
    rp_id: str,
    origin: str,
    name: str = "",
    request: Any = None,
) -> tuple[Passkey, list[str]]:
    """Register a passkey; the first second factor also brings recovery codes."""
    from deskbase.accounts.two_factor import _renew_codes

    name = " ".join((name or "Passkey").split())[:100] or "Passkey"
    try:
        verified = webauthn.verify_registration_response(
            credential=_credential(credential), expected_challenge=challenge,
            expected_rp_id=rp_id, expected_origin=origin,
        )  # fmt: skip
    except (InvalidRegistrationResponse, ValueError, KeyError, TypeError) as error:
        raise ValidationFailed.one(
            "credential", gettext("The passkey was not accepted: %(error)s") % {"error": error}
        ) from None
    if Passkey.objects.filter(credential_id=verified.credential_id).exists():
        raise ValidationFailed.one("credential", gettext("This passkey is registered already."))
    key = Passkey.objects.create(
        organization=organization, user=actor, name=name,
        credential_id=verified.credential_id, public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
    )  # fmt: skip
    codes: list[str] = []
    if not RecoveryCode.objects.filter(user_id=actor.id).exists():
        codes = _renew_codes(organization, actor)
    audit.record(
        AuditAction.PASSKEY_ADDED, organization_id=organization.id, actor_id=actor.id,
        subject_id=actor.id, request=request, name=name,
    )  # fmt: skip
    return key, codes


@tenant_atomic
def passkey_check(
    *,
    organization: Organization,
    actor: User,
    credential: Any,
    challenge: bytes,
    rp_id: str,
    origin: str,
) -> bool:
    """A sign-in's assertion: signed by one of the person's passkeys, over this challenge."""
    try:
        data = _credential(credential)
        raw_id = webauthn.base64url_to_bytes(str(data.get("rawId") or data.get("id") or ""))
    except (ValidationFailed, ValueError):
        return False
    key = Passkey.objects.select_for_update().filter(user_id=actor.id, credential_id=raw_id).first()
    if key is None:
        return False
    try:
        verified = webauthn.verify_authentication_response(
            credential=data, expected_challenge=challenge, expected_rp_id=rp_id,
            expected_origin=origin, credential_public_key=bytes(key.public_key),
            credential_current_sign_count=key.sign_count,
        )  # fmt: skip
    except (InvalidAuthenticationResponse, ValueError, KeyError, TypeError):
        return False
    key.sign_count = verified.new_sign_count
    key.last_used_at = timezone.now()
    key.save(update_fields=["sign_count", "last_used_at"])
    return True


@tenant_atomic
def passkey_remove(
    *, organization: Organization, actor: User, passkey_id: int, request: Any = None
) -> None:
    key = Passkey.objects.filter(user_id=actor.id, id=passkey_id).first()
    if key is None:
        raise NotFound(gettext("No such passkey."))
    key.delete()
    audit.record(
        AuditAction.PASSKEY_REMOVED, organization_id=organization.id, actor_id=actor.id,
        subject_id=actor.id, request=request, name=key.name,
    )  # fmt: skip


def credential_id_text(key: Passkey) -> str:
    return bytes_to_base64url(bytes(key.credential_id))[:12]
