"""/api/v1/audit: the organization's audit log, for admins (docs/identity.md).

Newest first, a keyset page at a time; `next_cursor` is `<created_at>|<id>` of the
last entry. Entries are never changed: the database refuses it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils.dateparse import parse_datetime
from ninja import Field, Query, Router, Schema

from deskbase.accounts import audit_log
from deskbase.accounts.models import AuditAction
from deskbase.accounts.requests import ApiRequest
from deskbase.api.schemas import ERRORS
from deskbase.api.tickets import UtcDatetime
from deskbase.core.errors import ValidationFailed

router = Router(tags=["audit"])


class AuditEntryOut(Schema):
    id: int
    created_at: datetime
    action: str
    actor_id: int | None
    actor_email: str | None
    subject_id: int | None
    subject_email: str | None
    address: str | None
    user_agent: str
    detail: dict[str, Any]


class AuditPage(Schema):
    items: list[AuditEntryOut]
    next_cursor: str | None = Field(None, description="pass as `cursor` for the next page")


class AuditQuery(Schema):
    action: str | None = Field(None, max_length=32, description=", ".join(AuditAction.values))
    person_id: int | None = Field(None, ge=1, description="as actor or subject")
    since: UtcDatetime | None = None
    until: UtcDatetime | None = None
    cursor: str | None = Field(None, max_length=64)
    limit: int = Field(50, ge=1, le=200)


def _cursor(raw: str | None) -> tuple[datetime, int] | None:
    if not raw:
        return None
    at, _, entry_id = raw.partition("|")
    when = parse_datetime(at) if entry_id.isdigit() else None
    if when is None:
        raise ValidationFailed.one("cursor", "Pass the next_cursor of the previous page.")
    return when, int(entry_id)


@router.get("/audit", response={200: AuditPage, **ERRORS})
def list_audit(request: ApiRequest, query: Query[AuditQuery]):
    """Audit entries of the caller's organization (admins). Two queries."""
    filters = audit_log.Filters(
        action=query.action or "", person=query.person_id, since=query.since, until=query.until
    )
    entries, names, next_key = audit_log.audit_page(
        actor=request.auth, filters=filters, before=_cursor(query.cursor), limit=query.limit
    )
    items = [
        {"id": e.id, "created_at": e.created_at, "action": e.action, "actor_id": e.actor_id,
         "actor_email": names.get(e.actor_id or 0), "subject_id": e.subject_id,
         "subject_email": names.get(e.subject_id or 0), "address": e.address,
         "user_agent": e.user_agent, "detail": e.detail}
        for e in entries
    ]  # fmt: skip
    cursor = f"{next_key[0].isoformat()}|{next_key[1]}" if next_key else None
    return {"items": items, "next_cursor": cursor}
