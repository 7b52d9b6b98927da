"""The data of webhook messages: the API's own representations (deskbase.api.serialize).

Registered with deskbase.webhooks.payloads when the API app loads (every process), so
a webhook carries what a GET of the same object returns. Built in the write's
transaction, under its tenant.
"""

from __future__ import annotations

from typing import Any

from deskbase.api import serialize
from deskbase.core import events
from deskbase.webhooks import payloads


def _ticket(ticket: Any) -> dict[str, Any]:
    return serialize.ticket(ticket)


@payloads.register(
    events.TICKET_CREATED.name, events.TICKET_MERGED.name, events.TICKET_SOFT_DELETED.name,
    events.TICKET_RESTORED.name,
)  # fmt: skip
def ticket_event(event: events.Event) -> dict[str, Any]:
    data: dict[str, Any] = {"ticket": _ticket(event.instance)}
    if event.name == events.TICKET_MERGED.name:
        data["merged_into"] = event.changes["merged_into"][1]
    return data


@payloads.register(events.TICKET_UPDATED.name)
def ticket_updated(event: events.Event) -> dict[str, Any]:
    # The names of the fields that changed: their new values are in `ticket`.
    return {"ticket": _ticket(event.instance), "changed": sorted(event.changes)}


@payloads.register(events.COMMENT_ADDED.name)
def comment_added(event: events.Event) -> dict[str, Any]:
    comment = event.instance
    return {
        "ticket": _ticket(comment.ticket),
        "comment": {
            "id": comment.id, "kind": comment.kind, "author": serialize.person(comment.author),
            "body_text": comment.body_text, "body_html": comment.body_html,
            "created_at": comment.created_at,
        },
    }  # fmt: skip


@payloads.register(events.CSAT_RECORDED.name)
def csat_recorded(event: events.Event) -> dict[str, Any]:
    response = event.instance
    return {
        "ticket": _ticket(response.ticket),
        "csat": {"id": response.id, "rating": response.rating, "comment": response.comment,
                 "created_at": response.created_at},
    }  # fmt: skip


@payloads.register(events.SLA_AT_RISK.name, events.SLA_BREACHED.name)
def sla_alert(event: events.Event) -> dict[str, Any]:
    alert = event.instance
    return {
        "ticket": _ticket(alert.ticket),
        "sla": {"target": alert.target, "kind": alert.kind, "due_at": alert.due_at},
    }


@payloads.register(events.TICKET_SPLIT.name)
def ticket_split(event: events.Event) -> dict[str, Any]:
    # The new ticket; `split_from` is the number of the ticket whose comment it came from.
    return {"ticket": _ticket(event.instance), "split_from": event.changes["split_from"][1]}


@payloads.register(events.TICKET_LINK_ADDED.name, events.TICKET_LINK_REMOVED.name)
def ticket_link(event: events.Event) -> dict[str, Any]:
    # kind "parent": source is the parent of target; "related": either way.
    link = event.instance
    return {"link": {"id": link.pk, "kind": link.kind, "source": link.source.number,
                     "target": link.target.number}}  # fmt: skip


@payloads.register(
    events.TIME_ENTRY_ADDED.name, events.TIME_ENTRY_UPDATED.name, events.TIME_ENTRY_DELETED.name
)
def time_entry(event: events.Event) -> dict[str, Any]:
    entry = event.instance
    data: dict[str, Any] = {
        "time_entry": {
            "id": entry.pk, "ticket": entry.ticket.number, "user": entry.user_id,
            "minutes": entry.minutes, "note": entry.note, "billable": entry.billable,
            "worked_on": entry.worked_on,
        },
    }  # fmt: skip
    if event.name == events.TIME_ENTRY_UPDATED.name:
        data["changed"] = sorted(event.changes)
    return data


@payloads.register(
    events.COMPANY_CREATED.name, events.COMPANY_UPDATED.name, events.COMPANY_DELETED.name
)
def company(event: events.Event) -> dict[str, Any]:
    found = event.instance
    data: dict[str, Any] = {
        "company": {"id": found.pk, "name": found.name, "tier": found.tier, "notes": found.notes,
                    "custom_fields": found.custom_fields or {}},
    }  # fmt: skip
    if event.name == events.COMPANY_UPDATED.name:
        data["changed"] = sorted(event.changes)
    return data
