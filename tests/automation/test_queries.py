"""What rules cost a ticket write, in queries (committed: the rule cache is bumped on commit)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deskbase.core.tenancy import tenant
from deskbase.tickets import services
from tests.automation.helpers import make_rule
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db(transaction=True)

VIP = {"field": "requester.email_domain", "op": "is", "value": "vip.example"}


def add_rules(world, first: int, count: int) -> None:
    for i in range(first, first + count):
        make_rule(world, f"rule {i}", events=["ticket.updated"],
                  conditions={"all": [VIP, {"field": "ticket.tags", "op": "includes",
                                             "value": f"t{i}"}]},
                  actions=[{"type": "add_tags", "tags": ["x"]}])  # fmt: skip


def test_a_ticket_update_costs_the_same_queries_with_one_rule_or_twenty(tenant_a, app_role):
    ticket = open_ticket(tenant_a)

    def update_queries(priority: str) -> int:
        with tenant(tenant_a.org):
            ticket.refresh_from_db()
        with CaptureQueriesContext(connection) as captured:
            services.ticket_update(
                organization=tenant_a.org,
                actor=tenant_a.agent,
                ticket=ticket,
                version=ticket.version,
                priority=priority,
            )
        return len(captured.captured_queries)

    def steady(priority: str) -> int:
        update_queries("low")  # the first write after a change of rules loads them
        return update_queries(priority)

    without = steady("medium")
    add_rules(tenant_a, 0, 1)
    one = steady("medium")
    add_rules(tenant_a, 1, 19)
    twenty = steady("medium")
    # The requester is read once for the domain condition, whatever the number of rules.
    assert one <= without + 1
    assert twenty == one
