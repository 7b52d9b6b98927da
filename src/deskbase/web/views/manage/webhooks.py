"""Webhooks: admins and managers add endpoints, see their statistics and deliveries,
send a test message, rotate the signing secret, replay a delivery.

A new or rotated secret is shown on the page that answers the form, once: it is not
put in a redirect's message (the session), and no other page shows it.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from deskbase.accounts.requests import AuthedRequest
from deskbase.core.errors import ValidationFailed
from deskbase.tickets.access import caller_organization
from deskbase.web.views.common import domain_errors, manager_required
from deskbase.web.views.manage.forms import action
from deskbase.webhooks import payloads, selectors, services
from deskbase.webhooks.models import Endpoint

INPUTS = ("url", "description", "event_types", "enabled")
DELIVERIES_SHOWN = 50


def _posted(request: AuthedRequest) -> dict[str, Any]:
    return {
        "url": request.POST.get("url", ""),
        "description": request.POST.get("description", ""),
        "event_types": request.POST.getlist("event_types"),
    }


def _errors(failed: ValidationFailed | None) -> dict[str, Any] | None:
    if failed is None:
        return None
    fields = {f: " ".join(t) for f, t in failed.errors.items() if f in INPUTS}
    general = [" ".join(t) for f, t in failed.errors.items() if f not in INPUTS]
    return {"fields": fields, "general": general}


def _list_page(
    request: AuthedRequest, *, values: dict[str, Any] | None = None,
    failed: ValidationFailed | None = None, secret: str | None = None,
    made: Endpoint | None = None, status: int = 200,
) -> HttpResponse:  # fmt: skip
    user = request.user
    organization = caller_organization(user)
    endpoints = selectors.endpoint_list(organization=organization, actor=user)
    stats = selectors.statistics(organization=organization, actor=user)
    return render(request, "web/manage/webhooks.html", {
        "section": "webhooks", "rows": [(e, stats.get(e.id)) for e in endpoints],
        "events": [payloads.WILDCARD, *payloads.CARRIED],
        "values": values or {"event_types": [payloads.WILDCARD]},
        "errors": _errors(failed), "secret": secret, "made": made,
    }, status=status)  # fmt: skip


@manager_required
@domain_errors
def webhooks(request: AuthedRequest) -> HttpResponse:
    """GET: the endpoints with their statistics; POST: add one (its secret shown once)."""
    if request.method != "POST":
        return _list_page(request)
    values = _posted(request)
    try:
        endpoint, secret = services.endpoint_create(
            organization=caller_organization(request.user), actor=request.user, **values
        )
    except ValidationFailed as failed:
        return _list_page(request, values=values, failed=failed, status=422)
    return _list_page(request, secret=secret, made=endpoint)


def _endpoint_page(
    request: AuthedRequest, endpoint: Endpoint, *, values: dict[str, Any] | None = None,
    failed: ValidationFailed | None = None, secret: str | None = None, status: int = 200,
) -> HttpResponse:  # fmt: skip
    user = request.user
    organization = caller_organization(user)
    page = selectors.deliveries(organization=organization, actor=user, endpoint_id=endpoint.id,
                                limit=DELIVERIES_SHOWN)  # fmt: skip
    stats = selectors.statistics(organization=organization, actor=user, endpoint_id=endpoint.id)
    shown = values or {"url": endpoint.url, "description": endpoint.description,
                       "event_types": endpoint.event_types}  # fmt: skip
    return render(request, "web/manage/webhook.html", {
        "section": "webhooks", "endpoint": endpoint, "stats": stats.get(endpoint.id),
        "deliveries": page.items, "events": [payloads.WILDCARD, *payloads.CARRIED],
        "values": shown, "errors": _errors(failed), "secret": secret,
    }, status=status)  # fmt: skip


@manager_required
@domain_errors
def webhook(request: AuthedRequest, endpoint_id: int) -> HttpResponse:
    """GET: the endpoint, its statistics and latest deliveries; POST: save the form."""
    user = request.user
    organization = caller_organization(user)
    endpoint = selectors.endpoint_of(organization=organization, actor=user,
                                     endpoint_id=endpoint_id)  # fmt: skip
    if request.method != "POST":
        return _endpoint_page(request, endpoint)
    values = _posted(request)
    try:
        endpoint = services.endpoint_update(
            organization=organization, actor=user, endpoint_id=endpoint_id,
            enabled=request.POST.get("enabled") == "on", **values,
        )  # fmt: skip
    except ValidationFailed as failed:
        return _endpoint_page(request, endpoint, values=values, failed=failed, status=422)
    return _endpoint_page(request, endpoint)


@manager_required
@require_POST
@domain_errors
def webhook_rotate(request: AuthedRequest, endpoint_id: int) -> HttpResponse:
    """A new secret, shown on the answer only; the previous one valid for 24 hours."""
    endpoint, secret = services.endpoint_rotate_secret(
        organization=caller_organization(request.user), actor=request.user,
        endpoint_id=endpoint_id,
    )  # fmt: skip
    return _endpoint_page(request, endpoint, secret=secret)


@manager_required
@require_POST
@domain_errors
def webhook_test(request: AuthedRequest, endpoint_id: int) -> HttpResponse:
    """Send a test message now; the page shows it first in the deliveries."""
    user = request.user
    organization = caller_organization(user)
    services.endpoint_test(organization=organization, actor=user, endpoint_id=endpoint_id)
    endpoint = selectors.endpoint_of(organization=organization, actor=user,
                                     endpoint_id=endpoint_id)  # fmt: skip
    return _endpoint_page(request, endpoint)


@action("manage_webhooks")
def webhook_delete(request: AuthedRequest, endpoint_id: int) -> str:
    services.endpoint_delete(organization=caller_organization(request.user),
                             actor=request.user, endpoint_id=endpoint_id)  # fmt: skip
    return gettext("Webhook endpoint removed.")


@manager_required
@require_POST
@domain_errors
def delivery_replay(request: AuthedRequest, delivery_id: int) -> HttpResponse:
    user = request.user
    organization = caller_organization(user)
    found = selectors.delivery_of(organization=organization, actor=user, delivery_id=delivery_id)
    services.delivery_replay(organization=organization, actor=user, delivery_id=delivery_id)
    endpoint = selectors.endpoint_of(organization=organization, actor=user,
                                     endpoint_id=found.endpoint_id)  # fmt: skip
    return _endpoint_page(request, endpoint)
