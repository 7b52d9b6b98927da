"""The organization's settings and business hours: admins change them, managers read."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from deskbase.accounts.models import Role
from deskbase.accounts.requests import AuthedRequest
from deskbase.core.errors import ValidationFailed
from deskbase.core.i18n import Language
from deskbase.organizations.settings_services import organization_settings_update
from deskbase.tickets.access import caller_organization
from deskbase.web import selectors
from deskbase.web.views.common import domain_errors, manager_required

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^\s*(\d{2}:\d{2})\s*-\s*(\d{2}:\d{2})\s*$")


def _hours_text(spans: list[list[str]]) -> str:
    return ", ".join(f"{start}-{end}" for start, end in spans)


def _parse_hours(post: Any) -> dict[str, list[list[str]]]:
    hours: dict[str, list[list[str]]] = {}
    for day in DAYS:
        spans = []
        for part in (p for p in post.get(f"hours_{day}", "").split(",") if p.strip()):
            match = _SPAN.match(part)
            if match is None:
                raise ValidationFailed.one(
                    "business_hours",
                    gettext("%(day)s: write spans as 09:00-17:00, separated by commas.")
                    % {"day": day},
                )
            spans.append([match.group(1), match.group(2)])
        hours[day] = spans
    return hours


@manager_required
@require_GET
def index(request: AuthedRequest) -> HttpResponse:
    return redirect("web:manage_organization")


@manager_required
@domain_errors
def organization(request: AuthedRequest) -> HttpResponse:
    """Settings and business hours (admins change them; managers read), and holidays."""
    user = request.user
    if request.method == "POST":
        organization_settings_update(
            organization=caller_organization(user), actor=user, name=request.POST.get("name", ""),
            timezone=request.POST.get("timezone", ""), language=request.POST.get("language", ""),
            business_hours=_parse_hours(request.POST),
        )  # fmt: skip
        messages.success(request, gettext("Organization settings saved."))
        return redirect("web:manage_organization")
    org = selectors.organization_with_holidays(actor=user)
    # (key, the day's name in the reader's language, the spans as text)
    hours = [(day, WEEKDAYS_ABBR[number], _hours_text(org.business_hours.get(day, [])))
             for number, day in enumerate(DAYS)]  # fmt: skip
    return render(request, "web/manage/organization.html", {
        "org": org, "hours": hours, "may_edit": user.role == Role.ADMIN, "section": "org",
        "languages": [("", _("Each browser's")), *Language.choices],
    })  # fmt: skip
