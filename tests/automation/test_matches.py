"""The engine's quick test of a rule (`matches`) says what the full explanation says."""

from __future__ import annotations

import pytest

from deskbase.automation.conditions import evaluate, matches
from deskbase.automation.engine import facts_for
from deskbase.benchmarks.automation_scenarios import SHAPES
from deskbase.core.tenancy import tenant
from deskbase.tickets.models import Ticket
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db

TREES = [
    *SHAPES,
    {"field": "requester.email_domain", "op": "is", "value": "acme.test"},
    {"all": [{"field": "ticket.priority", "op": "one_of", "value": ["high"]},
             {"any": [{"field": "ticket.tags", "op": "includes", "value": "vip"},
                      {"field": "requester.tier", "op": "is", "value": "basic"}]}]},
    {"any": [{"changed": "ticket.priority", "to": "high"},
             {"field": "ticket.subject", "op": "starts_with", "value": "printer"}]},
    {"all": [{"field": "comment.kind", "op": "is", "value": "public"},
             {"field": "ticket.status", "op": "is", "value": "new"}]},
    {"field": "ticket.assignee", "op": "not_set"},
]  # fmt: skip


@pytest.mark.parametrize("changes", [{}, {"priority": ("low", "high")}])
@pytest.mark.parametrize("fields", [
    {"priority": "high", "tags": ["vip"]},
    {"priority": "low", "subject": "Bench printer"},
    {"priority": "high", "tags": []},
])  # fmt: skip
def test_matches_agrees_with_evaluate_on_every_tree(tenant_a, fields, changes):
    # Given a ticket of the customer (of acme.test) and an event with or without changes
    ticket = open_ticket(tenant_a, **fields)
    with tenant(tenant_a.org):
        ticket = Ticket.objects.get(pk=ticket.pk)
        for tree in TREES:
            # When a tree is tested quickly and explained in full
            quick = matches(tree, facts_for(ticket, event="ticket.updated", changes=changes))
            full, outcomes = evaluate(tree, facts_for(ticket, event="ticket.updated",
                                                      changes=changes))  # fmt: skip
            # Then both say the same, and the explanation has a reason for every leaf
            assert quick == full, tree
            assert all(o.text for o in outcomes)
