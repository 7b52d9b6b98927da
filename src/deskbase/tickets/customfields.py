"""Typed custom fields of tickets and companies, defined per organization.

Admins and managers define them (key, label, type, options for a choice, position);
agents read them. Values live in the `custom_fields` JSON of the ticket or company.
`check_values` gives the friendly field error first; the trigger
`tickets_custom_fields_valid` enforces the same rules for any writer (docs/tickets.md).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from django.db.models.functions import Now
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from deskbase.accounts import audit
from deskbase.accounts.models import AuditAction, Role, User
from deskbase.core.errors import NotFound, PermissionDenied, ValidationFailed, validated
from deskbase.core.tenancy import tenant, tenant_atomic
from deskbase.organizations.models import Organization
from deskbase.tickets.models import (
    CUSTOM_FIELD_KEY,
    MAX_FIELD_OPTIONS,
    CustomField,
    FieldTarget,
    FieldType,
)
from deskbase.tickets.permissions import ensure_staff

DEFINING_ROLES = (Role.ADMIN, Role.MANAGER)
MAX_TEXT = 1000
UNSET = object()


def _ensure_may_define(actor: User) -> None:
    if actor.role not in DEFINING_ROLES:
        raise PermissionDenied(_("only admins and managers may define custom fields"))


# ------------------------------------------------------------------ reads
def custom_fields_for(
    *, organization: Organization, actor: User, applies_to: str = FieldTarget.TICKET,
    include_archived: bool = False,
) -> list[CustomField]:  # fmt: skip
    """The organization's fields of one target, in their position order. 1 query."""
    ensure_staff(actor, gettext("read custom fields"))
    with tenant(organization, actor, savepoint=False):
        rows = CustomField.objects.filter(organization_id=organization.id, applies_to=applies_to)
        if not include_archived:
            rows = rows.filter(archived_at__isnull=True)
        return list(rows.order_by("position", "label", "id"))


def custom_field_get(*, organization: Organization, actor: User, field_id: int) -> CustomField:
    ensure_staff(actor, gettext("read custom fields"))
    with tenant(organization, actor, savepoint=False):
        field = CustomField.objects.filter(organization_id=organization.id, id=field_id).first()
    if field is None:
        raise NotFound(_("no custom field %(field_id)s") % {"field_id": field_id}, field="id")
    return field


# ------------------------------------------------------------------ writes
def _clean_options(field_type: str, options: Iterable[str]) -> list[str]:
    cleaned = list(dict.fromkeys(str(o).strip() for o in options if str(o).strip()))
    if field_type != FieldType.SELECT:
        return []
    if not cleaned:
        raise ValidationFailed.one("options", _("A choice field needs at least one option."))
    if len(cleaned) > MAX_FIELD_OPTIONS:
        raise ValidationFailed.one("options", _("At most 100 options."))
    if any(len(o) > 100 for o in cleaned):
        raise ValidationFailed.one("options", _("An option is at most 100 characters long."))
    return cleaned


@tenant_atomic
def custom_field_create(
    *, organization: Organization, actor: User, key: str, label: str, field_type: str,
    applies_to: str = FieldTarget.TICKET, options: Iterable[str] = (), position: int = 0,
) -> CustomField:  # fmt: skip
    _ensure_may_define(actor)
    key = (key or "").strip()
    if not re.match(CUSTOM_FIELD_KEY, key):
        raise ValidationFailed.one(
            "key", _("A key is a lower-case letter, then lower-case letters, digits or _.")
        )
    if field_type not in FieldType.values:
        raise ValidationFailed.one("field_type", _("Choose a type from the list."))
    if applies_to not in FieldTarget.values:
        raise ValidationFailed.one("applies_to", _("A field applies to tickets or companies."))
    if CustomField.objects.filter(organization_id=organization.id, applies_to=applies_to,
                                  key=key).exists():  # fmt: skip
        raise ValidationFailed.one("key", _("A field with this key already exists."))
    field = CustomField(
        organization=organization, applies_to=applies_to, key=key, label=(label or "").strip(),
        field_type=field_type, options=_clean_options(field_type, options), position=position,
    )  # fmt: skip
    validated(field)
    field.save()
    _audit(AuditAction.CUSTOM_FIELD_CREATED, field, actor, label=field.label,
           field_type=field.field_type, options=list(field.options),
           position=field.position)  # fmt: skip
    return field


def _audit(action: str, field: CustomField, actor: User, **detail: Any) -> None:
    """One audit row naming the field (target and key) and what happened to it."""
    audit.record(
        action, organization_id=field.organization_id, actor_id=actor.id,
        applies_to=field.applies_to, key=field.key, **detail,
    )  # fmt: skip


