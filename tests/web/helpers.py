"""Signing in to the web pages and counting their queries."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def queries_of(client: Client, url: str, expect: int = 200) -> int:
    """How many queries one GET of `url` runs (the page must answer `expect`)."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == expect, response.content[:500]
    return len(captured.captured_queries)


def assert_staff_only(world: Any, url: str) -> None:
    """A customer of the organization gets a 403 at `url`; an anonymous visitor is sent to
    the sign-in page."""
    assert signed_in(world.customer).get(url).status_code == 403
    response = Client().get(url)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def canned_picked(world: Any, body: str) -> str:
    """The reply box the ticket page's canned picker returns for a new shared response
    with `body`, picked by the organization's agent on a new ticket."""
    from deskbase.tickets import canned
    from tests.tickets.factories import open_ticket

    ticket = open_ticket(world)
    answer = canned.canned_response_create(
        organization=world.org, actor=world.admin, name="Picked", body=body
    )
    response = signed_in(world.agent).get(
        f"/desk/tickets/{ticket.number}/canned?canned={answer.id}"
    )
    assert response.status_code == 200
    return response.content.decode()
