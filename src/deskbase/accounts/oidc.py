"""Single sign-on by OpenID Connect, one identity provider per organization.

The authorization code flow with PKCE (RFC 7636): `begin` sends the browser to the
provider with a fresh `state`, `nonce` and code verifier kept in the session under
the state; `complete` takes the state out of the session (a state works once: a
replayed callback finds nothing), exchanges the code at the provider's token
endpoint with the client secret, and accepts the ID token only when

- its signature verifies with a key of the provider's JWKS (joserfc),
- `iss` is this organization's configured issuer and `aud` its client id,
- it has not expired, and its `nonce` is the one this flow sent,
- it carries a verified e-mail address in one of the organization's allowed domains.

The person of that address in this organization is signed in; when there is none,
one is created with the role the claim mapping gives (just-in-time provisioning).
Only the organization named when the flow began is ever looked at: another
organization's issuer, client or people play no part. Every refusal is audited.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, cast

from django.utils.translation import gettext
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from deskbase.accounts import audit
from deskbase.accounts.models import AuditAction, OidcProvider, Role, User
from deskbase.core.errors import PermissionDenied, ValidationFailed, validated
from deskbase.core.tenancy import tenant, tenant_atomic
from deskbase.mail import crypto
from deskbase.organizations.models import Organization

SESSION_FLOWS = "_deskbase_oidc"
FLOW_SECONDS = 600
FLOWS_KEPT = 5  # sign-ins begun in several tabs at once
TIMEOUT = 10
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]
# When several mapped claim values apply, the most senior role wins.
SENIORITY = [Role.ADMIN, Role.MANAGER, Role.AGENT, Role.CUSTOMER]


class SsoRefused(Exception):
    """A single sign-on that must not sign anybody in; the message is safe to show."""


@dataclass(frozen=True)
class Completed:
    user: User
    created: bool


# ------------------------------------------------------------------ configuration
def provider_of(organization_id: int) -> OidcProvider | None:
    with tenant(organization_id, savepoint=False):
        return OidcProvider.objects.filter(organization_id=organization_id).first()


@tenant_atomic
def provider_save(
    *,
    organization: Organization,
    actor: User | None,
    issuer: str,
    client_id: str,
    client_secret: str = "",
    allowed_domains: list[str],
    role_claim: str = "roles",
    role_map: dict[str, str] | None = None,
    default_role: str = Role.CUSTOMER,
    enabled: bool = True,
) -> OidcProvider:
    """Set the organization's identity provider (admins). An empty secret keeps the old one."""
    if actor is not None and actor.role != Role.ADMIN:
        raise PermissionDenied(gettext("only admins may configure single sign-on"))
    provider = OidcProvider.objects.select_for_update().filter(
        organization_id=organization.id
    ).first() or OidcProvider(organization=organization)
    provider.issuer = (issuer or "").strip().rstrip("/")
    provider.client_id = (client_id or "").strip()
    if client_secret:
        provider.client_secret = crypto.encrypt(client_secret)
    if not provider.client_secret:
        raise ValidationFailed.one("client_secret", gettext("The client secret is required."))
    provider.allowed_domains = sorted({d.strip().lower() for d in allowed_domains if d.strip()})
    if not provider.allowed_domains:
        raise ValidationFailed.one("allowed_domains", gettext("Allow at least one e-mail domain."))
    provider.role_claim = (role_claim or "").strip()
    provider.role_map = role_map or {}
    provider.default_role = default_role
    provider.enabled = enabled
    validated(provider, exclude=["organization"])
    provider.save()
    audit.record(
        AuditAction.SSO_CHANGED, organization_id=organization.id,
        actor_id=actor.id if actor else None, issuer=provider.issuer,
        client_id=provider.client_id, allowed_domains=provider.allowed_domains,
        default_role=provider.default_role, enabled=enabled,
    )  # fmt: skip
    return provider


