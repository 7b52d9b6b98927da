"""Who may do what with a ticket. Tenant isolation itself is PostgreSQL's job (RLS);
these rules separate roles inside one tenant."""

from __future__ import annotations

from deskbase.accounts.models import STAFF_ROLES, User
from deskbase.core.errors import NotFound, PermissionDenied
from deskbase.tickets.models import Ticket


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
        raise NotFound(f"no ticket #{ticket.number}", field="number")


def ensure_staff(user: User, action: str) -> None:
    if not is_staff_member(user):
        raise PermissionDenied(f"only agents, managers and admins may {action}")
