"""Webhook endpoints subscribe to the SLA pass's crossings (sla.at_risk, sla.breached)."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest

from deskbase.outbox.models import OutboxMessage
from deskbase.sla.services import mark_breaches
from tests.sla.test_services import make_policy, started, utc
from tests.webhooks.conftest import make_endpoint

pytestmark = pytest.mark.django_db

NOW = utc(2025, 3, 3, 12)


def test_an_endpoint_subscribed_to_breaches_gets_one_message_per_breach(tenant_a, tenant_b):
    # Given an endpoint of tenant A on sla.breached only, and one of tenant B on everything
    make_endpoint(tenant_a, "http://127.0.0.1:9/hook", ["sla.breached"])
    make_endpoint(tenant_b, "http://127.0.0.1:9/hook", ["*"])
    make_policy(tenant_a.org, first=60, resolution=480, business=False)
    late = started(tenant_a.org, tenant_a.customer, created_at=NOW - timedelta(hours=2))
    started(tenant_a.org, tenant_a.customer, created_at=NOW - timedelta(minutes=50))  # at risk
    # When the pass runs twice
    mark_breaches(organization=tenant_a.org, now=NOW)
    mark_breaches(organization=tenant_a.org, now=NOW + timedelta(minutes=1))
    # Then one message, for the breach, of tenant A, carrying the ticket and the target
    rows = list(OutboxMessage.objects.filter(consumer="webhooks.deliver"))
    assert [row.organization_id for row in rows] == [tenant_a.org.id]
    payload = rows[0].payload
    assert payload["type"] == "sla.breached"
    data = orjson.loads(payload["body"])["data"]
    assert (data["sla"]["target"], data["sla"]["kind"]) == ("first_response", "breached")
    assert data["ticket"]["number"] == late.number
