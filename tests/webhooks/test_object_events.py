"""Webhook endpoints subscribe to companies, ticket links and splits, and time entries."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from deskbase.customers import services as customers
from deskbase.outbox.models import OutboxMessage
from deskbase.tickets import links, services, timeentries
from tests.tickets.factories import open_ticket
from tests.webhooks.conftest import make_endpoint

pytestmark = pytest.mark.django_db

NEW_TYPES = [
    "company.created", "company.updated", "company.deleted", "ticket_link.added",
    "ticket_link.removed", "ticket.split", "time_entry.added", "time_entry.updated",
    "time_entry.deleted",
]  # fmt: skip


def messages(world: Any) -> list[tuple[str, dict[str, Any]]]:
    rows = OutboxMessage.objects.filter(consumer="webhooks.deliver",
                                        organization_id=world.org.id).order_by("id")  # fmt: skip
    return [(r.payload["type"], orjson.loads(r.payload["body"])["data"]) for r in rows]


def test_company_events_reach_the_subscribed_endpoint_of_their_organization_only(
    tenant_a, tenant_b
):
    # Given an endpoint of A on the company events, and one of B on every event
    make_endpoint(tenant_a, "http://127.0.0.1:9/hook", NEW_TYPES[:3])
    make_endpoint(tenant_b, "http://127.0.0.1:9/hook", ["*"])
    # When an admin of A creates, renames, re-tiers and deletes a company
    made = customers.company_create(organization=tenant_a.org, actor=tenant_a.admin,
                                    name="Acme", domains=["acme.example"])  # fmt: skip
    change = {"organization": tenant_a.org, "actor": tenant_a.admin, "company_id": made.id}
    customers.company_update(**change, name="Acme Ltd", domains=["acme.example"])
    customers.company_update(**change, tier="premium")
    customers.company_update(**change, name="Acme Ltd")  # nothing changes: no event
    customers.company_delete(organization=tenant_a.org, actor=tenant_a.admin, company_id=made.id)
    # Then A's endpoint has a message for each change, with the company and what changed
    sent = messages(tenant_a)
    assert [t for t, _ in sent] == ["company.created", "company.updated", "company.updated",
                                    "company.deleted"]  # fmt: skip
    assert sent[0][1]["company"]["name"] == "Acme"
    assert sent[1][1]["changed"] == ["name"]
    assert sent[2][1]["changed"] == ["tier"]
    assert sent[3][1]["company"]["id"] == made.id
    # And B's endpoint, subscribed to everything, received none of A's events
    assert messages(tenant_b) == []


def test_link_split_and_time_events_reach_the_subscribed_endpoint(tenant_a, tenant_b):
    # Given endpoints of A on the link, split and time events and of B on every event
    make_endpoint(tenant_a, "http://127.0.0.1:9/hook", NEW_TYPES[3:])
    make_endpoint(tenant_b, "http://127.0.0.1:9/hook", ["*"])
    a, b = open_ticket(tenant_a), open_ticket(tenant_a)
    w = {"organization": tenant_a.org, "actor": tenant_a.agent}
    # When an agent links and unlinks two tickets, splits a comment off, and logs time
    link = links.link_add(**w, ticket=a, other=b, relation="child")
    links.link_remove(**w, ticket=a, link_id=link.id)
    reply = services.comment_add(**w, ticket=a, body="Also, the scanner is broken.")
    split = links.ticket_split(**w, ticket=a, comment_id=reply.id)
    entry = timeentries.time_entry_add(**w, ticket=a, minutes=30, note="call")
    timeentries.time_entry_update(**w, entry_id=entry.id, minutes=45)
    timeentries.time_entry_delete(**w, entry_id=entry.id)
    # Then A's endpoint has a message for each, in order, with its object
    sent = messages(tenant_a)
    assert [t for t, _ in sent] == ["ticket_link.added", "ticket_link.removed",
                                    "ticket_link.added", "ticket.split", "time_entry.added",
                                    "time_entry.updated", "time_entry.deleted"]  # fmt: skip
    assert sent[0][1]["link"] == {"id": link.id, "kind": "parent", "source": a.number,
                                  "target": b.number}  # fmt: skip
    assert sent[1][1]["link"]["id"] == link.id
    assert (sent[3][1]["ticket"]["number"], sent[3][1]["split_from"]) == (split.number, a.number)
    assert sent[4][1]["time_entry"]["minutes"] == 30
    assert (sent[5][1]["time_entry"]["minutes"], sent[5][1]["changed"]) == (45, ["minutes"])
    assert sent[6][1]["time_entry"]["id"] == entry.id
    # And B's endpoint received none of them
    assert messages(tenant_b) == []


def test_an_endpoint_may_subscribe_to_the_new_event_types(tenant_a):
    # When an endpoint is made for each of the new types, Then it is accepted
    endpoint, *_ = make_endpoint(tenant_a, "http://127.0.0.1:9/hook", NEW_TYPES)
    assert sorted(endpoint.event_types) == sorted(NEW_TYPES)
