"""Event rules on the SLA pass's crossings: `sla.at_risk` and `sla.breached`."""

from __future__ import annotations

from datetime import timedelta

import pytest

from deskbase.automation import services as rules
from deskbase.core.errors import ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.sla.services import mark_breaches
from deskbase.tickets.models import Ticket
from tests.automation.helpers import firings, make_rule
from tests.sla.test_services import make_policy, started, utc

pytestmark = pytest.mark.django_db

NOW = utc(2025, 3, 3, 12)
FIRST_RESPONSE = {"field": "sla.target", "op": "is", "value": "first_response"}


def test_a_rule_on_breach_acts_once_when_the_pass_finds_the_breach(tenant_a, tenant_b, app_role):
    # Given a rule tagging tickets whose first response is breached, in tenant A
    make_rule(tenant_a, "Escalate late first replies", events=["sla.breached"],
              conditions={"all": [FIRST_RESPONSE]},
              actions=[{"type": "add_tags", "tags": ["late-reply"]}])  # fmt: skip
    make_policy(tenant_a.org, first=60, resolution=480, business=False)
    # And a ticket whose first response was due an hour ago
    ticket = started(tenant_a.org, tenant_a.customer, created_at=NOW - timedelta(hours=2))

    # When the pass runs
    mark_breaches(organization=tenant_a.org, now=NOW)

    # Then the rule's action happened and the firing is recorded with its reason
    with tenant(tenant_a.org):
        assert Ticket.objects.get(pk=ticket.pk).tags == ["late-reply"]
    (firing,) = firings(tenant_a)
    assert (firing.trigger, firing.outcome, firing.ticket_id) == ("sla.breached", "fired",
                                                                  ticket.id)  # fmt: skip
    assert [m["text"] for m in firing.matched] == ["SLA target is first_response"]

    # When the pass runs again
    mark_breaches(organization=tenant_a.org, now=NOW + timedelta(minutes=1))
    # Then nothing fires again
    assert len(firings(tenant_a)) == 1
    assert firings(tenant_b) == []


def test_a_rule_on_the_resolution_target_ignores_a_first_response_breach(tenant_a, app_role):
    make_rule(tenant_a, "Late resolution", events=["sla.breached", "sla.at_risk"],
              conditions={"all": [{"field": "sla.target", "op": "is", "value": "resolution"}]},
              actions=[{"type": "add_tags", "tags": ["late"]}])  # fmt: skip
    make_policy(tenant_a.org, first=60, resolution=480, business=False)
    ticket = started(tenant_a.org, tenant_a.customer, created_at=NOW - timedelta(hours=2))
    mark_breaches(organization=tenant_a.org, now=NOW)
    with tenant(tenant_a.org):
        assert Ticket.objects.get(pk=ticket.pk).tags == []
    assert firings(tenant_a) == []


def test_an_sla_target_condition_needs_sla_events(tenant_a):
    with pytest.raises(ValidationFailed) as caught:
        rules.rule_create(
            organization=tenant_a.org, actor=tenant_a.admin, name="Wrong", activator="event",
            definition={"events": ["ticket.updated"], "conditions": {"all": [FIRST_RESPONSE]},
                        "actions": [{"type": "add_tags", "tags": ["x"]}]},
        )  # fmt: skip
    assert "conditions.all[0]" in str(caught.value.errors)
