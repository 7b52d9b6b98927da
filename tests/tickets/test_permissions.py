"""What a customer may do with their ticket, decided once (tickets/permissions.py):
the services enforce it for the API and the portal, and the portal offers exactly
the acts the same rules accept. Two tenants in each scenario."""

from __future__ import annotations

import pytest

from deskbase.tickets import services
from deskbase.tickets.models import CsatResponse, Ticket
from deskbase.tickets.permissions import ticket_actions
from tests.api.helpers import ApiClient
from tests.tickets.factories import open_ticket
from tests.web.helpers import signed_in

pytestmark = pytest.mark.django_db


def ticket_in(world, status: str | None = None) -> Ticket:
    ticket = open_ticket(world)
    if status is not None:
        services.ticket_change_status(organization=world.org, actor=world.agent, ticket=ticket,
                                      status=status)  # fmt: skip
        ticket.refresh_from_db()
    return ticket


def portal_page(world, ticket: Ticket) -> str:
    response = signed_in(world.customer).get(f"/portal/tickets/{ticket.number}/")
    assert response.status_code == 200
    return response.content.decode()


def offers(page: str, ticket: Ticket, act: str) -> bool:
    return f'action="/portal/tickets/{ticket.number}/{act}"' in page


def status_of(ticket: Ticket) -> str:
    ticket.refresh_from_db()
    return ticket.status


def test_reply_is_offered_and_taken_until_the_ticket_is_closed(tenant_a, tenant_b):
    active, ended = ticket_in(tenant_a), ticket_in(tenant_a, "closed")
    api, portal = ApiClient(tenant_a.customer), signed_in(tenant_a.customer)
    # The rule
    assert ticket_actions(tenant_a.customer, active).reply
    assert not ticket_actions(tenant_a.customer, ended).reply
    # The portal offers it where it is taken, on both transports
    assert offers(portal_page(tenant_a, active), active, "reply")
    assert not offers(portal_page(tenant_a, ended), ended, "reply")
    assert api.post(f"/tickets/{active.number}/comments", {"body": "api"}).status_code == 201
    assert portal.post(f"/portal/tickets/{active.number}/reply", {"body": "web"}).status_code == 302
    assert active.comments.count() == 2
    # A closed ticket takes no reply: a 409 problem, a message on the page
    assert api.post(f"/tickets/{ended.number}/comments", {"body": "api"}).status_code == 409
    page = portal.post(f"/portal/tickets/{ended.number}/reply", {"body": "web"}, follow=True)
    assert "is closed; open a new ticket" in page.content.decode()
    assert ended.comments.count() == 0
    # Tenant B's customer reaches neither (A's #2 does not exist in B)
    assert ApiClient(tenant_b.customer).post(f"/tickets/{ended.number}/comments",
                                             {"body": "x"}).status_code == 404  # fmt: skip
    assert signed_in(tenant_b.customer).post(f"/portal/tickets/{ended.number}/reply",
                                             {"body": "x"}).status_code == 404  # fmt: skip


def test_close_is_offered_and_taken_until_the_ticket_has_ended(tenant_a, tenant_b):
    by_api, by_portal = ticket_in(tenant_a), ticket_in(tenant_a, "resolved")
    cancelled = ticket_in(tenant_a, "cancelled")
    api, portal = ApiClient(tenant_a.customer), signed_in(tenant_a.customer)
    assert ticket_actions(tenant_a.customer, by_api).close
    assert ticket_actions(tenant_a.customer, by_portal).close
    assert not ticket_actions(tenant_a.customer, cancelled).close
    assert offers(portal_page(tenant_a, by_portal), by_portal, "close")
    assert not offers(portal_page(tenant_a, cancelled), cancelled, "close")
    # Taken on both transports
    closed = api.post(f"/tickets/{by_api.number}/status", {"status": "closed"})
    assert (closed.status_code, closed.json()["status"]) == (200, "closed")
    assert portal.post(f"/portal/tickets/{by_portal.number}/close").status_code == 302
    assert status_of(by_portal) == "closed"
    # Refused on both for a cancelled ticket
    refused = api.post(f"/tickets/{cancelled.number}/status", {"status": "closed"})
    assert (refused.status_code, refused.json()["errors"][0]["field"]) == (422, "status")
    page = portal.post(f"/portal/tickets/{cancelled.number}/close", follow=True).content.decode()
    assert "cannot go from cancelled to closed" in page
    assert status_of(cancelled) == "cancelled"
    # Tenant B's customer cannot close A's ticket #3 through either
    assert ApiClient(tenant_b.customer).post(f"/tickets/{cancelled.number}/status",
                                             {"status": "closed"}).status_code == 404  # fmt: skip
    assert signed_in(tenant_b.customer).post(
        f"/portal/tickets/{cancelled.number}/close").status_code == 404  # fmt: skip