# ------------------------------------------------------------------ the provider
def _fetch(url: str, data: dict[str, str] | None = None) -> dict[str, Any]:
    if urllib.parse.urlsplit(url).scheme not in ("https", "http"):
        raise SsoRefused("The identity provider gave an address that is not http(s).")
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers={"Accept": "application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            return json.loads(response.read(1_000_000))
    except (OSError, ValueError) as error:
        raise SsoRefused(f"The identity provider did not answer as expected ({error}).") from None


def _discover(provider: OidcProvider) -> dict[str, Any]:
    found = _fetch(f"{provider.issuer}/.well-known/openid-configuration")
    if found.get("issuer", "").rstrip("/") != provider.issuer:
        raise SsoRefused("The identity provider names another issuer.")
    return found


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


# ------------------------------------------------------------------ the flow
def begin(*, session: Any, organization_id: int, redirect_uri: str) -> str:
    """Where to send the browser to sign in at the organization's provider."""
    provider = provider_of(organization_id)
    if provider is None or not provider.enabled:
        raise SsoRefused("This organization does not use single sign-on.")
    config = _discover(provider)
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(48)
    flows = dict(session.get(SESSION_FLOWS, {}))
    flows[state] = {"org": organization_id, "nonce": nonce, "verifier": verifier,
                    "at": time.time(), "redirect_uri": redirect_uri}  # fmt: skip
    session[SESSION_FLOWS] = dict(sorted(flows.items(), key=lambda f: f[1]["at"])[-FLOWS_KEPT:])
    query = urllib.parse.urlencode({
        "response_type": "code", "client_id": provider.client_id, "redirect_uri": redirect_uri,
        "scope": "openid email profile", "state": state, "nonce": nonce,
        "code_challenge": _challenge(verifier), "code_challenge_method": "S256",
    })  # fmt: skip
    return f"{config['authorization_endpoint']}?{query}"


def abandon(*, session: Any, state: str) -> None:
    """The provider refused or the person cancelled: the state is spent."""
    flows = dict(session.get(SESSION_FLOWS, {}))
    if flows.pop(state or "", None) is not None:
        session[SESSION_FLOWS] = flows


def _take_flow(session: Any, state: str) -> dict[str, Any]:
    flows = dict(session.get(SESSION_FLOWS, {}))
    flow = flows.pop(state or "", None)
    session[SESSION_FLOWS] = flows
    if flow is None:
        raise SsoRefused("This sign-in link is not valid (used already, or from elsewhere).")
    if time.time() - flow["at"] > FLOW_SECONDS:
        raise SsoRefused("The sign-in took too long; start again.")
    return flow


def _verified_claims(provider: OidcProvider, flow: dict[str, Any], code: str) -> dict[str, Any]:
    config = _discover(provider)
    tokens = _fetch(config["token_endpoint"], {
        "grant_type": "authorization_code", "code": code, "redirect_uri": flow["redirect_uri"],
        "client_id": provider.client_id, "client_secret": crypto.decrypt(provider.client_secret),
        "code_verifier": flow["verifier"],
    })  # fmt: skip
    id_token = tokens.get("id_token")
    if not isinstance(id_token, str):
        raise SsoRefused("The identity provider sent no ID token.")
    try:
        keys = KeySet.import_key_set(cast(Any, _fetch(config["jwks_uri"])))
        token = jwt.decode(id_token, keys, algorithms=ALGORITHMS)
        jwt.JWTClaimsRegistry(
            leeway=60,
            iss={"essential": True, "value": provider.issuer},
            aud={"essential": True, "value": provider.client_id},
            exp={"essential": True},
            sub={"essential": True},
            nonce={"essential": True, "value": flow["nonce"]},
        ).validate(token.claims)
    except (JoseError, ValueError, KeyError, TypeError) as error:
        raise SsoRefused(f"The ID token was refused ({error}).") from None
    return dict(token.claims)


def _role(provider: OidcProvider, claims: dict[str, Any]) -> str:
    values = claims.get(provider.role_claim) if provider.role_claim else None
    values = [values] if isinstance(values, str) else values if isinstance(values, list) else []
    mapped = {provider.role_map[v] for v in values if isinstance(v, str) and v in provider.role_map}
    return next((role for role in SENIORITY if role in mapped), provider.default_role)


def _email(provider: OidcProvider, claims: dict[str, Any]) -> str:
    email = str(claims.get("email") or "").strip().lower()
    if not email or claims.get("email_verified") is not True:
        raise SsoRefused("The identity provider did not vouch for an e-mail address.")
    if email.rpartition("@")[2] not in provider.allowed_domains:
        raise SsoRefused("This e-mail domain may not sign in to this organization.")
    return email


def complete(*, session: Any, state: str, code: str, request: Any = None) -> Completed:
    """The callback: the signed-in (perhaps new) person, or SsoRefused (audited)."""
    flow = _take_flow(session, state)
    org_id = flow["org"]
    try:
        provider = provider_of(org_id)
        if provider is None or not provider.enabled:
            raise SsoRefused("This organization does not use single sign-on.")
        claims = _verified_claims(provider, flow, code)
        email = _email(provider, claims)
        return _sign_in_person(provider, claims, email, request)
    except SsoRefused as refused:
        audit.record(AuditAction.SSO_REFUSED, organization_id=org_id, request=request,
                     reason=str(refused)[:300])  # fmt: skip
        raise


def _sign_in_person(
    provider: OidcProvider, claims: dict[str, Any], email: str, request: Any
) -> Completed:
    from deskbase.accounts.services import user_create

    org_id = provider.organization_id
    with tenant(org_id):
        user = User.all_objects.filter(organization_id=org_id, email=email).first()
        created = False
        if user is None:
            name = str(claims.get("name") or "")[:200].replace("\r", " ").replace("\n", " ")
            try:
                user = user_create(
                    organization=Organization(id=org_id), actor=None, email=email,
                    role=_role(provider, claims), full_name=name,
                )  # fmt: skip
            except ValidationFailed as failed:
                raise SsoRefused(f"No account can be made for {email[:100]}: {failed}") from None
            created = True
            audit.record(AuditAction.SSO_USER_CREATED, organization_id=org_id,
                         subject_id=user.id, request=request, role=user.role,
                         issuer=provider.issuer, sub=str(claims.get("sub"))[:200])  # fmt: skip
        elif not user.is_active or user.deleted_at is not None:
            raise SsoRefused("This account may not sign in.")
        audit.record(AuditAction.SSO_SIGNED_IN, organization_id=org_id, actor_id=user.id,
                     subject_id=user.id, request=request, issuer=provider.issuer)  # fmt: skip
    return Completed(user, created)
