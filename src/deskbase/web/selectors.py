"""Reads only the web pages need: queue counts, agents with their load, who is viewing a
ticket, and what the administration pages (/manage/) show.

Each function documents its query budget; none grows with the number of rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, Subquery
from django.db.models.functions import Coalesce

from deskbase.accounts.models import STAFF_ROLES, Team, TeamMembership, User
from deskbase.core.tenancy import tenant
from deskbase.organizations.models import Holiday, Organization
from deskbase.sla.models import SlaPolicy
from deskbase.tickets.models import ACTIVE_STATUSES, CannedResponse, Ticket
from deskbase.tickets.selectors import _sla_q

PRESENCE_SECONDS = 30  # a viewer counts as present this long after their last poll


def team_ids_of(*, organization: Organization, actor: User) -> list[int]:
    """The teams the actor belongs to, by id. Budget: 1 query (plus the tenant check)."""
    with tenant(organization, actor, savepoint=False):
        return list(
            TeamMembership.objects.filter(organization_id=organization.id, user_id=actor.id)
            .order_by("team_id")
            .values_list("team_id", flat=True)
        )


def queue_counts(*, organization: Organization, actor: User, team_ids: list[int]) -> dict[str, int]:
    """Tickets in each active queue, in one aggregate over the active tickets.

    Only active (new, open, pending), live tickets are counted: the partial index
    tickets_queue_open holds exactly those, so this never scans the closed history
    of a tenant. Budget: 1 query (plus the tenant check).
    """
    active = Ticket.objects.filter(organization_id=organization.id, status__in=ACTIVE_STATUSES)
    with tenant(organization, actor, savepoint=False):
        return active.aggregate(
            mine=Count("id", filter=Q(assignee_id=actor.id)),
            unassigned=Count("id", filter=Q(assignee__isnull=True)),
            team=Count("id", filter=Q(team_id__in=team_ids or [0])),
            open=Count("id"),
            at_risk=Count("id", filter=_sla_q("at_risk")),
            breached=Count("id", filter=Q(sla_breach=True)),
        )


@dataclass(frozen=True)
class AgentLoad:
    id: int
    name: str
    email: str
    availability: str
    load: int
    limit: int

    @property
    def label(self) -> str:
        return f"{self.name} — {self.load}/{self.limit} open, {self.availability or 'offline'}"


def agents_with_load(*, organization: Organization, actor: User) -> list[AgentLoad]:
    """Active staff with their count of active assigned tickets. Budget: 1 query.

    Each agent's load is counted in a subquery over the partial index of active
    assigned tickets (tickets_queue_assignee), not by joining every ticket an agent
    was ever assigned: at 400k tickets the join took 520 ms, the subqueries ~30.
    """
    load = (
        Ticket.objects.filter(
            organization_id=organization.id, assignee_id=OuterRef("pk"),
            status__in=ACTIVE_STATUSES,
        )
        .order_by()
        .values("assignee_id")
        .annotate(n=Count("*"))
        .values("n")
    )  # fmt: skip
    with tenant(organization, actor, savepoint=False):
        rows = (
            User.objects.filter(
                organization_id=organization.id, role__in=STAFF_ROLES, is_active=True
            )
            .annotate(load=Coalesce(Subquery(load, output_field=IntegerField()), 0))
            .order_by("full_name", "id")
            .values_list(
                "id", "full_name", "email", "availability", "load", "max_concurrent_tickets"
            )
        )
        return [
            AgentLoad(id=i, name=name or email, email=email, availability=avail or "",
                      load=load, limit=limit)
            for i, name, email, avail, load, limit in rows
        ]  # fmt: skip


# ------------------------------------------------------------------ presence
# One statement: record the caller's poll, drop the organization's expired rows
# (skipping any another poll holds, so two polls never wait on each other), and read
# the other agents who polled this ticket within PRESENCE_SECONDS. The read does not
# see this statement's own write, which is why it leaves the caller out anyway.
_PRESENCE_SQL = """
WITH touched AS (
    INSERT INTO web_ticketpresence AS p (organization_id, ticket_number, user_id, seen_at)
    VALUES (%(org)s, %(number)s, %(user)s, clock_timestamp())
    ON CONFLICT (organization_id, ticket_number, user_id)
    DO UPDATE SET seen_at = excluded.seen_at
), expired AS (
    DELETE FROM web_ticketpresence
    WHERE (organization_id, ticket_number, user_id) IN (
        SELECT organization_id, ticket_number, user_id FROM web_ticketpresence
        WHERE organization_id = %(org)s
          AND seen_at < clock_timestamp() - make_interval(secs => %(ttl)s * 2)
        FOR UPDATE SKIP LOCKED
    )
)
SELECT coalesce(nullif(u.full_name, ''), u.email) AS name
FROM web_ticketpresence p
JOIN accounts_user u ON u.id = p.user_id AND u.organization_id = p.organization_id
WHERE p.organization_id = %(org)s AND p.ticket_number = %(number)s
  AND p.user_id <> %(user)s AND u.deleted_at IS NULL
  AND p.seen_at >= clock_timestamp() - make_interval(secs => %(ttl)s)
