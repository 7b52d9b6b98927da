"""The pages speak the person's language and show times in their time zone.

Django translates with the *active* language and converts aware datetimes to the
*current* time zone when a template formats them (`|date`, `|time`, `localtime`); this
activates both for the request and restores the previous ones afterwards. Stored times
stay UTC; only their display changes.

- language: the person's own (User.language), else their organization's
  (Organization.language), else the browser's Accept-Language, else English;
- time zone: the person's own (User.timezone), else their organization's, else UTC.

Staff and portal customers alike; an anonymous visitor gets the browser's language and
the zone of the organization the session names (the sign-in page after a sign-out),
else UTC. Not for /api/ (its contract is English and ISO-8601 instants). The
organization comes from the cached settings (deskbase.cached), so a page pays no query
for it on a cache hit; the person is the one AuthenticationMiddleware loads anyway.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers

from deskbase import cached
from deskbase.core.i18n import zone_or_none
from deskbase.core.tenant_middleware import SESSION_KEY
from deskbase.organizations.models import Organization

SKIPPED = ("/api/", "/static/", "/health")


def organization_settings(
    organization_id: int, request: HttpRequest | None = None
) -> Organization | None:
    """The organization's cached settings; None when it is gone.

    They are left on the request for what runs after (the session timeouts of
    accounts.audit), so a page reads them once."""
    try:
        organization = cached.organization_settings(organization_id)
    except Organization.DoesNotExist:
        return None
    if request is not None:
        request.organization_settings = organization  # type: ignore[attr-defined]  # shared
    return organization


def organization_zone(
    organization_id: int, request: HttpRequest | None = None
) -> zoneinfo.ZoneInfo | None:
    """The organization's time zone; None when it is gone or its zone unknown here."""
    organization = organization_settings(organization_id, request)
    return zone_or_none(organization.timezone) if organization is not None else None


def preferences(request: HttpRequest) -> tuple[str, zoneinfo.ZoneInfo | None]:
    """The language and time zone of this request (see the module's docstring)."""
    person = getattr(request, "user", None)
    user = person if person is not None and person.is_authenticated else None
    tenant_id = user.organization_id if user is not None else request.session.get(SESSION_KEY)
    organization = organization_settings(int(tenant_id), request) if tenant_id else None
    language = (user.language if user is not None else "") or (
        organization.language if organization is not None else ""
    )
    if language not in dict(settings.LANGUAGES):
        language = translation.get_language_from_request(request)
    zone = zone_or_none(user.timezone) if user is not None else None
    if zone is None and organization is not None:
        zone = zone_or_none(organization.timezone)
    return language, zone


class PreferencesMiddleware:
    """After AuthenticationMiddleware: inside the request's transaction, tenant set."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(SKIPPED):
            return self.get_response(request)
        language, zone = preferences(request)
        with translation.override(language):
            request.LANGUAGE_CODE = translation.get_language()
            if zone is None:
                response = self.get_response(request)
            else:
                with timezone.override(zone):
                    response = self.get_response(request)
        # The same address answers in another language to another browser or person.
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
        response.headers.setdefault("Content-Language", language)
        return response


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
