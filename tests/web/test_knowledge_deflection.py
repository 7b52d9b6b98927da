"""Deflection: suggestions while a customer writes a ticket, and beside a ticket for agents."""

from __future__ import annotations

import re

import pytest

from deskbase.knowledge.models import Deflection
from tests.knowledge.factories import article, section
from tests.tickets.factories import open_ticket
from tests.web.helpers import signed_in

pytestmark = pytest.mark.django_db


def events(world) -> list[tuple]:
    return list(
        Deflection.objects.filter(organization=world.org)
        .order_by("id")
        .values_list("event", "article_id", "ticket_id")
    )


def test_a_customer_sees_articles_while_typing_and_each_step_is_counted(tenant_a, tenant_b):
    printer = article(tenant_a, section(tenant_a), title="Printer offline", body="Turn it on.")
    article(tenant_a, section(tenant_a, visibility="internal", name="Runbooks"),
            title="Printer firmware internals")  # fmt: skip
    article(tenant_b, section(tenant_b), title="Printer at globex")
    customer = signed_in(tenant_a.customer)
    form = customer.get("/portal/new/")
    attempt = re.search(rb'name="attempt" value="([0-9a-f]{32})"', form.content).group(1).decode()
    query = {"subject": "my printer", "description": "it says offline", "attempt": attempt}
    shown = customer.get("/portal/new/suggest", query)
    assert b"Printer offline" in shown.content
    assert b"internals" not in shown.content
    assert b"globex" not in shown.content
    customer.get("/portal/new/suggest", query)  # typing on: shown once per article
    opened = customer.get(f"/portal/articles/{printer.article_id}", {"attempt": attempt})
    assert opened["Location"] == f"/help/acme/articles/{printer.article_id}-printer-offline"
    ticket = customer.post("/portal/new/", {"subject": "Printer", "attempt": attempt})
    assert ticket.status_code == 302
    recorded = events(tenant_a)
    assert recorded[:2] == [("shown", printer.article_id, None),
                            ("clicked", printer.article_id, None)]  # fmt: skip
    assert recorded[2][0] == "sent_anyway"
    assert recorded[2][2] is not None
    assert len(recorded) == 3


def test_this_solved_it_opens_no_ticket(tenant_a):
    article(tenant_a, section(tenant_a), title="Reset your password")
    customer = signed_in(tenant_a.customer)
    attempt = "a" * 32
    customer.get("/portal/new/suggest", {"subject": "password reset", "attempt": attempt})
    done = customer.post("/portal/new/solved", {"attempt": attempt})
    assert done["Location"] == "/portal/"
    assert [e[0] for e in events(tenant_a)] == ["shown", "solved"]
    # A form without a valid token still gets its suggestions, uncounted
    shown = customer.get("/portal/new/suggest", {"subject": "password reset", "attempt": "x"})
    assert b"Reset your password" in shown.content
    refused = customer.post("/portal/new/solved", {"attempt": "not-a-token"}, follow=True)
    assert b"attempt: Not an attempt of this form." in refused.content
    assert len(events(tenant_a)) == 2


def test_an_agent_sees_suggested_articles_and_inserts_a_link(tenant_a, tenant_b):
    printer = article(tenant_a, section(tenant_a), title="Printer offline")
    ticket = open_ticket(tenant_a, subject="Printer shows offline")
    agent = signed_in(tenant_a.agent)
    listed = agent.get(f"/desk/tickets/{ticket.number}/articles")
    assert b"Printer offline" in listed.content
    box = agent.get(
        f"/desk/tickets/{ticket.number}/articles/{printer.article_id}/link", {"body": "Hello,"}
    )
    assert (
        f"Hello,\n\nPrinter offline: http://testserver/help/acme/articles/"
        f"{printer.article_id}-printer-offline"
    ) in box.content.decode()
    other = signed_in(tenant_b.agent)
    assert other.get(f"/desk/tickets/{ticket.number}/articles").status_code == 404
    assert (
        other.get(f"/desk/tickets/{ticket.number}/articles/{printer.article_id}/link").status_code
        == 404
    )
