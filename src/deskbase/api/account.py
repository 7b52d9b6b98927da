"""/api/v1/auth and /api/v1/tokens: sign in, sign out, who am I, personal tokens."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.contrib.auth import authenticate, login, logout
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from ninja import Field, Router, Schema, Status

from deskbase.accounts import throttle, tokens, two_factor
from deskbase.accounts.models import ApiToken
from deskbase.accounts.requests import ApiRequest
from deskbase.accounts.services import user_update
from deskbase.api.auth import client_address
from deskbase.api.schemas import ERRORS
from deskbase.api.tickets import Strict, UtcDatetime
from deskbase.core.errors import DomainError, PermissionDenied
from deskbase.core.tenancy import tenant
from deskbase.tickets.access import caller_organization

router = Router(tags=["account"])


class SignInIn(Strict):
    organization: str = Field(..., min_length=1, max_length=63)
    email: str = Field(..., min_length=3, max_length=254)
    password: str = Field(..., min_length=1, max_length=1000)
    code: str | None = Field(
        None, max_length=40,
        description="With two-factor sign-in on: a code from the app, or a recovery code.",
    )  # fmt: skip


class MeOut(Schema):
    id: int
    email: str
    full_name: str
    role: str
    organization_id: int
    language: str = Field(description="en, de, or empty: the organization's default.")
    timezone: str = Field(description="An IANA time zone, or empty: the organization's.")


class MeIn(Strict):
    language: str | None = Field(None, max_length=8, description="en, de, or empty.")
    timezone: str | None = Field(None, max_length=64, description="IANA name, or empty.")


class TokenIn(Strict):
    name: str = Field(..., min_length=1, max_length=100)
    expires_at: UtcDatetime | None = None


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class NewTokenOut(TokenOut):
    token: str = Field(..., description="Shown once; only its digest is stored.")


class Unauthorized(DomainError):
    status = 401


class _OriginCheck(CsrfViewMiddleware):
    """Django's CSRF middleware, for its check of the Origin header alone."""

    if TYPE_CHECKING:  # a private method, which django-stubs does not declare

        def _origin_verified(self, request: HttpRequest) -> bool: ...


def refuse_foreign_origin(request: HttpRequest) -> None:
    """A request that sets a session cookie must come from this site (or no browser).

    Without it, any web page could sign its visitor in to the attacker's account
    (login CSRF) and read what the victim then types. Browsers send `Origin` with
    every cross-origin POST; a client that is not a browser sends none. JSON bodies
    only (deskbase.api.parser) means no HTML form can send the request at all.
    """
    origin = request.headers.get("Origin")
    if origin is None:
        return
    if origin == "null" or not _OriginCheck(lambda r: HttpResponse())._origin_verified(request):
        raise PermissionDenied(
            f"Signing in from another site ({origin[:100]}) is refused.", field="Origin"
        )


@router.post("/auth/login", auth=None, response={200: MeOut, **ERRORS})
def sign_in(request: HttpRequest, payload: SignInIn):
    """Start a browser session (then send the CSRF token with unsafe requests).

    Only from this site's pages or from clients that are not browsers (no `Origin`)."""
    refuse_foreign_origin(request)
    address = client_address(request)
    failed_before = throttle.check(payload.organization, payload.email, address)
    user = authenticate(request, username=payload.email, password=payload.password,
                        organization=payload.organization)  # fmt: skip
    if user is None:
        throttle.record_failure(payload.organization, payload.email, address)
        raise Unauthorized("Your organization, email address and password did not match.")
    if failed_before:
        throttle.record_success(payload.organization, payload.email)
    has_device, enrol = two_factor.sign_in_state(user)
    if has_device:
        if not payload.code:
            raise Unauthorized("Two-factor sign-in is on: send the code as well.", field="code")
        if not two_factor.second_factor_verify(
            organization=caller_organization(user), actor=user, code=payload.code, request=request
        ):
            # counted like a wrong password: guessing codes is throttled too
            throttle.record_failure(payload.organization, payload.email, address)
            raise Unauthorized("That code is not valid.", field="code")
    elif enrol:
        raise PermissionDenied(
            "Your organization requires two-factor sign-in: set it up in the web pages first.",
            field="code",
        )
    login(request, user)
    return user


@router.post("/auth/logout", response={204: None, **ERRORS})
def sign_out(request: HttpRequest):
    logout(request)
    return Status(204, None)


@router.get("/me", response={200: MeOut, **ERRORS})
def me(request: ApiRequest):
    return request.auth


@router.patch("/me", response={200: MeOut, **ERRORS})
def update_me(request: ApiRequest, payload: MeIn):
    """One's own language and time zone (what the web pages use; the API stays English/UTC)."""
    user = request.auth
    return user_update(
        organization=caller_organization(user), actor=user, user=user,
        **payload.model_dump(exclude_unset=True),
    )  # fmt: skip


@router.get("/tokens", response={200: list[TokenOut], **ERRORS})
def list_tokens(request: ApiRequest):
    """The caller's own tokens (revoked ones included, so they can be recognized)."""
    user = request.auth
    with tenant(user.organization_id, user, savepoint=False):
        return list(ApiToken.objects.filter(user=user).order_by("-created_at", "-id"))


@router.post("/tokens", response={201: NewTokenOut, **ERRORS})
def create_token(request: ApiRequest, payload: TokenIn):
    user = request.auth
    token, plain = tokens.token_create(
        organization=caller_organization(user), actor=user, name=payload.name,
        expires_at=payload.expires_at,
    )  # fmt: skip
    return Status(201, {**TokenOut.model_validate(token).model_dump(), "token": plain})


@router.delete("/tokens/{token_id}", response={204: None, **ERRORS})
def revoke_token(request: ApiRequest, token_id: int):
    tokens.token_revoke(organization=caller_organization(request.auth), actor=request.auth,
                        token_id=token_id)  # fmt: skip
    return Status(204, None)
