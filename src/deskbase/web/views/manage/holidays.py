"""Closed days for business-hours SLAs (who may add or remove one: the services')."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from deskbase.accounts.requests import AuthedRequest
from deskbase.core.errors import ValidationFailed
from deskbase.organizations import services as org_services
from deskbase.web.views.common import domain_errors, manager_required, organization_of


@manager_required
@require_POST
@domain_errors
def holiday_add(request: AuthedRequest) -> HttpResponse:
    user = request.user
    try:
        day = date.fromisoformat(request.POST.get("date", ""))
    except ValueError:
        raise ValidationFailed.one("date", "Give the date as YYYY-MM-DD.") from None
    name = request.POST.get("name", "").strip()
    if not name:
        raise ValidationFailed.one("name", "Name the holiday.")
    org_services.holiday_add(organization=organization_of(user), actor=user, date=day, name=name)
    messages.success(request, "Holiday added.")
    return redirect("web:manage_organization")


@manager_required
@require_POST
@domain_errors
def holiday_remove(request: AuthedRequest, holiday_id: int) -> HttpResponse:
    user = request.user
    holiday = org_services.holiday_remove(
        organization=organization_of(user), actor=user, holiday_id=holiday_id
    )
    messages.success(request, f"Holiday {holiday.date:%Y-%m-%d} removed.")
    return redirect("web:manage_organization")
