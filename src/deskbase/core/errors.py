"""Domain errors. Every one names what is wrong; the API maps them once to 4xx responses."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext


class DomainError(Exception):
    """Base of the errors a service raises for the caller to show."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def as_dict(self) -> dict[str, object]:
        return {"field": self.field, "message": self.message}


class ValidationFailed(DomainError):
    """Input breaks a rule; `errors` maps each field to its messages."""

    status = 422

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        field, messages = next(iter(errors.items()))
        super().__init__(f"{field}: {messages[0]}", field=field)

    @classmethod
    def from_django(cls, error: ValidationError) -> ValidationFailed:
        """Field errors keep their field; a constraint's error goes to the field its
        `violation_error_code` names (every deskbase constraint sets one)."""
        errors: dict[str, list[str]] = {}
        items = error.error_dict.items() if hasattr(error, "error_dict") else [("__all__", [error])]
        for field, details in items:
            for detail in details:
                for item in detail.error_list:
                    target = field
                    if field == "__all__" and item.code and item.code.isidentifier():
                        target = item.code
                    text = item.message % item.params if item.params else item.message
                    errors.setdefault(target, []).append(str(text))
        return cls(errors)

    @classmethod
    def one(cls, field: str, message: str) -> ValidationFailed:
        return cls({field: [message]})

    def as_dict(self) -> dict[str, object]:
        return {"field": self.field, "message": self.message, "errors": self.errors}


class Conflict(DomainError):
    """The row changed since the caller read it (stale version) or the state forbids the act."""

    status = 409


class NotFound(DomainError):
    status = 404


class PermissionDenied(DomainError):
    status = 403


class Vetoed(DomainError):
    """An in-transaction event subscriber refused the change."""

    status = 422


def validated(instance: Any, **full_clean: Any) -> None:
    """instance.full_clean(**full_clean), its errors raised as ValidationFailed by field."""
    try:
        instance.full_clean(**full_clean)
    except ValidationError as error:
        raise ValidationFailed.from_django(error) from None


def constraint_fields() -> dict[str, str]:
    """Constraint name -> field, for every constraint a model declares with a code."""
    from django.apps import apps

    fields: dict[str, str] = {}
    for model in apps.get_models():
        for constraint in model._meta.constraints:
            code = getattr(constraint, "violation_error_code", None)
            if code:
                fields[constraint.name] = code
    return fields


def constraint_messages() -> dict[str, Any]:
    """Constraint name -> the message its model declares (lazy: translated when read)."""
    from django.apps import apps
    from django.db.models import BaseConstraint

    default = BaseConstraint.default_violation_error_message
    messages: dict[str, Any] = {}
    for model in apps.get_models():
        for constraint in model._meta.constraints:
            message = getattr(constraint, "violation_error_message", None)
            if message and str(message) != str(default):
                messages[constraint.name] = message
    return messages


# Constraints that live only in migrations: triggers and composite same-tenant keys.
DATABASE_ONLY_FIELDS = {
    "tickets_ticket_status_transition": "status",
    "tickets_category_no_cycle": "parent",
    "tickets_ticketlink_no_cycle": "target",
    "organizations_organization_timezone_valid": "timezone",
    # core/migrations/0001_jsonb_bounds.py (deskbase.core.jsonbounds)
    "tickets_ticket_custom_fields_bounded": "custom_fields",
    # tickets/migrations/0012_customfield.py: typed custom fields (the key, when named)
    "tickets_custom_fields_valid": "custom_fields",
    "customers_company_custom_fields_object": "custom_fields",
    "organizations_organization_settings_bounded": "settings",
    "organizations_organization_business_hours_bounded": "business_hours",
    "accounts_user_skills_bounded": "skills",
}


def from_integrity_error(error: Exception) -> ValidationFailed | None:
    """The field error a constraint violation stands for, or None if it is not ours."""
    cause = getattr(error, "__cause__", None)
    diag = getattr(cause, "diag", None)
    name = getattr(diag, "constraint_name", None)
    if diag is None or not name:
        return None
    field = DATABASE_ONLY_FIELDS.get(name) or constraint_fields().get(name)
    if name == "tickets_custom_fields_valid" and diag.column_name:
        field = f"custom_fields.{diag.column_name}"  # the trigger names the key
    table = getattr(diag, "table_name", None) or ""
    if field is None and name.startswith(f"{table}_") and name.endswith("_same_org"):
        # <table>_<column>_same_org (deskbase.core.migrations._frozen.tenant_foreign_key):
        # another tenant's row
        field = name[len(table) + 1 : -len("_same_org")].removesuffix("_id")
    if field is None:
        return None
    message = (diag.message_primary or "").strip()
    declared = constraint_messages().get(name)
    if name.endswith("_same_org"):
        message = gettext("No such %(field)s in this organization.") % {"field": field}
    elif declared is not None:
        message = str(declared)  # in the reader's language
    elif not message or message.startswith(_DATABASE_WORDING):
        # PostgreSQL's own words name tables and constraints: not for people
        message = gettext("This value is not allowed here.")
    return ValidationFailed.one(field, message[0].upper() + message[1:])


# How PostgreSQL words its own violations (a trigger's RAISE EXCEPTION text is ours).
_DATABASE_WORDING = (
    "new row for relation",
    "duplicate key value",
    "insert or update on table",
    "update or delete on table",
    "null value in column",
    "value too long",
)