def test_a_customer_reopens_a_resolved_ticket_only(tenant_a, tenant_b):
    resolved, pending = ticket_in(tenant_a, "resolved"), ticket_in(tenant_a, "pending")
    api = ApiClient(tenant_a.customer)
    assert ticket_actions(tenant_a.customer, resolved).reopen
    assert not ticket_actions(tenant_a.customer, pending).reopen
    assert ticket_actions(tenant_a.agent, pending).reopen  # staff may
    # The API takes the one the rule allows and refuses the other
    reopened = api.post(f"/tickets/{resolved.number}/status", {"status": "open"})
    assert (reopened.status_code, reopened.json()["status"]) == (200, "open")
    assert api.post(f"/tickets/{pending.number}/status", {"status": "open"}).status_code == 403
    assert status_of(pending) == "pending"
    # The portal's way back for a resolved ticket is a reply, which reopens it
    again = ticket_in(tenant_a, "resolved")
    signed_in(tenant_a.customer).post(f"/portal/tickets/{again.number}/reply", {"body": "no"})
    assert status_of(again) == "open"
    # Tenant B's customer: no such ticket
    assert ApiClient(tenant_b.customer).post(f"/tickets/{again.number}/status",
                                             {"status": "open"}).status_code == 404  # fmt: skip


def test_rating_is_offered_and_taken_once_the_ticket_is_resolved(tenant_a, tenant_b):
    by_api, by_portal = ticket_in(tenant_a, "resolved"), ticket_in(tenant_a, "resolved")
    active = ticket_in(tenant_a)
    api, portal = ApiClient(tenant_a.customer), signed_in(tenant_a.customer)
    assert ticket_actions(tenant_a.customer, by_portal).rate
    assert not ticket_actions(tenant_a.customer, active).rate
    assert not ticket_actions(tenant_a.agent, by_portal).rate  # the customer's to give
    assert offers(portal_page(tenant_a, by_portal), by_portal, "rate")
    assert not offers(portal_page(tenant_a, active), active, "rate")
    # Taken on both
    assert api.post(f"/tickets/{by_api.number}/csat", {"rating": 5}).status_code == 201
    rated = portal.post(f"/portal/tickets/{by_portal.number}/rate", {"rating": "4"})
    assert rated.status_code == 302
    assert CsatResponse.objects.filter(ticket__in=[by_api, by_portal]).count() == 2
    # Once only: no longer offered, refused on both
    by_portal.refresh_from_db()
    assert not ticket_actions(tenant_a.customer, by_portal).rate
    assert not offers(portal_page(tenant_a, by_portal), by_portal, "rate")
    assert api.post(f"/tickets/{by_portal.number}/csat", {"rating": 1}).status_code == 409
    # Refused on both for a ticket not yet resolved
    refused = api.post(f"/tickets/{active.number}/csat", {"rating": 3})
    assert (refused.status_code, refused.json()["errors"][0]["field"]) == (409, "status")
    page = portal.post(f"/portal/tickets/{active.number}/rate", {"rating": "3"}, follow=True)
    assert "can be rated once it is resolved" in page.content.decode()
    assert not CsatResponse.objects.filter(ticket=active).exists()
    # Tenant B's customer rates nothing of A's
    assert ApiClient(tenant_b.customer).post(f"/tickets/{active.number}/csat",
                                             {"rating": 3}).status_code == 404  # fmt: skip
    assert signed_in(tenant_b.customer).post(f"/portal/tickets/{active.number}/rate",
                                             {"rating": "3"}).status_code == 404  # fmt: skip
