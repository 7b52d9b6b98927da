"""Models to the API's JSON shapes, by plain attribute access.

The hot reads (a ticket's detail, the list) build their answers here instead of
having each object, and each nested object, validated against its schema again:
the fields are the schemas' (`deskbase.api.schemas`), and the API's tests and
the schemathesis run check that the answers conform.
"""

from __future__ import annotations

from typing import Any

from deskbase.accounts.models import User
from deskbase.tickets.selectors import TicketDetail


def person(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.id, "full_name": user.full_name, "email": user.email}


def named(obj: Any) -> dict[str, Any] | None:
    return None if obj is None else {"id": obj.id, "name": obj.name}


def ticket(t: Any) -> dict[str, Any]:
    """TicketOut."""
    return {
        "number": t.number, "subject": t.subject, "status": t.status, "priority": t.priority,
        "channel": t.channel, "tags": list(t.tags), "custom_fields": t.custom_fields,
        "customer": person(t.customer), "assignee": person(t.assignee),
        "team": named(t.team), "category": named(t.category),
        "first_response_due_at": t.first_response_due_at,
        "resolution_due_at": t.resolution_due_at, "sla_breach": t.sla_breach,
        "first_response_at": t.first_response_at, "resolved_at": t.resolved_at,
        "closed_at": t.closed_at, "satisfaction": t.satisfaction,
        "created_at": t.created_at, "updated_at": t.updated_at, "version": t.version,
    }  # fmt: skip


def ticket_detail(detail: TicketDetail) -> dict[str, Any]:
    """TicketDetailOut."""
    t = detail.ticket
    return {
        **ticket(t),
        "description": t.description,
        "description_html": t.description_html,
        "merged_into_number": getattr(t, "merged_into_number", None),
        "comments": [
            {"id": c.id, "kind": c.kind, "author": person(c.author), "body_text": c.body_text,
             "body_html": c.body_html, "created_at": c.created_at}
            for c in detail.comments
        ],
        "attachments": [
            {"id": a.id, "file_name": a.file_name, "content_type": a.content_type,
             "size": a.size, "created_at": a.created_at}
            for a in detail.attachments
        ],
        "history": [
            {"field": h.field, "old_value": h.old_value, "new_value": h.new_value,
             "actor_id": h.actor_id, "created_at": h.created_at}
            for h in detail.history
        ],
        "sla_events": [
            {"kind": e.kind, "target": e.target, "due_at": e.due_at, "reason": e.reason,
             "created_at": e.created_at}
            for e in detail.sla_events
        ],
    }  # fmt: skip
