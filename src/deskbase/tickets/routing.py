"""Who gets a ticket: by hand, or the least-loaded available agent who fits.

Automatic assignment locks the candidate agents (in id order, after the ticket)
before counting their open tickets, so two concurrent assignments cannot both
see the same free slot and push an agent past max_concurrent_tickets.
"""

from __future__ import annotations

from django.db.models import Count, Q
from django.utils.translation import gettext

from deskbase.accounts.models import STAFF_ROLES, Availability, User
from deskbase.core.errors import ValidationFailed
from deskbase.organizations.models import Organization
from deskbase.tickets.locks import lock_agents
from deskbase.tickets.models import ACTIVE_STATUSES, Ticket


def check_assignable(*, organization: Organization, agent: User) -> None:
    """Hand assignment: any active staff member of the organization."""
    if agent.organization_id != organization.id:
        raise ValidationFailed.one("assignee", gettext("No such agent in this organization."))
    if agent.role not in STAFF_ROLES or not agent.is_active or agent.deleted_at is not None:
        raise ValidationFailed.one(
            "assignee", gettext("Tickets can only be assigned to active agents.")
        )


def candidates(*, organization: Organization, ticket: Ticket):
    """Online staff of the ticket's team (any team if none) with the category's skill."""
    queryset = User.objects.filter(
        organization=organization,
        role__in=STAFF_ROLES,
        is_active=True,
        availability=Availability.ONLINE,
    )
    if ticket.team_id is not None:
        queryset = queryset.filter(memberships__team_id=ticket.team_id)
    skill = ticket.category.skill if ticket.category is not None else ""
    if skill:
        queryset = queryset.filter(skills__contains=[skill])
    return queryset


def pick_agent(*, organization: Organization, ticket: Ticket) -> User | None:
    """Lock the candidates, then choose the least loaded one below their limit."""
    agents = lock_agents(candidates(organization=organization, ticket=ticket))
    if not agents:
        return None
    loads = dict(
        Ticket.objects.filter(
            organization=organization,
            assignee__in=[a.id for a in agents],
            status__in=ACTIVE_STATUSES,
        )
        .exclude(pk=ticket.pk)
        .values_list("assignee")
        .annotate(n=Count("id", filter=Q(deleted_at__isnull=True)))
        .values_list("assignee", "n")
    )
    free = [a for a in agents if loads.get(a.id, 0) < a.max_concurrent_tickets]
    if not free:
        return None
    return min(free, key=lambda a: (loads.get(a.id, 0), a.id))
