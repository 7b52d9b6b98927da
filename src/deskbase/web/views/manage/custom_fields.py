"""Custom fields of tickets and companies: list, add, edit, archive (admins and managers)."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext as _

from deskbase.accounts.requests import AuthedRequest
from deskbase.core.errors import ValidationFailed
from deskbase.tickets import customfields
from deskbase.tickets.access import caller_organization
from deskbase.tickets.models import FieldTarget, FieldType
from deskbase.web.views.common import domain_errors, manager_required
from deskbase.web.views.manage.forms import action, form_page


def _options(raw: str) -> list[str]:
    return [line.strip() for line in raw.replace(",", "\n").splitlines() if line.strip()]


def _position(raw: str) -> int:
    if not raw.strip():
        return 0
    if not raw.strip().isdigit() or int(raw) > 32767:
        raise ValidationFailed.one("position", _("A position is a whole number from 0."))
    return int(raw)


def _page(request: AuthedRequest, **extra: Any) -> dict[str, Any]:
    user = request.user
    organization = caller_organization(user)
    groups = [
        (target, label, customfields.custom_fields_for(
            organization=organization, actor=user, applies_to=target, include_archived=True))
        for target, label in FieldTarget.choices
    ]  # fmt: skip
    return {"groups": groups, "types": FieldType.choices, "targets": FieldTarget.choices,
            "section": "custom_fields", "form": request.POST, **extra}  # fmt: skip


@manager_required
@domain_errors
def custom_fields(request: AuthedRequest) -> HttpResponse:
    """The list, and the form that adds a field."""
    user = request.user
    post = request.POST

    def save() -> str:
        field = customfields.custom_field_create(
            organization=caller_organization(user), actor=user, key=post.get("key", ""),
            label=post.get("label", ""), field_type=post.get("field_type", ""),
            applies_to=post.get("applies_to", "ticket"), options=_options(post.get("options", "")),
            position=_position(post.get("position", "")),
        )  # fmt: skip
        return _("Field %(label)s added.") % {"label": field.label}

    return form_page(
        request, "web/manage/custom_fields.html", page=lambda: _page(request), save=save,
        refused=lambda e: {"errors": {k: v[0] for k, v in e.errors.items()}},
        done="manage_custom_fields",
    )  # fmt: skip


@manager_required
@domain_errors
def custom_field_edit(request: AuthedRequest, field_id: int) -> HttpResponse:
    """Label, options and position of one field (key and type stay)."""
    user = request.user
    organization = caller_organization(user)
    field = customfields.custom_field_get(organization=organization, actor=user, field_id=field_id)
    post = request.POST

    def save() -> str:
        changes: dict[str, Any] = {"label": post.get("label", ""),
                                   "position": _position(post.get("position", ""))}  # fmt: skip
        if field.field_type == FieldType.SELECT:
            changes["options"] = _options(post.get("options", ""))
        customfields.custom_field_update(organization=organization, actor=user, field=field,
                                         **changes)  # fmt: skip
        return _("Field %(label)s saved.") % {"label": field.label}

    return form_page(
        request, "web/manage/custom_field_edit.html",
        page=lambda: {"field": field, "section": "custom_fields", "form": post},
        save=save, refused=lambda e: {"errors": {k: v[0] for k, v in e.errors.items()}},
        done="manage_custom_fields",
    )  # fmt: skip


@action("manage_custom_fields")
def custom_field_archive(request: AuthedRequest, field_id: int) -> str:
    """Archive (keeps stored values, takes no new ones) or bring back a field."""
    user = request.user
    organization = caller_organization(user)
    field = customfields.custom_field_get(organization=organization, actor=user, field_id=field_id)
    archive = request.POST.get("archived", "1") == "1"
    customfields.custom_field_update(organization=organization, actor=user, field=field,
                                     archived=archive)  # fmt: skip
    if archive:
        return _("Field %(label)s archived.") % {"label": field.label}
    return _("Field %(label)s is active again.") % {"label": field.label}
