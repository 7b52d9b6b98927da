"""Reads only the web pages need: queue counts, agents with their load, who is viewing a
ticket, and what the administration pages (/manage/) show.

Each function documents its query budget; none grows with the number of rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext

from deskbase.accounts.models import STAFF_ROLES, Availability, Team, TeamMembership, User
from deskbase.core.tenancy import tenant
from deskbase.organizations.models import Holiday, Organization
from deskbase.sla.models import SlaPolicy
from deskbase.tickets.listing import ACTIVE_SQL, COUNT_CAP, NEXT_DUE_SQL
from deskbase.tickets.models import CannedResponse
from deskbase.tickets.selectors import AT_RISK_WINDOW

PRESENCE_SECONDS = 30  # a viewer counts as present this long after their last poll


def team_ids_of(*, organization: Organization, actor: User) -> list[int]:
    """The teams the actor belongs to, by id. Budget: 1 query (plus the tenant check)."""
    with tenant(organization, actor, savepoint=False):
        return list(
            TeamMembership.objects.filter(organization_id=organization.id, user_id=actor.id)
            .order_by("team_id")
            .values_list("team_id", flat=True)
        )


# The sidebar's queues: each count a capped index range of the active tickets, so a
# page never counts a tenant's whole backlog (shown "10,000+" beyond the cap, as the
# saved views' counts are). "At risk" is a range of tickets_queue_at_risk (running,
# not breached, by next due time): LEAST ignores a NULL, so it is the same test as
# the queue filter's "first response or resolution due within the window".
_QUEUE_CONDITIONS = {
    "mine": "t.assignee_id = %(me)s",
    "unassigned": "t.assignee_id IS NULL",
    "team": "t.team_id = ANY(%(teams)s)",
    "open": "TRUE",
    "at_risk": f"t.sla_paused_at IS NULL AND NOT t.sla_breach AND {NEXT_DUE_SQL} <= %(soon)s",
    "breached": "t.sla_breach",
}
# One capped count; the text is this module's constants, every value a bound parameter.
_CAPPED_COUNT = (
    "(SELECT count(*) FROM (SELECT 1 FROM tickets_ticket t WHERE t.organization_id = %(org)s"
    " AND t.deleted_at IS NULL AND t.status IN ({active}) AND {condition} LIMIT {limit}) capped)"
)
_QUEUE_COUNTS_SQL = "SELECT " + ", ".join(
    _CAPPED_COUNT.format(
        active=ACTIVE_SQL,
        condition=condition, limit=COUNT_CAP + 1,
    )
    for condition in _QUEUE_CONDITIONS.values()
)  # fmt: skip


def queue_counts(*, organization: Organization, actor: User, team_ids: list[int]) -> dict[str, int]:
    """Tickets in each active queue, each capped at COUNT_CAP + 1, in one statement.

    Only active (new, open, pending), live tickets are counted, each queue from the
    partial index that holds it (tickets_queue_assignee, tickets_queue_team,
    tickets_queue_open, tickets_queue_at_risk): at most COUNT_CAP + 1 index
    entries a queue, whatever the size of the tenant. Budget: 1 query (plus the
    tenant check).
    """
    params: dict[str, Any] = {"org": organization.id, "me": actor.id, "teams": team_ids or [0],
              "soon": timezone.now() + AT_RISK_WINDOW}  # fmt: skip
    with tenant(organization, actor, savepoint=False), connection.cursor() as cursor:
        cursor.execute(_QUEUE_COUNTS_SQL, params)
        row = cursor.fetchone()
    return dict(zip(_QUEUE_CONDITIONS, row, strict=True))


def staff_names(*, organization: Organization, actor: User) -> list[tuple[int, str]]:
    """Active staff as (id, name or e-mail), by name: what an assign menu lists where
    the load is not shown (the bulk bar). Budget: 1 query."""
    with tenant(organization, actor, savepoint=False):
        rows = (
            User.objects.filter(
                organization_id=organization.id, role__in=STAFF_ROLES, is_active=True
            )
            .order_by("full_name", "id")
            .values_list("id", "full_name", "email")
        )
        return [(i, name or email) for i, name, email in rows]


@dataclass(frozen=True)
class AgentLoad:
    id: int
    name: str
    email: str
    availability: str
    load: int
    limit: int

    @property
    def over_limit(self) -> bool:
        return self.load > self.limit

    @property
    def label(self) -> str:
        return gettext("%(name)s — %(load)s/%(limit)s open, %(availability)s") % {
            "name": self.name,
            "load": f"{self.limit}+" if self.over_limit else self.load,
            "limit": self.limit,
            "availability": Availability(self.availability or Availability.OFFLINE).label,
        }


# Each agent's active tickets counted from tickets_queue_assignee, stopping one past
# the agent's limit: the menu needs "how many of the limit", and "over the limit"
# beyond it, so an agent with hundreds of open tickets costs no more than their limit.
_AGENTS_WITH_LOAD_SQL = f"""
SELECT u.id, u.full_name, u.email, u.availability, l.n, u.max_concurrent_tickets
FROM accounts_user u
CROSS JOIN LATERAL (
    SELECT count(*) AS n FROM (
        SELECT 1 FROM tickets_ticket t
        WHERE t.organization_id = %(org)s AND t.assignee_id = u.id
          AND t.deleted_at IS NULL AND t.status IN ({ACTIVE_SQL})
        LIMIT u.max_concurrent_tickets + 1
    ) capped
) l
WHERE u.organization_id = %(org)s AND u.deleted_at IS NULL AND u.is_active
  AND u.role = ANY(%(roles)s)
ORDER BY u.full_name, u.id
"""  # noqa: S608 (constants)


def agents_with_load(*, organization: Organization, actor: User) -> list[AgentLoad]:
    """Active staff with their count of active assigned tickets, counted up to one past
    each agent's limit (`over_limit`). Budget: 1 query.

    Not a join of every ticket an agent was ever assigned (520 ms at 400k tickets),
    nor a full count per agent (74,000 index entries for the busiest tenant's 221
    agents): at most limit + 1 index entries an agent.
    """
    params: dict[str, Any] = {"org": organization.id, "roles": [str(r) for r in STAFF_ROLES]}
    with tenant(organization, actor, savepoint=False), connection.cursor() as cursor:
        cursor.execute(_AGENTS_WITH_LOAD_SQL, params)
        rows = cursor.fetchall()
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
