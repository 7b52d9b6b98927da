"""The conversation of a ticket as one timeline: replies, notes, field changes, SLA clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from deskbase.tickets.selectors import TicketDetail

# History fields worth showing; the rest (version, updated_at ...) is bookkeeping.
SHOWN_FIELDS = {
    "status", "priority", "assignee", "assignee_id", "team", "team_id", "category",
    "category_id", "subject", "tags", "merged_into", "merged_into_id", "deleted_at", "created",
}  # fmt: skip
# Id columns shown by name: each reads its names from the lookup of that kind.
NAMED = {"assignee_id": "people", "customer_id": "people", "team_id": "teams",
         "category_id": "categories"}  # fmt: skip


@dataclass
class Entry:
    kind: str  # public, internal, system, change, sla
    at: datetime
    order: int
    actor: str = ""
    comment: Any = None
    files: list[Any] = field(default_factory=list)
    text: str = ""


def build(detail: TicketDetail, lookups: dict[str, dict[int, str]]) -> list[Entry]:
    """Every event of the ticket in time order. Files are shown on their comment,
    or as entries of their own when attached to the ticket itself."""
    names = lookups.get("people", {})
    files_by_comment: dict[int, list[Any]] = {}
    loose = []
    for attachment in detail.attachments:
        if attachment.comment_id is not None:
            files_by_comment.setdefault(attachment.comment_id, []).append(attachment)
        else:
            loose.append(attachment)
    entries: list[Entry] = []
    for comment in detail.comments:
        author = comment.author
        entries.append(
            Entry(
                kind=comment.kind, at=comment.created_at, order=0,
                actor=(author.full_name or author.email) if author else "deskbase",
                comment=comment, files=files_by_comment.get(comment.id, []),
            )
        )  # fmt: skip
    for attachment in loose:
        entries.append(
            Entry(kind="file", at=attachment.created_at, order=1,
                  actor=names.get(attachment.uploaded_by_id, ""), files=[attachment])
        )  # fmt: skip
    for change in detail.history:
        name = change.field.split(": ")[-1]
        if name not in SHOWN_FIELDS:
            continue
        old, new = change.old_value, change.new_value
        if name in NAMED:
            table = lookups.get(NAMED[name], {})
            old, new = table.get(_int(old), old), table.get(_int(new), new)
        label = change.field.removesuffix("_id").replace("_", " ")
        text = f"{label}: {old or '—'} → {new or '—'}"
        if name == "created":
            text = "opened the ticket"
        entries.append(
            Entry(kind="change", at=change.created_at, order=2,
                  actor=names.get(change.actor_id, "deskbase") if change.actor_id else "deskbase",
                  text=text)
        )  # fmt: skip
    for event in detail.sla_events:
        parts = [event.get_kind_display()]
        if event.target:
            parts.append(event.get_target_display().lower())
        if event.due_at:
            parts.append(f"due {event.due_at:%Y-%m-%d %H:%M} UTC")
        if event.reason:
            parts.append(f"({event.reason})")
        entries.append(Entry(kind="sla", at=event.created_at, order=3, text=" ".join(parts)))
    entries.sort(key=lambda e: (e.at, e.order))
    return entries


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None
