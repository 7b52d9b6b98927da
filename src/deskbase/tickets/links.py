"""Links between tickets (parent/child, related) and splitting a comment off.

The rules are the database's (models.TicketLink, migration 0010): no self link,
one link per pair, same organization, one parent each, no cycle of parents. The
services check what they can first, for a clear message, and leave the races to
the constraints and the trigger (whose violations tenant_atomic maps to `target`).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q
from django.utils.translation import gettext

from deskbase.accounts.models import User
from deskbase.core import events
from deskbase.core.errors import NotFound, ValidationFailed
from deskbase.core.sanitize import text_to_html
from deskbase.core.tenancy import tenant, tenant_atomic
from deskbase.organizations.models import Organization
from deskbase.tickets import services
from deskbase.tickets.locks import lock_tickets
from deskbase.tickets.models import (
    CommentKind,
    LinkKind,
    Ticket,
    TicketAttachment,
    TicketComment,
    TicketHistory,
    TicketLink,
)
from deskbase.tickets.permissions import ensure_staff

# How a link reads from each end: (kind, this ticket is the source) -> words.
ROLES: dict[tuple[str, bool], str] = {
    (LinkKind.PARENT, True): "parent of",
    (LinkKind.PARENT, False): "child of",
    (LinkKind.RELATED, True): "related to",
    (LinkKind.RELATED, False): "related to",
}
# What the caller asks for, from the ticket they are on.
RELATIONS = ("child", "parent", "related")


def _history(organization: Organization, actor: User, ticket: Ticket, old: str | None,
             new: str | None) -> None:  # fmt: skip
    TicketHistory.objects.create(organization=organization, ticket=ticket, actor=actor,
                                 field="link", old_value=old, new_value=new)  # fmt: skip


@tenant_atomic
def link_add(
    *, organization: Organization, actor: User, ticket: Ticket, other: Ticket, relation: str
) -> TicketLink:
    """Link `ticket` to `other`: `other` becomes its child, its parent, or related to it."""
    ensure_staff(actor, gettext("link tickets"))
    if relation not in RELATIONS:
        raise ValidationFailed.one(
            "relation",
            gettext("Relation is one of %(choices)s.") % {"choices": ", ".join(RELATIONS)},
        )
    if other.organization_id != organization.id or ticket.organization_id != organization.id:
        raise NotFound(gettext("no such ticket"), field="ticket")
    if other.id == ticket.id:
        raise ValidationFailed.one("target", gettext("A ticket cannot be linked to itself."))
    locked = lock_tickets([ticket.id, other.id])
    here, there = locked[ticket.id], locked[other.id]
    if relation == "parent":
        source, target, kind = there, here, LinkKind.PARENT
    elif relation == "child":
        source, target, kind = here, there, LinkKind.PARENT
    else:  # one row per pair: the lower id is the source
        source, target = sorted((here, there), key=lambda t: t.id)
        kind = LinkKind.RELATED
    link = TicketLink(organization=organization, source=source, target=target, kind=kind,
                      created_by=actor)  # fmt: skip
    with events.announce(events.TICKET_LINK_ADDED, organization, actor, link):
        link.save(force_insert=True)
        _history(organization, actor, source, None, f"{ROLES[kind, True]} #{target.number}")
        _history(organization, actor, target, None, f"{ROLES[kind, False]} #{source.number}")
    return link


@tenant_atomic
def link_remove(*, organization: Organization, actor: User, ticket: Ticket, link_id: int) -> None:
    ensure_staff(actor, gettext("unlink tickets"))
    link = (
        TicketLink.objects.select_related("source", "target")
        .filter(Q(source=ticket) | Q(target=ticket), organization=organization, pk=link_id)
        .first()
    )
    if link is None:
        raise NotFound(
            gettext("no link %(link_id)s on ticket #%(number)s")
            % {"link_id": link_id, "number": ticket.number},
            field="link_id",
        )
    source, target = link.source, link.target
    with events.announce(events.TICKET_LINK_REMOVED, organization, actor, link):
        link.delete()
        link.pk = link_id  # the event names the link that was removed
        _history(organization, actor, source, f"{ROLES[link.kind, True]} #{target.number}", None)
        _history(organization, actor, target, f"{ROLES[link.kind, False]} #{source.number}", None)


@dataclass(frozen=True)
class LinkView:
    """A link as seen from one ticket: the other ticket and how it relates."""

    id: int
    relation: str  # from this ticket: "parent of", "child of", "related to"
    ticket: Ticket  # the other end


def ticket_links(*, organization: Organization, actor: User, ticket: Ticket) -> list[LinkView]:
    """The ticket's links, both directions, with the other ticket. Budget: 1 query."""
    ensure_staff(actor, gettext("see ticket links"))
    with tenant(organization, actor, savepoint=False):
        rows = list(
            TicketLink.objects.filter(Q(source=ticket) | Q(target=ticket),
                                      organization=organization)
            .select_related("source", "target").order_by("kind", "id")
        )  # fmt: skip
    views = []
    for link in rows:
        outgoing = link.source_id == ticket.id
        other = link.target if outgoing else link.source
        views.append(LinkView(link.id, ROLES[LinkKind(link.kind), outgoing], other))
    return views


@tenant_atomic
def ticket_split(
    *, organization: Organization, actor: User, ticket: Ticket, comment_id: int, subject: str = ""
) -> Ticket:
    """A comment of `ticket` becomes a new ticket of the same customer, related to it.

    The new ticket's description is the comment; the comment's files are referenced
    by the new ticket (the bytes are stored once); both tickets get a note and a
    history row. The comment stays where it was.
    """
    ensure_staff(actor, gettext("split tickets"))
    comment = (
        TicketComment.objects.filter(organization=organization, ticket=ticket, pk=comment_id)
        .exclude(kind=CommentKind.SYSTEM).first()
    )  # fmt: skip
    if comment is None:
        raise NotFound(
            gettext("no comment %(comment_id)s on ticket #%(number)s")
            % {"comment_id": comment_id, "number": ticket.number},
            field="comment_id",
        )
    internal = comment.kind == CommentKind.INTERNAL
    new = services.ticket_create(
        organization=organization, actor=actor,
        subject=(subject or "").strip() or f"{ticket.subject} (split from #{ticket.number})",
        description=comment.body_html, description_is_html=True, customer=ticket.customer,
        priority=ticket.priority, channel=ticket.channel, category=ticket.category,
        team=ticket.team,
    )  # fmt: skip
    files = list(TicketAttachment.objects.filter(comment=comment).order_by("id"))
    TicketAttachment.objects.bulk_create([
        TicketAttachment(organization=organization, ticket=new, uploaded_by_id=f.uploaded_by_id,
                         file_name=f.file_name, content_type=f.content_type, size=f.size,
                         sha256=f.sha256)
        for f in files
    ])  # fmt: skip
    link_add(organization=organization, actor=actor, ticket=ticket, other=new, relation="related")
    note_kind = CommentKind.INTERNAL if internal else CommentKind.SYSTEM
    # The new ticket, its files and its link announced themselves; the split is the notes.
    with events.announce(events.TICKET_SPLIT, organization, actor, new,
                         split_from=(None, ticket.number)):  # fmt: skip
        for on, text in (
            (ticket, f"A comment was split off into ticket #{new.number}."),
            (new, f"Split off from a comment on ticket #{ticket.number}."),
        ):
            TicketComment.objects.create(
                organization=organization, ticket=on, author=actor if internal else None,
                kind=note_kind, body_text=text, body_html=text_to_html(text),
            )  # fmt: skip
    return new
