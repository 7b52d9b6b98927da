"""The pages show times in the signed-in person's organization's time zone.

Django converts aware datetimes to the *current* time zone when a template
formats them (`|date`, `|time`, `localtime`); this activates the organization's
zone (Organization.timezone, e.g. Europe/Berlin) for the request and restores
the previous one afterwards. Stored times stay UTC; only their display changes.

Not for /api/ (its contract is ISO-8601 instants, whatever the zone). The zone
comes from the cached organization settings (deskbase.cached), so a page pays
no query for it on a cache hit.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone

from deskbase import cached
from deskbase.core.tenant_middleware import SESSION_KEY
from deskbase.organizations.models import Organization

SKIPPED = ("/api/", "/static/", "/health")


def organization_zone(
    organization_id: int, request: HttpRequest | None = None
) -> zoneinfo.ZoneInfo | None:
    """The organization's time zone; None when it is gone or its zone unknown here.

    The settings read are left on the request for what runs after (the session
    timeouts of accounts.audit), so a page reads them once."""
    try:
        organization = cached.organization_settings(organization_id)
        if request is not None:
            request.organization_settings = organization  # type: ignore[attr-defined]  # shared
        name = organization.timezone
        return zoneinfo.ZoneInfo(name)
    except (Organization.DoesNotExist, zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


class OrganizationTimeZoneMiddleware:
    """Runs after TenantMiddleware: inside the request's transaction, tenant set."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant_id = None
        if not request.path.startswith(SKIPPED):
            tenant_id = request.session.get(SESSION_KEY)
        zone = organization_zone(int(tenant_id), request) if tenant_id else None
        if zone is None:
            return self.get_response(request)
        with timezone.override(zone):
            return self.get_response(request)


class TwoFactorEnrolmentMiddleware:
    """Staff whose organization requires two-factor sign-in, signed in without it, see
    only the set-up page (and may sign out) until it is on. After AuthenticationMiddleware."""

    ALLOWED = ("/account/security/", "/logout/", "/static/", "/health", "/login/")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.session.get("_deskbase_2fa_enrol") and not request.path.startswith(self.ALLOWED):
            if request.path.startswith("/api/"):
                from django.http import JsonResponse

                return JsonResponse(
                    {"type": "about:blank", "title": "Two-factor sign-in required",
                     "status": 403, "detail": "Set up two-factor sign-in in the web pages first."},
                    status=403, content_type="application/problem+json",
                )  # fmt: skip
            return redirect("web:two_factor_setup")
        return self.get_response(request)
