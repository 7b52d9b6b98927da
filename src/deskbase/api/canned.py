"""/api/v1/canned-responses: reusable replies (staff only).

Every agent uses the shared responses and their own personal ones; admins and
managers manage the shared ones, each agent their personal ones. Someone else's
personal response, like another tenant's, is a 404. Customers get a 403.
"""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Router, Schema, Status

from deskbase import cached
from deskbase.accounts.requests import ApiRequest
from deskbase.api.schemas import ERRORS
from deskbase.api.tickets import Strict
from deskbase.core.errors import ValidationFailed
from deskbase.tickets import canned
from deskbase.tickets.access import access_ticket_reference, caller_organization
from deskbase.tickets.models import CannedResponse
from deskbase.tickets.permissions import ensure_staff

router = Router(tags=["canned responses"])


class CannedOut(Schema):
    id: int
    name: str
    body: str
    shared: bool
    owner_id: int | None
    usage_count: int
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_shared(obj: CannedResponse) -> bool:
        return obj.owner_id is None


class CannedIn(Strict):
    name: str = Field(..., min_length=1, max_length=120)
    body: str = Field(..., min_length=1, max_length=100_000)
    personal: bool = Field(False, description="Yours only; shared ones need a manager or admin.")


class CannedPatch(Strict):
    name: str | None = Field(None, min_length=1, max_length=120)
    body: str | None = Field(None, min_length=1, max_length=100_000)


class RenderIn(Strict):
    ticket: int = Field(..., description="number of the ticket whose values fill the body")


class RenderOut(Schema):
    body: str = Field(..., description="plain text: send it as a text comment, not HTML")


def _reference(user, canned_id: int) -> CannedResponse:
    # Only the id: each service reads the row as stored now and answers 404 for a
    # response the caller may not use (someone else's personal one, another tenant's).
    return CannedResponse(pk=canned_id, organization_id=user.organization_id)


@router.get("/canned-responses", response={200: list[CannedOut], **ERRORS})
def list_canned(request: ApiRequest):
    """The shared responses and the caller's personal ones, by name."""
    user = request.auth
    return canned.canned_responses_for(organization=caller_organization(user), actor=user)


@router.post("/canned-responses", response={201: CannedOut, **ERRORS})
def create_canned(request: ApiRequest, payload: CannedIn):
    """A shared response (admins, managers) or a personal one (`personal: true`, any staff)."""
    user = request.auth
    created = canned.canned_response_create(
        organization=caller_organization(user), actor=user, name=payload.name, body=payload.body,
        personal=payload.personal,
    )  # fmt: skip
    return Status(201, created)


@router.patch("/canned-responses/{canned_id}", response={200: CannedOut, **ERRORS})
def update_canned(request: ApiRequest, canned_id: int, payload: CannedPatch):
    user = request.auth
    changes = payload.dict(exclude_unset=True)
    for field, value in changes.items():
        if value is None:
            raise ValidationFailed.one(field, f"{field} cannot be null.")
    return canned.canned_response_update(
        organization=caller_organization(user), actor=user, canned=_reference(user, canned_id),
        **changes,
    )  # fmt: skip


@router.delete("/canned-responses/{canned_id}", response={204: None, **ERRORS})
def delete_canned(request: ApiRequest, canned_id: int):
    user = request.auth
    canned.canned_response_delete(
        organization=caller_organization(user), actor=user, canned=_reference(user, canned_id)
    )
    return Status(204, None)


@router.post("/canned-responses/{canned_id}/render", response={200: RenderOut, **ERRORS})
def render_canned(request: ApiRequest, canned_id: int, payload: RenderIn):
    """The body with the ticket's values filled in; counts a use."""
    user = request.auth
    ensure_staff(user, "use canned responses")
    ticket = access_ticket_reference(user, payload.ticket, field="ticket")
    # The whole row, cached: {{ organization.name }} needs its name.
    organization = cached.organization_settings(user.tenant_id)
    body = canned.canned_response_render(
        organization=organization, actor=user, canned=_reference(user, canned_id),
        ticket=ticket,
    )  # fmt: skip
    return {"body": body}
