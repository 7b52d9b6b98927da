"""Reading notifications back, as the recipient's tenant sees them."""

from __future__ import annotations

from typing import Any

from deskbase.accounts.models import Team, TeamMembership, User
from deskbase.core.tenancy import tenant
from deskbase.notifications.models import Notification


def entries(world: Any, user: User | None = None) -> list[tuple[int, int, str, int]]:
    """(recipient, ticket, reason, count) of the tenant's notifications, oldest first."""
    with tenant(world.org):
        rows = Notification.objects.filter(organization_id=world.org.id)
        if user is not None:
            rows = rows.filter(recipient_id=user.id)
        return list(rows.order_by("id").values_list("recipient_id", "ticket_id", "reason", "count"))


def team_of(world: Any, name: str, *members: User) -> Team:
    with tenant(world.org):
        team = Team.objects.create(organization=world.org, name=name)
        for member in members:
            TeamMembership.objects.create(organization=world.org, team=team, user=member)
    return team


def agent(world: Any, email: str, full_name: str) -> User:
    with tenant(world.org):
        return User.objects.create_user(
            email, "pw-for-tests-1", organization=world.org, role="agent", full_name=full_name,
            availability="online",
        )  # fmt: skip
