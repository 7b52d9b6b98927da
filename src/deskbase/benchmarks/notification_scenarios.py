"""Benchmarks of agent notifications (docs/notifications.md).

- `comment_notify_20_agents`: the customer replies on a ticket while 20 agents chose
  "customer replied" on all tickets: the reply, and the one statement that finds the
  20 recipients and writes (or groups) their entries, in its transaction.
- `notification_unread_count`: the bell's unread count of the busiest agent (what every
  desk page and every poll of the bell costs).

The 20 agents (`deskbase-bench-notify-<n>@bench.invalid`) are made once per organization
and left in place; their settings notify them in the app only (no mail).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from deskbase.accounts.models import Role, User
from deskbase.accounts.services import user_create
from deskbase.benchmarks.context import Context
from deskbase.benchmarks.registry import Prepared, inprocess, inserts_into, selects_from
from deskbase.benchmarks.scenarios import _load, _open_bench_ticket, bench_customer
from deskbase.core.tenancy import tenant
from deskbase.notifications import selectors
from deskbase.notifications import services as notifications
from deskbase.organizations.models import Organization
from deskbase.tickets import services

AGENTS = 20
ALL_REPLIES = [{"reason": "customer_replied", "scope": "all", "in_app": True, "mail": False}]


def _bench_agents(organization: Organization) -> list[User]:
    emails = [f"deskbase-bench-notify-{n}@bench.invalid" for n in range(AGENTS)]
    with tenant(organization):
        found = {u.email: u for u in User.objects.filter(organization=organization,
                                                         email__in=emails)}  # fmt: skip
    agents = []
    for email in emails:
        agent = found.get(email)
        if agent is None:
            agent = user_create(organization=organization, actor=None, email=email,
                                role=Role.AGENT, full_name="deskbase bench")  # fmt: skip
            notifications.preferences_save(organization=organization, actor=agent,
                                           rows=ALL_REPLIES)  # fmt: skip
        agents.append(agent)
    return agents


@inprocess("comment_notify_20_agents", "the customer replies on a ticket; 20 agents are"
           " notified in the app (one statement for the recipients)",
           main_sql=inserts_into("tickets_ticketcomment"), writes=True)  # fmt: skip
def comment_notify_20_agents(ctx: Context) -> Prepared:
    subjects = ctx.need_subjects()
    organization, agent = _load(subjects, subjects.agent_id)
    _bench_agents(organization)
    customer = bench_customer(organization)

    def worker(index: int) -> Callable[[], Any]:
        ticket = _open_bench_ticket(organization, agent, customer)

        def call() -> Any:
            return services.comment_add(
                organization=organization,
                actor=customer,
                ticket=ticket,
                body="Any news? (deskbase bench)",
            )

        return call

    return Prepared(worker, details={"notified_agents": AGENTS},
                    tenant=(organization.id, customer.id))  # fmt: skip


@inprocess("notification_unread_count", "the bell's unread count of the busiest agent",
           main_sql=selects_from("notifications_notification"))  # fmt: skip
def notification_unread_count(ctx: Context) -> Prepared:
    subjects = ctx.need_subjects()
    organization, agent = _load(subjects, subjects.agent_id)

    def call() -> int:
        return selectors.unread_count(organization_id=organization.id, user=agent)

    return Prepared(lambda index: call, tenant=(organization.id, agent.id))
