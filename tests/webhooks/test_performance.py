"""An organization without webhook endpoints pays no query per ticket event: its
subscriptions are a cached entry, dropped when the write to an endpoint commits."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deskbase.core import events
from deskbase.core.tenancy import tenant
from deskbase.outbox.models import OutboxMessage
from deskbase.tickets import services as tickets
from deskbase.webhooks import payloads, services, subscribers
from tests.webhooks.conftest import make_endpoint

pytestmark = pytest.mark.django_db


def create_queries(world, subject: str) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        tickets.ticket_create(organization=world.org, actor=world.agent, subject=subject,
                              customer=world.customer)  # fmt: skip
    return [q["sql"] for q in queries]


def test_ticket_create_costs_no_query_more_without_endpoints(tenant_a, tenant_b, receiver):
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
    assert len(with_webhooks) == len(without)
    assert "webhooks_endpoint" not in " ".join(with_webhooks)
    assert "outbox_message" not in " ".join(with_webhooks)


def queued(world) -> int:
    with tenant(world.org):
        return OutboxMessage.objects.filter(
            organization_id=world.org.id, consumer=services.CONSUMER
        ).count()


@pytest.mark.django_db(transaction=True)
def test_the_cached_subscriptions_follow_committed_endpoint_writes(tenant_a, tenant_b, receiver):
    # Given both organizations' subscriptions cached while neither has an endpoint
    create_queries(tenant_a, "before any endpoint")
    create_queries(tenant_b, "before any endpoint")
    assert queued(tenant_a) == queued(tenant_b) == 0
    # When organization A adds an endpoint for new tickets (committed)
    endpoint, _secret = make_endpoint(tenant_a, receiver.url(), ["ticket.created"])
    # Then A's next ticket is sent to it, and B's still to nobody
    create_queries(tenant_a, "after the endpoint")
    create_queries(tenant_b, "after A's endpoint")
    assert queued(tenant_a) == 1
    assert queued(tenant_b) == 0
    # When the endpoint is disabled, then A's next ticket is sent to nobody
    services.endpoint_update(organization=tenant_a.org, actor=tenant_a.admin,
                             endpoint_id=endpoint.pk, enabled=False)  # fmt: skip
    create_queries(tenant_a, "after disabling it")
    assert queued(tenant_a) == 1


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
