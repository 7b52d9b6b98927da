"""Canned responses: shared ones (admins and managers manage them) and each agent's own."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext

from deskbase.accounts.requests import AuthedRequest
from deskbase.core.errors import NotFound, PermissionDenied, ValidationFailed
from deskbase.tickets import canned
from deskbase.tickets.access import caller_organization
from deskbase.tickets.models import CannedResponse
from deskbase.web import selectors
from deskbase.web.views.common import (
    MANAGERS,
    domain_errors,
    error_text,
    staff_required,
)
from deskbase.web.views.manage.forms import action, form_page


@staff_required
@domain_errors
def canned_responses(request: AuthedRequest) -> HttpResponse:
    """Shared responses (admins and managers manage them) and the caller's own."""
    user = request.user
    if request.method == "POST":
        canned.canned_response_create(
            organization=caller_organization(user), actor=user, name=request.POST.get("name", ""),
            body=request.POST.get("body", ""),
            personal=user.role not in MANAGERS or request.POST.get("personal") == "on",
        )  # fmt: skip
        messages.success(request, gettext("Canned response saved."))
        return redirect("web:manage_canned")
    rows = canned.canned_responses_for(organization=caller_organization(user), actor=user)
    return render(request, "web/manage/canned.html", {
        "responses": rows, "may_share": user.role in MANAGERS,
        "placeholders": list(canned.PLACEHOLDERS), "section": "canned",
    })  # fmt: skip


@action("manage_canned", guard=staff_required)
def canned_delete(request: AuthedRequest, canned_id: int) -> str:
    user = request.user
    canned.canned_response_delete(
        organization=caller_organization(user), actor=user,
        canned=CannedResponse(pk=canned_id, organization_id=user.tenant_id),
    )  # fmt: skip
    return gettext("Canned response deleted.")


@staff_required
@domain_errors
def canned_edit(request: AuthedRequest, canned_id: int) -> HttpResponse:
    """Rename or rewrite a response (the API's PATCH: name and body; whether it is shared
    never changes). Shared ones: admins and managers (an agent gets a 403); someone
    else's personal one, like another tenant's, is a 404."""
    user = request.user
    found = selectors.canned_response_of(actor=user, canned_id=canned_id)
    if found is None:
        raise NotFound(gettext("no such canned response"))
    if found.owner_id is None and user.role not in MANAGERS:
        raise PermissionDenied(
            gettext("only admins and managers may manage shared canned responses")
        )
    values = {"name": found.name, "body": found.body}
    if request.method == "POST":
        values = {"name": request.POST.get("name", ""), "body": request.POST.get("body", "")}

    def save() -> str:
        for field, text in values.items():
            if not text.strip():
                raise ValidationFailed.one(
                    field, gettext("The %(field)s cannot be empty.") % {"field": field}
                )
        canned.canned_response_update(
            organization=caller_organization(user), actor=user, canned=found, **values
        )
        return gettext("Canned response saved.")

    return form_page(
        request, "web/manage/canned_edit.html", save=save, done="manage_canned",
        page=lambda: {"canned": found, "values": values, "error": "",
                      "placeholders": list(canned.PLACEHOLDERS), "section": "canned"},
        refused=lambda failed: {"error": error_text(failed)},
    )  # fmt: skip
