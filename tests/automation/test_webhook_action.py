"""The "call a webhook" action: a signed message per firing, through the outbox, to an
endpoint of the rule's own organization only."""

from __future__ import annotations

import json

import pytest

from deskbase.core.errors import ValidationFailed
from deskbase.outbox import delivery
from tests.automation.helpers import firings, make_rule
from tests.tickets.factories import open_ticket
from tests.webhooks.conftest import make_endpoint, receiver  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def private_hosts(settings) -> None:
    """The tests' receiver is on 127.0.0.1: allowed for these tests only."""
    settings.WEBHOOKS_ALLOW_PRIVATE_HOSTS = True


URGENT = {"all": [{"field": "ticket.priority", "op": "is", "value": "urgent"}]}


def test_a_rule_calls_the_webhook_once_per_firing_with_the_rule_and_the_ticket(
    tenant_a,
    receiver,  # noqa: F811 (the fixture)
):
    # Given an endpoint subscribed to nothing of its own, and a rule that calls it
    endpoint, _secret = make_endpoint(tenant_a, receiver.url(), events=["csat.recorded"])
    rule = make_rule(tenant_a, "Page on-call", events=["ticket.created"], conditions=URGENT,
                     actions=[{"type": "call_webhook", "endpoint": endpoint.id}])  # fmt: skip
    # When two urgent tickets are opened and the worker delivers
    first = open_ticket(tenant_a, priority="urgent")
    second = open_ticket(tenant_a, priority="urgent")
    open_ticket(tenant_a, priority="low")  # does not match
    result = delivery.drain()
    # Then the receiver got one signed message per firing, naming the rule and the ticket
    assert result.delivered == 2
    bodies = [json.loads(r.body) for r in receiver.requests]
    assert {b["type"] for b in bodies} == {"rule.fired"}
    assert [b["data"]["ticket"]["number"] for b in bodies] == [first.number, second.number]
    assert bodies[0]["data"]["rule"] == {"id": rule.id, "version": 1, "name": "Page on-call"}
    assert all(r.headers["webhook-signature"].startswith("v1,") for r in receiver.requests)
    # And each firing says what it did
    assert [f.changes for f in firings(tenant_a)] == [
        [f"called webhook endpoint {endpoint.id}"]
    ] * 2


def test_another_tenants_endpoint_is_refused_when_the_rule_is_saved(
    tenant_a,
    tenant_b,
    receiver,  # noqa: F811 (the fixture)
    app_role,
):
    theirs, _secret = make_endpoint(tenant_b, receiver.url())
    with pytest.raises(ValidationFailed) as refused:
        make_rule(tenant_a, "Leak", events=["ticket.created"],
                  actions=[{"type": "call_webhook", "endpoint": theirs.id}])  # fmt: skip
    assert list(refused.value.errors) == ["actions[0].endpoint"]
    assert "no webhook endpoint" in str(refused.value.errors["actions[0].endpoint"])
