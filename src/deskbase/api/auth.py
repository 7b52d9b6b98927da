"""Who is calling: a signed-in browser session (CSRF-checked) or a bearer token."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from deskbase.accounts import tokens


class BearerToken(HttpBearer):
    openapi_description = "A personal API token: `Authorization: Bearer dsk_…`"

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = tokens.authenticate(token)
        if user is not None:
            request.user = user
        return user


class Session(SessionAuth):
    """Django's session; the tenant was set from it by TenantMiddleware."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.organization_id:
            return user
        return None


AUTH = [BearerToken(), Session()]
