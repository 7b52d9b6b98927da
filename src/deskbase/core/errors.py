"""Domain errors. Every one names what is wrong; the API maps them once to 4xx responses."""

from __future__ import annotations

from django.core.exceptions import ValidationError


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
