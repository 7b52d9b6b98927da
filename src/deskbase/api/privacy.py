"""/api/v1/privacy: personal data exports and erasure, retention (admins; docs/privacy.md),
and /api/v1/account/sessions: one's own browser sessions (docs/identity.md)."""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Router, Schema, Status

from deskbase.accounts import session_control
from deskbase.accounts.models import UserSession
from deskbase.accounts.requests import ApiRequest
from deskbase.api.schemas import ERRORS
from deskbase.api.tickets import Strict
from deskbase.core.downloads import download_response
from deskbase.core.tenancy import tenant
from deskbase.privacy import selectors, services
from deskbase.privacy.models import MAX_RETENTION_MONTHS, MIN_RETENTION_MONTHS
from deskbase.tickets.access import caller_organization

router = Router(tags=["privacy"])
sessions_router = Router(tags=["account"])


class DataExportOut(Schema):
    id: int
    subject_id: int
    requested_by_id: int | None
    state: str
    progress: int
    total: int
    error: str
    size: int | None
    created_at: datetime
    finished_at: datetime | None
    expires_at: datetime | None


class EraseIn(Strict):
    confirm: str = Field(..., min_length=1, max_length=254,
                         description="the customer's e-mail address, typed to confirm")  # fmt: skip


class ErasedOut(Schema):
    user_id: int
    tickets: int
    comments: int
    attachments: int
    mail_messages: int
    cc: int
    searches: int
    kb_feedback: int


class RetentionIn(Strict):
    closed_ticket_months: int | None = Field(
        ..., ge=MIN_RETENTION_MONTHS, le=MAX_RETENTION_MONTHS,
        description="purge closed tickets this many months after closing; null: never",
    )  # fmt: skip


class RetentionOut(Schema):
    closed_ticket_months: int | None


class SessionOut(Schema):
    id: int
    device: str
    address: str | None
    started_at: datetime
    last_seen_at: datetime
    current: bool


class EndedOut(Schema):
    ended: int


# ------------------------------------------------------------------ exports
@router.get("/customers/{user_id}/exports", response={200: list[DataExportOut], **ERRORS})
def list_exports(request: ApiRequest, user_id: int):
    """The person's exports, newest first (admins)."""
    user = request.auth
    return selectors.exports_of(organization=caller_organization(user), actor=user,
                                user_id=user_id)  # fmt: skip


@router.post("/customers/{user_id}/exports", response={202: DataExportOut, **ERRORS})
def request_export(request: ApiRequest, user_id: int):
    """Queue an export of everything about the person; poll it until `ready` (admins)."""
    user = request.auth
    export = services.export_request(organization=caller_organization(user), actor=user,
                                     user_id=user_id, request=request)  # fmt: skip
    return Status(202, export)


@router.get("/exports/{export_id}", response={200: DataExportOut, **ERRORS})
def get_export(request: ApiRequest, export_id: int):
    user = request.auth
    return selectors.export_get(organization=caller_organization(user), actor=user,
                                export_id=export_id)  # fmt: skip


@router.get(
    "/exports/{export_id}/download",
    response={200: None, **ERRORS},
    openapi_extra={"responses": {"200": {"description": "The ZIP file", "content": {
        "application/zip": {"schema": {"type": "string", "format": "binary"}}}}}},
)  # fmt: skip
def download_export(request: ApiRequest, export_id: int):
    """The export's ZIP (admins, while it is ready); each download is audited."""
    user = request.auth
    export, handle = selectors.export_open(organization=caller_organization(user), actor=user,
                                           export_id=export_id, request=request)  # fmt: skip
    return download_response(
        handle, content_type="application/zip", file_name=selectors.download_name(export)
    )


# ------------------------------------------------------------------ erasure
@router.post("/customers/{user_id}/erase", response={200: ErasedOut, **ERRORS})
def erase_customer(request: ApiRequest, user_id: int, payload: EraseIn):
    """Anonymize a customer and redact what they wrote; staff are refused (admins)."""
    user = request.auth
    counts = services.customer_erase(organization=caller_organization(user), actor=user,
                                     user_id=user_id, confirm=payload.confirm,
                                     request=request)  # fmt: skip
    return {"user_id": user_id, **counts}


# ------------------------------------------------------------------ retention
@router.get("/retention", response={200: RetentionOut, **ERRORS})
def get_retention(request: ApiRequest):
    user = request.auth
    months = selectors.retention_of(organization=caller_organization(user), actor=user)
    return {"closed_ticket_months": months}


@router.put("/retention", response={200: RetentionOut, **ERRORS})
def set_retention(request: ApiRequest, payload: RetentionIn):
    user = request.auth
    policy = services.retention_set(organization=caller_organization(user), actor=user,
                                    closed_ticket_months=payload.closed_ticket_months,
                                    request=request)  # fmt: skip
    return {"closed_ticket_months": policy.closed_ticket_months}


# ------------------------------------------------------------------ sessions
def _session_out(row: UserSession, current: int | None) -> dict:
    return {"id": row.id, "device": session_control.device_name(row.user_agent),
            "address": row.address, "started_at": row.started_at,
            "last_seen_at": row.last_seen_at, "current": row.id == current}  # fmt: skip


@sessions_router.get("/account/sessions", response={200: list[SessionOut], **ERRORS})
def list_sessions(request: ApiRequest):
    """The caller's open browser sessions, most recently seen first."""
    user = request.auth
    rows = session_control.open_sessions(organization_id=user.tenant_id, user_id=user.id)
    current = session_control.current_session_id(request)
    return [_session_out(row, current) for row in rows]


@sessions_router.delete("/account/sessions/{session_id}", response={204: None, **ERRORS})
def end_session(request: ApiRequest, session_id: int):
    """End one session: one's own; admins anyone's, managers agents' and customers'."""
    user = request.auth
    session_control.session_end(organization=caller_organization(user), actor=user,
                                session_id=session_id, request=request)  # fmt: skip
    return Status(204, None)


@sessions_router.delete("/users/{user_id}/sessions", response={200: EndedOut, **ERRORS})
def end_sessions_of(request: ApiRequest, user_id: int):
    """End every session of a person (admins; managers for agents and customers)."""
    from deskbase.accounts.models import User
    from deskbase.core.errors import NotFound

    actor = request.auth
    organization = caller_organization(actor)
    with tenant(organization, actor):
        person = User.objects.filter(organization_id=organization.id, id=user_id).first()
    if person is None:
        raise NotFound("No such person.", field="user")
    ended = session_control.sessions_end_for(organization=organization, actor=actor,
                                             user=person, request=request)  # fmt: skip
    return {"ended": ended}
