"""An organization without webhook endpoints pays one indexed query per ticket event."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deskbase.core import events
from deskbase.tickets import services as tickets
from deskbase.webhooks import payloads, subscribers
from tests.webhooks.conftest import make_endpoint

pytestmark = pytest.mark.django_db


def create_queries(world, subject: str) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        tickets.ticket_create(organization=world.org, actor=world.agent, subject=subject,
                              customer=world.customer)  # fmt: skip
    return [q["sql"] for q in queries]


def test_ticket_create_costs_one_query_more_without_endpoints(tenant_a, tenant_b, receiver):
    make_endpoint(tenant_b, receiver.url())  # another organization's endpoint: irrelevant here
    create_queries(tenant_a, "warm-up")
    with_webhooks = create_queries(tenant_a, "with the subscriber")
    for name in payloads.CARRIED:
        events.unsubscribe(name, subscribers.on_event)
    try:
        without = create_queries(tenant_a, "without the subscriber")
    finally:
        for name in payloads.CARRIED:
            events.subscribe(name, "after")(subscribers.on_event)
    assert len(with_webhooks) == len(without) + 1
    assert len([sql for sql in with_webhooks if "webhooks_endpoint" in sql]) == 1
    assert "outbox_message" not in " ".join(with_webhooks)


def test_the_subscriber_query_uses_the_enabled_endpoints_index(tenant_a):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        query = (
            "EXPLAIN SELECT id FROM webhooks_endpoint WHERE organization_id = %s AND enabled"
            " AND (event_types @> ARRAY['ticket.created']::varchar[]"
            " OR event_types @> ARRAY['*']::varchar[])"
        )
        cursor.execute(query, [tenant_a.org.id])
        plan = " ".join(row[0] for row in cursor.fetchall())
    assert "webhooks_endpoint_enabled" in plan