ORDER BY 1
"""


def presence_touch(*, organization_id: int, number: int, user: User) -> list[str]:
    """Record that `user` has the ticket open; return the names of the others who do.

    Kept in PostgreSQL (web_ticketpresence, unlogged, tenant-isolated), so every
    server process and every worker sees every agent. Budget: 1 query.
    """
    params = {"org": organization_id, "number": number, "user": user.id,
              "ttl": PRESENCE_SECONDS}  # fmt: skip
    with tenant(organization_id, user, savepoint=False), connection.cursor() as cursor:
        cursor.execute(_PRESENCE_SQL, params)
        return [name for (name,) in cursor.fetchall()]


# ------------------------------------------------------------------ administration
def owned_row(model: type[Any], *, actor: User, pk: int) -> Any:
    """A row of the actor's organization by id, else None. Budget: 1 query."""
    with tenant(actor.organization_id, actor, savepoint=False):
        return model.objects.filter(organization_id=actor.tenant_id, pk=pk).first()


def organization_with_holidays(*, actor: User) -> Organization:
    """The actor's organization with its holidays by date. Budget: 2 queries."""
    holidays = Prefetch("holidays", queryset=Holiday.objects.order_by("date", "id"))
    with tenant(actor.organization_id, actor, savepoint=False):
        return Organization.objects.prefetch_related(holidays).get(pk=actor.organization_id)


def sla_policies_to_manage(*, actor: User) -> list[SlaPolicy]:
    """Every policy, the active ones first, by priority, tier and start. Budget: 1 query."""
    with tenant(actor.organization_id, actor, savepoint=False):
        return list(
            SlaPolicy.objects.filter(organization_id=actor.tenant_id).order_by(
                "-is_active", "priority", "customer_tier", "valid_from", "id"
            )
        )


def teams_with_staff(*, actor: User) -> tuple[list[Team], list[User]]:
    """The teams by name with their members (as `people`), and the staff who could join
    one. Budget: 3 queries."""
    members = User.objects.order_by("full_name", "id")
    with tenant(actor.organization_id, actor, savepoint=False):
        teams: list[Team] = list(
            Team.objects.filter(organization_id=actor.tenant_id)
            .prefetch_related(Prefetch("members", queryset=members, to_attr="people"))
            .order_by("name", "id")
        )
        staff = list(
            User.objects.filter(organization_id=actor.tenant_id, role__in=STAFF_ROLES).order_by(
                "full_name", "id"
            )
        )
    return teams, staff


def people_page(
    *, actor: User, removed: bool, role: str | None, after: int, limit: int, query: str = ""
) -> tuple[list[User], int | None]:
    """People (or removed people) by id after `after`, those whose name or email holds
    `query` when given, and the id to pass as `after` for the next page (None on the
    last). Budget: 1 query."""
    rows_qs = User.all_objects.filter(
        organization_id=actor.tenant_id, deleted_at__isnull=not removed
    )
    if role:
        rows_qs = rows_qs.filter(role=role)
    if query:
        rows_qs = rows_qs.filter(Q(email__icontains=query) | Q(full_name__icontains=query))
    if after:
        rows_qs = rows_qs.filter(pk__gt=after)
    with tenant(actor.organization_id, actor, savepoint=False):
        rows = list(rows_qs.order_by("pk")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, rows[-1].pk if more else None


def removed_person(*, actor: User, user_id: int) -> User | None:
    """A removed person of the actor's organization, else None. Budget: 1 query."""
    with tenant(actor.organization_id, actor, savepoint=False):
        return User.all_objects.filter(
            organization_id=actor.tenant_id, pk=user_id, deleted_at__isnull=False
        ).first()


def canned_response_of(*, actor: User, canned_id: int) -> CannedResponse | None:
    """A shared canned response or the actor's own, else None (someone else's personal
    one is as absent as another tenant's). Budget: 1 query."""
    with tenant(actor.organization_id, actor, savepoint=False):
        return (
            CannedResponse.objects.filter(organization_id=actor.tenant_id, pk=canned_id)
            .filter(Q(owner__isnull=True) | Q(owner_id=actor.id))
            .first()
        )