@tenant_atomic
def custom_field_update(
    *, organization: Organization, actor: User, field: CustomField, label: Any = UNSET,
    options: Any = UNSET, position: Any = UNSET, archived: Any = UNSET,
) -> CustomField:  # fmt: skip
    """Label, options, position, archived. Key and type stay: stored values depend on them."""
    _ensure_may_define(actor)
    if field.organization_id != organization.id:
        raise NotFound(_("no custom field %(id)s") % {"id": field.id}, field="id")
    changed = []
    before = {"label": field.label, "options": list(field.options), "position": field.position,
              "archived": field.archived_at is not None}  # fmt: skip
    if label is not UNSET:
        field.label = str(label or "").strip()
        changed.append("label")
    if options is not UNSET:
        field.options = _clean_options(field.field_type, options or [])
        changed.append("options")
    if position is not UNSET:
        field.position = int(position)
        changed.append("position")
    if archived is not UNSET:
        field.archived_at = Now() if archived else None
        changed.append("archived_at")
    if not changed:
        return field
    validated(field, exclude=["archived_at"])
    field.save(update_fields=[*changed, "updated_at"])
    field.refresh_from_db(fields=["archived_at", "updated_at"])
    after = {"label": field.label, "options": list(field.options), "position": field.position,
             "archived": field.archived_at is not None}  # fmt: skip
    differences = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if differences.keys() == {"archived"} and after["archived"]:
        _audit(AuditAction.CUSTOM_FIELD_ARCHIVED, field, actor, label=field.label)
    elif differences:
        _audit(AuditAction.CUSTOM_FIELD_CHANGED, field, actor, **differences)
    return field


# ------------------------------------------------------------------ values
def _problem(field: CustomField, value: Any) -> str | None:
    """Why `value` does not fit `field` (None: it does). Mirrors the trigger."""
    if value is None:
        return None
    if field.archived:
        return _("%(label)s is archived and takes no new values.") % {"label": field.label}
    kind = field.field_type
    if kind == FieldType.TEXT and not (isinstance(value, str) and len(value) <= MAX_TEXT):
        return _("%(label)s is a text of up to 1000 characters.") % {"label": field.label}
    if kind == FieldType.NUMBER and (
        isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
    ):
        return _("%(label)s is a number.") % {"label": field.label}
    if kind == FieldType.CHECKBOX and not isinstance(value, bool):
        return _("%(label)s is yes or no.") % {"label": field.label}
    if kind == FieldType.SELECT and value not in field.options:
        return _("%(label)s is one of its options.") % {"label": field.label}
    if kind == FieldType.DATE:
        try:
            date.fromisoformat(value if isinstance(value, str) and len(value) == 10 else "")
        except ValueError:
            return _("%(label)s is a date (YYYY-MM-DD).") % {"label": field.label}
    return None


def check_values(
    *, organization: Organization, applies_to: str, old: Mapping[str, Any],
    new: Mapping[str, Any], strict: bool | None = None,
) -> None:  # fmt: skip
    """Each changed key of `new` is a defined field and its value fits the type; the error
    names `custom_fields.<key>`. Tickets are checked once the organization defines a
    ticket field (strict=None); companies always. 1 query when anything changed."""
    changed = {k: v for k, v in new.items() if k not in old or old[k] != v}
    if not changed:
        return
    fields = {
        f.key: f
        for f in CustomField.objects.filter(organization_id=organization.id, applies_to=applies_to)
    }
    if strict is None:
        strict = applies_to == FieldTarget.COMPANY or bool(fields)
    if not strict:
        return
    for key, value in changed.items():
        field = fields.get(key)
        problem = _("There is no custom field %(key)s.") % {"key": key} if field is None else None
        problem = problem or (_problem(field, value) if field is not None else None)
        if problem:
            raise ValidationFailed.one(f"custom_fields.{key}", problem)


def parse_form_value(field: CustomField, raw: str | None) -> Any:
    """A form's text as the field's JSON value; empty clears it (None)."""
    text = (raw or "").strip()
    if field.field_type == FieldType.CHECKBOX:
        return text in ("on", "true", "1", "yes")
    if not text:
        return None
    if field.field_type == FieldType.NUMBER:
        try:
            number = float(text.replace(",", "."))
        except ValueError:
            raise ValidationFailed.one(
                f"custom_fields.{field.key}", _("%(label)s is a number.") % {"label": field.label}
            ) from None
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    return text


def merged_values(current: Mapping[str, Any], updates: Mapping[str, Any]) -> dict[str, Any]:
    """`current` with `updates` applied; a None removes the key."""
    merged = dict(current)
    for key, value in updates.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged
