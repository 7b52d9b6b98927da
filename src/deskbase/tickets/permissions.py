"""Who may do what with a ticket. Tenant isolation itself is PostgreSQL's job (RLS);
these rules separate roles inside one tenant.

The services enforce these rules; the pages ask the same functions what to offer
(`ticket_actions`), so a button is shown exactly when the act would be accepted.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext

from deskbase.accounts.models import STAFF_ROLES, User
from deskbase.core.errors import NotFound, PermissionDenied
from deskbase.tickets.models import TRANSITIONS, Status, Ticket

ENDED = (Status.CLOSED, Status.CANCELLED)


def is_staff_member(user: User) -> bool:
    return user.role in STAFF_ROLES


def can_view_ticket(user: User, ticket: Ticket) -> bool:
    if user.organization_id != ticket.organization_id:
        return False
    return is_staff_member(user) or ticket.customer_id == user.id


def ensure_can_view_ticket(user: User, ticket: Ticket) -> None:
    """A ticket the actor may not see is reported as absent, not as forbidden: with the
    very words of a number that exists nowhere (selectors.ticket_detail), so that the
    answer does not tell another customer's ticket from a missing one."""
    if not can_view_ticket(user, ticket):
        raise NotFound(gettext("no ticket #%(number)s") % {"number": ticket.number}, field="number")


def ensure_staff(user: User, action: str) -> None:
    if not is_staff_member(user):
        raise PermissionDenied(
            gettext("only agents, managers and admins may %(action)s") % {"action": action}
        )


def takes_replies(ticket: Ticket) -> bool:
    """A closed or cancelled ticket takes no more replies or files: a new ticket does."""
    return ticket.status not in ENDED


def customer_may_set_status(ticket: Ticket, status: str) -> bool:
    """Customers may close their ticket, or reopen it once resolved."""
    return status == Status.CLOSED or (ticket.status == Status.RESOLVED and status == Status.OPEN)


def may_set_status(user: User, ticket: Ticket, status: str) -> bool:
    """A change of status the ticket's state allows and the user's role may make."""
    if status == ticket.status or status not in TRANSITIONS[ticket.status]:
        return False
    return is_staff_member(user) or customer_may_set_status(ticket, status)


def is_rateable(ticket: Ticket) -> bool:
    """Satisfaction is asked once the ticket is resolved (or closed)."""
    return ticket.status in (Status.RESOLVED, Status.CLOSED)


@dataclass(frozen=True)
class TicketActions:
    """What a user may do with a ticket they can see, as it stands now."""

    reply: bool
    close: bool
    reopen: bool
    rate: bool


def ticket_actions(user: User, ticket: Ticket) -> TicketActions:
    """The acts the services would accept from `user` on `ticket` (no query)."""
    return TicketActions(
        reply=takes_replies(ticket),
        close=may_set_status(user, ticket, Status.CLOSED),
        reopen=may_set_status(user, ticket, Status.OPEN),
        rate=ticket.customer_id == user.id and is_rateable(ticket) and ticket.satisfaction is None,
    )
