"""Who is calling: a signed-in browser session (CSRF-checked) or a bearer token."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from deskbase.accounts import tokens
from deskbase.accounts.models import User
from deskbase.api import ratelimit


def client_address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


class BearerToken(HttpBearer):
    openapi_description = "A personal API token: `Authorization: Bearer dsk_…`"

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        # Wrong tokens are counted per client address and throttled (a 429).
        user = tokens.authenticate(token, address=client_address(request))
        if user is not None:
            request.user = user
            # Per token: its digest names it (no id is loaded for it).
            ratelimit.check(request, organization_id=user.tenant_id,
                            caller="t:" + tokens.digest(token)[:32])  # fmt: skip
        return user


class Session(SessionAuth):
    """Django's session; the tenant was set from it by TenantMiddleware."""

    def __call__(self, request: HttpRequest) -> Any:
        # Not signed in is a 401 whatever the request's CSRF token: the CSRF check
        # protects a signed-in session, and only a signed-in session gets it.
        if self._signed_in(request) is None:
            return None
        return super().__call__(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        user = self._signed_in(request)
        if user is not None:
            ratelimit.check(request, organization_id=user.tenant_id, caller=f"u:{user.id}")
        return user

    @staticmethod
    def _signed_in(request: HttpRequest) -> User | None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.organization_id:
            return user
        return None


AUTH = [BearerToken(), Session()]
