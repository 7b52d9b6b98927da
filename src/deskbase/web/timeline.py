"""The conversation of a ticket as one timeline: replies, notes, field changes, SLA clock.

Everything here is shown to people: field changes and SLA events read as sentences
("moved the ticket to the trash", "SLA breached: first response overdue"), never as
column, job or function names, and times are in the current (the organization's)
time zone.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from deskbase.sla.models import SlaEventKind
from deskbase.tickets.selectors import TicketDetail

# History fields worth showing; the rest (version, updated_at ...) is bookkeeping.
SHOWN_FIELDS = {
    "status", "priority", "assignee", "assignee_id", "team", "team_id", "category",
    "category_id", "subject", "tags", "merged_into", "merged_into_id", "deleted_at", "created",
    "link", "custom_fields",
}  # fmt: skip
# Id columns shown by name: each reads its names from the lookup of that kind.
NAMED = {"assignee_id": "people", "customer_id": "people", "team_id": "teams",
         "category_id": "categories", "merged_into_id": "tickets"}  # fmt: skip
# Rows copied from a merged ticket are named "merged #12: status" (tickets.services).
_ORIGIN = re.compile(r"#(\d+)$")


@dataclass
class Entry:
    kind: str  # public, internal, system, file, change, sla, mail_in, mail_out, rule
    at: datetime
    order: int
    actor: str = ""
    comment: Any = None
    files: list[Any] = field(default_factory=list)
    text: str = ""  # change: what the actor did; sla: the whole sentence
    mail: Any = None  # mail_in: the InboundMessage; mail_out: the OutboundMessage


def build(
    detail: TicketDetail, lookups: dict[str, dict[Any, str]], mail: Any = None,
    rules: list[tuple[datetime, str]] | None = None,
) -> list[Entry]:  # fmt: skip
    """Every event of the ticket in time order. Files are shown on their comment,
    or as entries of their own when attached to the ticket itself. `mail`
    (deskbase.mail.selectors.TicketMail) adds what came in, with the decision
    taken and why, and what went out, with its state."""
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
                  actor=_named(names, attachment.uploaded_by_id, ""), files=[attachment])
        )  # fmt: skip
    for change in detail.history:
        text = change_text(change.field, change.old_value, change.new_value, lookups)
        if text is None:
            continue
        entries.append(
            Entry(kind="change", at=change.created_at, order=2,
                  actor=names.get(change.actor_id, "deskbase") if change.actor_id else "deskbase",
                  text=text)
        )  # fmt: skip
    for event in detail.sla_events:
        entries.append(Entry(kind="sla", at=event.created_at, order=3, text=sla_text(event)))
    if mail is not None:
        entries.extend(mail_entries(mail))
    # What rules and macros did, and why (deskbase.automation.selectors.timeline_text).
    entries += [Entry(kind="rule", at=at, order=6, text=text) for at, text in rules or []]
    entries.sort(key=lambda e: (e.at, e.order))
    return entries


def mail_entries(mail: Any) -> list[Entry]:
    """Inbound mail as "mail_in" entries (the decision is the text), outbound as
    "mail_out" (what was sent to whom, and how it ended)."""
    entries = [
        Entry(kind="mail_in", at=m.received_at, order=4, actor=m.sender or "unknown sender",
              mail=m, text=m.decision or "Received.")
        for m in mail.inbound
    ]  # fmt: skip
    entries += [
        Entry(kind="mail_out", at=m.sent_at or m.created_at, order=5, mail=m,
              text=outbound_text(m))
        for m in mail.outbound
    ]  # fmt: skip
    return entries


OUTBOUND_STATES = {"queued": "waiting to be sent", "sent": "sent", "failed": "failed",
                   "suppressed": "not sent"}  # fmt: skip


def outbound_text(message: Any) -> str:
    """ "Agent reply to ann@example.com: failed (550 5.1.1 No such user)"; a bounce says so."""
    to = ", ".join([*message.to_addresses, *message.cc_addresses]) or "nobody"
    state = OUTBOUND_STATES.get(message.state, message.state)
    if message.state == "failed" and message.bounce_id:
        state = "bounced"
    text = f"{message.get_kind_display()} to {to}: {state}"
    return f"{text} ({message.error})" if message.error else text


def change_text(
    name: str, old: str | None, new: str | None, lookups: dict[str, dict[Any, str]]
) -> str | None:
    """What a history row says the actor did, or None when it is not worth showing."""
    prefix, _, column = name.rpartition(": ")
    if column not in SHOWN_FIELDS:
        return None
    origin = _ORIGIN.search(prefix)
    of = f" of #{origin.group(1)}" if origin else ""
    if column == "created":
        return f"opened ticket #{origin.group(1)}" if origin else "opened the ticket"
    if column == "deleted_at":
        action = "moved {} to the trash" if new else "restored {} from the trash"
        return action.format(f"ticket #{origin.group(1)}" if origin else "the ticket")
    if column == "link":  # tickets.links: "parent of #12", "related to #9"
        return f"linked this ticket: {new}" if new else f"removed the link: {old}"
    if column == "custom_fields":
        return _custom_fields_text(old, new, lookups.get("fields", {}), of)
    if column in NAMED:
        table = lookups.get(NAMED[column], {})
        old, new = _named(table, _int(old), old), _named(table, _int(new), new)
    if column in ("merged_into", "merged_into_id"):
        return f"merged {'this ticket' if not origin else f'#{origin.group(1)}'} into {new}"
    if column == "tags":
        old, new = _tag_list(old), _tag_list(new)
    label = column.removesuffix("_id").replace("_", " ")
    return f"changed {label}{of}: {old or '—'} → {new or '—'}"


def _custom_fields_text(old: str | None, new: str | None, labels: dict[Any, str], of: str) -> str:
    """ "changed Plan: free → pro; VIP: — → yes" (the custom fields that differ, by label)."""
    before, after = _object(old), _object(new)
    parts = []
    for key in sorted(set(before) | set(after), key=lambda k: labels.get(k, k)):
        if before.get(key) != after.get(key):
            label = labels.get(key, key)
            parts.append(f"{label}: {_value(before.get(key))} → {_value(after.get(key))}")
    return f"changed {'; '.join(parts) or 'custom fields'}{of}"


def _object(value: str | None) -> dict[str, Any]:
    try:
        found = json.loads(value) if value else {}
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


TARGET_WORDS = {"first_response": "first response", "resolution": "resolution"}


def sla_text(event: Any) -> str:
    """One SLA event as a sentence. Reasons written by the system (the periodic breach
    check, the late-reply note) are not shown: kind, target and due time say it all."""
    target = TARGET_WORDS.get(event.target, "")
    due = f"due {_when(event.due_at)}" if event.due_at else ""
    if event.kind == SlaEventKind.BREACHED:
        text = f"SLA breached: {target or 'target'} overdue"
        return f"{text} (was {due})" if due else text
    if event.kind == SlaEventKind.MET:
        return f"SLA met: {target or 'target'} in time" + (f" ({due})" if due else "")
    if event.kind == SlaEventKind.PAUSED:
        return "SLA paused" + (f": {event.reason}" if event.reason else "")
    if event.kind == SlaEventKind.RESUMED:
        return "SLA resumed" + (f": {target} now {due}" if target and due else "")
    if event.kind == SlaEventKind.STARTED:
        return f"SLA started: {target} {due}".rstrip() if target else "SLA started"
    # Recomputed after a change of priority or customer tier (the reason says which).
    because = f" ({event.reason})" if event.reason else ""
    if not target:
        return f"SLA recomputed{because}"
    return f"SLA recomputed: {target} {due or 'has no due time any more'}{because}"


def _when(moment: datetime) -> str:
    """A due time in the current time zone, with the zone's abbreviation (CET, UTC)."""
    local = timezone.localtime(moment)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def _tag_list(value: str | None) -> str:
    """Tags as the history keeps them (a JSON list) as people write them: "vpn, network"."""
    try:
        tags = json.loads(value) if value else []
    except ValueError:
        return value or ""
    return ", ".join(str(tag) for tag in tags) if isinstance(tags, list) else str(tags)


def _named[T](names: dict[int, str], key: int | None, default: T) -> str | T:
    """The name of the row with id `key`, else `default`."""
    return default if key is None else names.get(key, default)


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None
