"""`deskbase bench` scenarios of customers and time tracking (docs/customers.md).

- `customer_page`: what the customer page reads — the customer with their company,
  their first page of tickets and their latest ratings — for the subjects' customer
  with the most tickets, as the busiest agent.
- `time_report`: the time report's three aggregates (per agent, customer and company)
  over the last 30 days, as an admin of the largest organization. Before timing, the
  bench makes sure the organization has time logged: without any entries in the
  range (the generator makes none), it logs one of 1-60 minutes on each of the
  organization's latest 5,000 tickets (**writes**, once; `details.entries` says how
  many entries were in the range).
"""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.utils import timezone

from deskbase.accounts.models import Role, User
from deskbase.analytics.timereport import GROUPS, time_report
from deskbase.benchmarks.context import Context, Skip
from deskbase.benchmarks.registry import Prepared, inprocess
from deskbase.core.tenancy import tenant
from deskbase.customers import selectors
from deskbase.organizations.models import Organization

TIME_ROWS = 5000


def _organization(organization_id: int) -> Organization:
    with tenant(organization_id):  # row-level security: the bench runs as the app role
        return Organization.objects.get(pk=organization_id)


def _user(organization_id: int, user_id: int) -> User:
    with tenant(organization_id):
        return User.objects.get(pk=user_id)


@inprocess("customer_page", "the customer page: customer and company, first ticket page, ratings")
def customer_page(ctx: Context) -> Prepared:
    subjects = ctx.need_subjects()
    if subjects.customer_id is None:
        raise Skip("no customer with tickets")
    customer_id: int = subjects.customer_id
    organization = _organization(subjects.organization_id)
    agent = _user(organization.id, subjects.agent_id)

    def call() -> int:
        card = selectors.customer_get(organization=organization, actor=agent,
                                      user_id=customer_id)  # fmt: skip
        page = selectors.customer_tickets(organization=organization, actor=agent,
                                          customer=card.customer)  # fmt: skip
        csat = selectors.customer_csat(organization=organization, actor=agent,
                                       customer=card.customer)  # fmt: skip
        return len(page.items) + len(csat)

    details = {"customer_tickets": subjects.customer_tickets, "rows": call()}
    return Prepared(lambda index: call, details=details, tenant=(organization.id, agent.id))


def _ensure_time(organization: Organization, admin: User, since, until) -> int:
    with tenant(organization, admin), connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM tickets_timeentry WHERE organization_id = %s"
            " AND worked_on BETWEEN %s AND %s",
            [organization.id, since, until],
        )
        if cursor.fetchone()[0] == 0:
            cursor.execute(
                """
                INSERT INTO tickets_timeentry (organization_id, ticket_id, user_id, minutes,
                    note, billable, worked_on, created_at, updated_at)
                SELECT t.organization_id, t.id, %s, 1 + (t.id %% 60), 'bench', t.id %% 4 <> 0,
                       %s::date - (t.id %% 30)::int, now(), now()
                FROM tickets_ticket t WHERE t.organization_id = %s
                ORDER BY t.created_at DESC LIMIT %s
                """,
                [admin.id, until, organization.id, TIME_ROWS],
            )
        cursor.execute(
            "SELECT count(*) FROM tickets_timeentry WHERE organization_id = %s"
            " AND worked_on BETWEEN %s AND %s",
            [organization.id, since, until],
        )
        return cursor.fetchone()[0]


@inprocess("time_report", "the time report: minutes per agent, customer and company, 30 days")
def time_report_scenario(ctx: Context) -> Prepared:
    subjects = ctx.need_subjects()
    organization = _organization(subjects.organization_id)
    with tenant(organization):
        admin = User.objects.filter(organization=organization, role=Role.ADMIN).order_by("id")
        found = admin.first()
    if found is None:
        raise Skip("the organization has no admin")
    until = timezone.localdate()
    since = until - timedelta(days=30)
    entries = _ensure_time(organization, found, since, until)

    def call() -> int:
        return sum(
            len(
                time_report(organization=organization, actor=found, by=by, since=since, until=until)
            )
            for by in GROUPS
        )

    details = {"entries": entries, "rows": call(), "days": 31}
    return Prepared(lambda index: call, details=details, tenant=(organization.id, found.id))
