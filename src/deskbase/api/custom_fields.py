"""/api/v1/custom-fields: typed custom fields of tickets and companies (docs/tickets.md).

Agents read them; admins and managers add, change and archive them. Another tenant's
field is a 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Field, Query, Router, Schema, Status

from deskbase.accounts.requests import ApiRequest
from deskbase.api.schemas import ERRORS
from deskbase.api.tickets import Strict
from deskbase.core.errors import ValidationFailed
from deskbase.tickets import customfields
from deskbase.tickets.access import caller_organization
from deskbase.tickets.models import CustomField

router = Router(tags=["custom fields"])

FieldTypeName = Literal["text", "number", "date", "select", "checkbox"]
TargetName = Literal["ticket", "company"]


class CustomFieldOut(Schema):
    id: int
    applies_to: str
    key: str
    label: str
    field_type: str
    options: list[str]
    position: int
    archived: bool
    created_at: datetime
    updated_at: datetime


class CustomFieldIn(Strict):
    key: str = Field(..., min_length=1, max_length=40, description="a-z, 0-9 and _")
    label: str = Field(..., min_length=1, max_length=80)
    field_type: FieldTypeName
    applies_to: TargetName = "ticket"
    options: list[str] = Field(default_factory=list, max_length=100)
    position: int = Field(0, ge=0, le=32767)


class CustomFieldPatch(Strict):
    label: str | None = Field(None, min_length=1, max_length=80)
    options: list[str] | None = Field(None, max_length=100)
    position: int | None = Field(None, ge=0, le=32767)
    archived: bool | None = None


class ListQuery(Schema):
    applies_to: TargetName = "ticket"
    include_archived: bool = False


def _out(field: CustomField) -> dict[str, Any]:
    return {
        "id": field.id, "applies_to": field.applies_to, "key": field.key, "label": field.label,
        "field_type": field.field_type, "options": list(field.options),
        "position": field.position, "archived": field.archived,
        "created_at": field.created_at, "updated_at": field.updated_at,
    }  # fmt: skip


@router.get("/custom-fields", response={200: list[CustomFieldOut], **ERRORS})
def list_custom_fields(request: ApiRequest, query: Query[ListQuery]):
    """The organization's fields of tickets (or companies), in their order. One query."""
    user = request.auth
    rows = customfields.custom_fields_for(
        organization=caller_organization(user), actor=user, applies_to=query.applies_to,
        include_archived=query.include_archived,
    )  # fmt: skip
    return [_out(f) for f in rows]


@router.post("/custom-fields", response={201: CustomFieldOut, **ERRORS})
def create_custom_field(request: ApiRequest, payload: CustomFieldIn):
    user = request.auth
    field = customfields.custom_field_create(
        organization=caller_organization(user), actor=user, **payload.dict()
    )
    field.refresh_from_db()
    return Status(201, _out(field))


@router.get("/custom-fields/{field_id}", response={200: CustomFieldOut, **ERRORS})
def get_custom_field(request: ApiRequest, field_id: int):
    user = request.auth
    return _out(customfields.custom_field_get(organization=caller_organization(user), actor=user,
                                              field_id=field_id))  # fmt: skip


@router.patch("/custom-fields/{field_id}", response={200: CustomFieldOut, **ERRORS})
def update_custom_field(request: ApiRequest, field_id: int, payload: CustomFieldPatch):
    """Label, options, position, archived; key and type stay (stored values use them)."""
    user = request.auth
    organization = caller_organization(user)
    changes = payload.dict(exclude_unset=True)
    for name, value in changes.items():
        if value is None:
            raise ValidationFailed.one(name, f"{name} cannot be null.")
    field = customfields.custom_field_get(organization=organization, actor=user, field_id=field_id)
    field = customfields.custom_field_update(organization=organization, actor=user, field=field,
                                             **changes)  # fmt: skip
    field.refresh_from_db()
    return _out(field)
