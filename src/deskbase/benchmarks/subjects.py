"""Who and what the scenarios act on, picked deterministically so runs are comparable.

Picked once per run by the role the command starts with (the owner role, which
sees every tenant): the largest organization, its busiest agent, its customer
with the most tickets, the ticket whose conversation is nearest 20 comments.
Rows the bench itself writes (tagged `deskbase-bench`, or owned by the bench
customer) never count, so earlier runs do not change what later runs pick.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from django.db import connection

from deskbase.accounts.models import STAFF_ROLES
from deskbase.tickets.models import ACTIVE_STATUSES

BENCH_TAG = "deskbase-bench"
BENCH_CUSTOMER_EMAIL = "customer@bench.deskbase.invalid"
PAGE_SIZE = 25
DEEP_PAGE = 40
DETAIL_COMMENTS = 20
STAFF = tuple(str(role) for role in STAFF_ROLES)
# The standard data sets of bench/README.md, by ticket count (`deskbase generate --tickets N`).
DATA_SETS = {"small": 100_000, "standard": 1_000_000, "large": 10_000_000}


class NoData(Exception):
    """The database holds nothing to measure."""


@dataclass(frozen=True)
class Subjects:
    organization_id: int
    organization_slug: str
    organization_tickets: int
    agent_id: int
    agent_email: str
    agent_active_tickets: int
    customer_id: int | None
    customer_email: str | None
    customer_tickets: int
    detail_number: int | None
    detail_comments: int
    deep_queue: str  # "open" when it has DEEP_PAGE pages, else "all"
    deep_queue_tickets: int
    data_set: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "data_set"}


def _rows(sql: str, params: list[Any]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def data_set() -> dict[str, Any]:
    """Live organizations and tickets, and how many of the tickets the bench wrote."""
    [(organizations,)] = _rows(
        "SELECT count(*) FROM organizations_organization WHERE deleted_at IS NULL", []
    )
    [(tickets, bench)] = _rows(
        "SELECT count(*), count(*) FILTER (WHERE tags @> ARRAY[%s]::varchar[])"
        " FROM tickets_ticket WHERE deleted_at IS NULL",
        [BENCH_TAG],
    )
    label = label_for(tickets - bench)
    return {"organizations": organizations, "tickets": tickets, "bench_tickets": bench,
            "label": label}  # fmt: skip


def label_for(tickets: int) -> str:
    """small, standard or large within 20% of its size (bench rows aside); tiny (the demo,
    tests) below 10,000 tickets; else other."""
    if tickets < 10_000:
        return "tiny"
    for label, size in DATA_SETS.items():
        if 0.8 * size <= tickets <= 1.2 * size:
            return label
    return "other"


def _largest_organization() -> tuple[int, str, int, int]:
    """(id, slug, tickets, active tickets) of the organization with most tickets.

    Ties go to the lowest id, as everywhere here: the same data gives the same subjects.
    """
    rows = _rows(
        """
        SELECT o.id, o.slug, count(t.id),
               count(t.id) FILTER (WHERE t.status = ANY(%s))
        FROM organizations_organization o
        JOIN tickets_ticket t ON t.organization_id = o.id AND t.deleted_at IS NULL
             AND NOT t.tags @> ARRAY[%s]::varchar[]
        WHERE o.deleted_at IS NULL
        GROUP BY o.id ORDER BY count(t.id) DESC, o.id LIMIT 1
        """,
        [list(ACTIVE_STATUSES), BENCH_TAG],
    )
    if not rows:
        raise NoData(
            "no organization with tickets is visible: load data (`deskbase demo`, "
            "`deskbase generate --tickets N`) and run the bench as the owner role "
            "(the `deskbase` command does)"
        )
    return rows[0]


def _busiest_agent(org_id: int) -> tuple[int, str, int]:
    rows = _rows(
        """
        SELECT u.id, u.email, count(t.id) FROM accounts_user u
        LEFT JOIN tickets_ticket t ON t.organization_id = u.organization_id
             AND t.assignee_id = u.id AND t.deleted_at IS NULL AND t.status = ANY(%s)
        WHERE u.organization_id = %s AND u.role = ANY(%s) AND u.is_active
              AND u.deleted_at IS NULL
        GROUP BY u.id ORDER BY count(t.id) DESC, u.id LIMIT 1
        """,
        [list(ACTIVE_STATUSES), org_id, list(STAFF)],
    )
    if not rows:
        raise NoData(f"organization {org_id} has no active staff member to act as agent")
    return rows[0]


def _busiest_customer(org_id: int) -> tuple[int | None, str | None, int]:
    rows = _rows(
        """
        SELECT u.id, u.email, count(t.id) FROM accounts_user u
        LEFT JOIN tickets_ticket t ON t.organization_id = u.organization_id
             AND t.customer_id = u.id AND t.deleted_at IS NULL
        WHERE u.organization_id = %s AND u.role = 'customer' AND u.is_active
              AND u.deleted_at IS NULL AND u.email <> %s
        GROUP BY u.id ORDER BY count(t.id) DESC, u.id LIMIT 1
        """,
        [org_id, BENCH_CUSTOMER_EMAIL],
    )
    return rows[0] if rows else (None, None, 0)


def _detail_ticket(org_id: int) -> tuple[int | None, int]:
    """(number, comments) of the ticket with DETAIL_COMMENTS comments, or the fewest above.

    Without one, the ticket with the most comments; ties go to the lowest id.
    """
    rows = _rows(
        """
        SELECT t.number, count(c.id) AS n FROM tickets_ticket t
        LEFT JOIN tickets_ticketcomment c ON c.organization_id = t.organization_id
             AND c.ticket_id = t.id AND c.deleted_at IS NULL
        WHERE t.organization_id = %s AND t.deleted_at IS NULL
              AND NOT t.tags @> ARRAY[%s]::varchar[]
        GROUP BY t.id
        ORDER BY count(c.id) >= %s DESC,
                 CASE WHEN count(c.id) >= %s THEN count(c.id) END,
                 count(c.id) DESC, t.id
        LIMIT 1
        """,
        [org_id, BENCH_TAG, DETAIL_COMMENTS, DETAIL_COMMENTS],
    )
    return rows[0] if rows else (None, 0)


def pick_subjects() -> Subjects:
    org_id, slug, tickets, active = _largest_organization()
    agent_id, agent_email, agent_active = _busiest_agent(org_id)
    customer_id, customer_email, customer_tickets = _busiest_customer(org_id)
    detail_number, detail_comments = _detail_ticket(org_id)
    # Keyset page 40 needs more than 39 full pages; "open" (the active queue) is
    # the realistic deep queue, "all" the fallback of a smaller data set.
    deep_queue = "open" if active > (DEEP_PAGE - 1) * PAGE_SIZE else "all"
    return Subjects(
        organization_id=org_id, organization_slug=slug, organization_tickets=tickets,
        agent_id=agent_id, agent_email=agent_email, agent_active_tickets=agent_active,
        customer_id=customer_id, customer_email=customer_email,
        customer_tickets=customer_tickets, detail_number=detail_number,
        detail_comments=detail_comments, deep_queue=deep_queue,
        deep_queue_tickets=active if deep_queue == "open" else tickets,
        data_set=data_set(),
    )  # fmt: skip
