"""Personal data in the administration (admins; docs/privacy.md).

On a person's profile: their exports (a list the page polls while one is being
built), a download through the same rules as the API, and erasure after typing
the customer's address. /manage/privacy/: the organization's retention rule.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.contrib import messages
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_POST

from deskbase.accounts.models import Role
from deskbase.accounts.requests import AuthedRequest
from deskbase.core.downloads import download_response
from deskbase.core.errors import ValidationFailed
from deskbase.privacy import selectors, services
from deskbase.privacy.models import MAX_RETENTION_MONTHS, MIN_RETENTION_MONTHS, ExportState
from deskbase.tickets.access import caller_organization
from deskbase.web.views.common import _guard, domain_errors, error_text
from deskbase.web.views.manage.forms import form_page

admin_required = _guard(lambda u: u.role == Role.ADMIN, gettext_lazy("This page is for admins."))


@admin_required
@domain_errors
def person_exports(request: AuthedRequest, user_id: int) -> HttpResponse:
    """The person's exports: an htmx fragment, polled every 2 s while one is being built."""
    user = request.user
    rows = selectors.exports_of(organization=caller_organization(user), actor=user,
                                user_id=user_id)  # fmt: skip
    busy = any(row.state in (ExportState.QUEUED, ExportState.RUNNING) for row in rows)
    return render(request, "web/manage/_exports.html",
                  {"exports": rows, "busy": busy, "person_id": user_id})  # fmt: skip


def on_profile(view: Callable[[AuthedRequest, int], str]) -> Callable[..., HttpResponse]:
    """A POST from a person's profile (admins): act, then back to the profile with the
    message; a refusal goes back there too, naming the field."""

    @functools.wraps(view)
    def act(request: AuthedRequest, user_id: int) -> HttpResponse:
        try:
            messages.success(request, view(request, user_id))
        except ValidationFailed as failed:
            messages.error(request, error_text(failed))
        return redirect("web:manage_person", user_id=user_id)

    return admin_required(require_POST(domain_errors(act)))


@on_profile
def person_export(request: AuthedRequest, user_id: int) -> str:
    user = request.user
    services.export_request(organization=caller_organization(user), actor=user,
                            user_id=user_id, request=request)  # fmt: skip
    return gettext("Export queued: the worker builds it; this page shows its progress.")


@admin_required
@domain_errors
def export_download(request: AuthedRequest, export_id: int) -> HttpResponseBase:
    user = request.user
    export, handle = selectors.export_open(organization=caller_organization(user), actor=user,
                                           export_id=export_id, request=request)  # fmt: skip
    return download_response(
        handle, content_type="application/zip", file_name=selectors.download_name(export)
    )


@on_profile
def person_erase(request: AuthedRequest, user_id: int) -> str:
    user = request.user
    counts = services.customer_erase(
        organization=caller_organization(user), actor=user, user_id=user_id,
        confirm=request.POST.get("confirm", ""), request=request,
    )  # fmt: skip
    return (
        f"Customer erased: {counts['tickets']} ticket(s) and {counts['comments']} comment(s) "
        f"redacted, {counts['attachments']} file(s) and {counts['mail_messages']} mail "
        "message(s) deleted."
    )


@admin_required
@domain_errors
def retention(request: AuthedRequest) -> HttpResponse:
    user = request.user
    organization = caller_organization(user)
    typed = request.POST.get("closed_ticket_months", "").strip()

    def page() -> dict:
        months = selectors.retention_of(organization=organization, actor=user)
        return {"months": typed if request.method == "POST" else months, "section": "privacy",
                "min": MIN_RETENTION_MONTHS, "max": MAX_RETENTION_MONTHS}  # fmt: skip

    def save() -> str:
        if typed and not typed.isdigit():
            raise ValidationFailed.one("closed_ticket_months", gettext("A whole number of months."))
        months = int(typed) if typed else None
        services.retention_set(
            organization=organization, actor=user, closed_ticket_months=months, request=request
        )
        return (
            gettext("Retention saved.")
            if months
            else gettext("Retention off: closed tickets are kept.")
        )

    def refused(failed: ValidationFailed) -> dict:
        texts = failed.errors.get("closed_ticket_months", [])
        return {"errors": {"fields": {"closed_ticket_months": " ".join(texts)}}}

    return form_page(request, "web/manage/privacy.html", page=page, save=save,
                     refused=refused, done="manage_privacy")  # fmt: skip
