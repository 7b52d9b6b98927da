"""Closed days for business-hours SLAs (who may add or remove one: the services')."""

from __future__ import annotations

from datetime import date

from django.utils.translation import gettext

from deskbase.accounts.requests import AuthedRequest
from deskbase.core.errors import ValidationFailed
from deskbase.organizations import services as org_services
from deskbase.tickets.access import caller_organization
from deskbase.web.views.manage.forms import action


@action("manage_organization")
def holiday_add(request: AuthedRequest) -> str:
    user = request.user
    try:
        day = date.fromisoformat(request.POST.get("date", ""))
    except ValueError:
        raise ValidationFailed.one("date", gettext("Give the date as YYYY-MM-DD.")) from None
    name = request.POST.get("name", "").strip()
    if not name:
        raise ValidationFailed.one("name", gettext("Name the holiday."))
    org_services.holiday_add(
        organization=caller_organization(user), actor=user, date=day, name=name
    )
    return gettext("Holiday added.")


@action("manage_organization")
def holiday_remove(request: AuthedRequest, holiday_id: int) -> str:
    user = request.user
    holiday = org_services.holiday_remove(
        organization=caller_organization(user), actor=user, holiday_id=holiday_id
    )
    return gettext("Holiday %(date)s removed.") % {"date": format(holiday.date, "%Y-%m-%d")}
