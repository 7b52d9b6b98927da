"""Domain events to agent notifications, in the write's transaction (`after` phase)."""

from __future__ import annotations

from deskbase.accounts.models import STAFF_ROLES
from deskbase.core import events
from deskbase.notifications import mentions
from deskbase.notifications.models import Reason
from deskbase.notifications.services import Notice, notify, notify_many
from deskbase.tickets.models import ACTIVE_STATUSES, CommentKind, Status

CLOSED = (Status.RESOLVED.value, Status.CLOSED.value)
ACTIVE = tuple(s.value for s in ACTIVE_STATUSES)


def _id(value: object) -> object:
    return getattr(value, "pk", value)


@events.subscribe(events.TICKET_CREATED, "after")
def on_ticket_created(event: events.Event) -> None:
    ticket = event.instance
    reached: list[int] = []
    if ticket.assignee_id:
        reached = notify(organization_id=event.organization_id, ticket_id=ticket.pk,
                         reason=Reason.ASSIGNED, actor_id=event.actor_id,
                         event_ref="created", direct=[ticket.assignee_id]).recipients  # fmt: skip
    notify(organization_id=event.organization_id, ticket_id=ticket.pk, reason=Reason.NEW_TICKET,
           actor_id=event.actor_id, event_ref="created", skip=reached)  # fmt: skip


def _on_tickets_updated(group: list[events.Event]) -> None:
    """on_ticket_updated for the events of tickets written together (a bulk chunk),
    a statement per reason instead of per ticket."""
    if not group:
        return
    org = group[0].organization_id
    assigned = [
        (
            event,
            Notice(
                event.instance.pk,
                Reason.ASSIGNED,
                event.actor_id,
                f"v{event.instance.version}",
                direct=[new],
            ),
        )
        for event in group
        if "assignee" in event.changes and isinstance(new := _id(event.changes["assignee"][1]), int)
    ]
    reached: dict[int, list[int]] = {}
    if assigned:
        done = notify_many(organization_id=org, notices=[n for _, n in assigned])
        reached = {id(e): r.recipients for (e, _), r in zip(assigned, done, strict=True)}
    reopened = [
        Notice(
            event.instance.pk,
            Reason.REOPENED,
            event.actor_id,
            f"v{event.instance.version}",
            skip=reached.get(id(event), []),
        )
        for event in group
        if "status" in event.changes
        and event.changes["status"][0] in CLOSED
        and event.changes["status"][1] in ACTIVE
    ]
    if reopened:
        notify_many(organization_id=org, notices=reopened)


@events.subscribe(events.TICKET_UPDATED, "after")
@events.for_many(_on_tickets_updated)
def on_ticket_updated(event: events.Event) -> None:
    ticket = event.instance
    ref = f"v{ticket.version}"
    reached: list[int] = []
    if "assignee" in event.changes:
        new = _id(event.changes["assignee"][1])
        if isinstance(new, int):
            reached = notify(organization_id=event.organization_id, ticket_id=ticket.pk,
                             reason=Reason.ASSIGNED, actor_id=event.actor_id, event_ref=ref,
                             direct=[new]).recipients  # fmt: skip
    if "status" in event.changes:
        old, new = event.changes["status"]
        if old in CLOSED and new in ACTIVE:
            notify(organization_id=event.organization_id, ticket_id=ticket.pk,
                   reason=Reason.REOPENED, actor_id=event.actor_id, event_ref=ref,
                   skip=reached)  # fmt: skip


@events.subscribe(events.COMMENT_ADDED, "after")
def on_comment_added(event: events.Event) -> None:
    comment = event.instance
    author = comment.author
    if author is None:
        return
    ref = f"c{comment.pk}"
    if comment.kind == CommentKind.PUBLIC and author.role not in STAFF_ROLES:
        notify(organization_id=event.organization_id, ticket_id=comment.ticket_id,
               reason=Reason.CUSTOMER_REPLIED, actor_id=event.actor_id or author.pk,
               event_ref=ref)  # fmt: skip
    elif comment.kind == CommentKind.INTERNAL:
        named = mentions.mentioned_agents(event.organization_id, comment.body_text)
        if named:
            notify(organization_id=event.organization_id, ticket_id=comment.ticket_id,
                   reason=Reason.MENTIONED, actor_id=event.actor_id or author.pk,
                   event_ref=ref, direct=named)  # fmt: skip


def _on_sla_alert(event: events.Event) -> None:
    alert = event.instance
    reason = Reason.SLA_BREACHED if event.name == events.SLA_BREACHED.name else Reason.SLA_AT_RISK
    notify(organization_id=event.organization_id, ticket_id=alert.ticket_id, reason=reason,
           actor_id=None, event_ref=f"a{alert.pk}")  # fmt: skip


events.subscribe(events.SLA_AT_RISK, "after")(_on_sla_alert)
events.subscribe(events.SLA_BREACHED, "after")(_on_sla_alert)
