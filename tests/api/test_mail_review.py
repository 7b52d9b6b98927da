"""/api/v1/mail/review, /api/v1/tickets/{number}/mail, /api/v1/mail/messages/{id}/raw."""

from __future__ import annotations

import pytest

from tests.api.helpers import ApiClient
from tests.mail.admin_factories import inbound, mailbox, outbound
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db
MISSING = 987_654


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_the_review_queue_lists_waiting_mail_with_its_cause_for_staff(tenant_a, tenant_b):
    # Given mail in review in both tenants, and mail already handled in tenant A
    box = mailbox(tenant_a)
    waiting = inbound(tenant_a, box, review_cause="too_large", subject="Huge")
    ticket = open_ticket(tenant_a)
    inbound(tenant_a, box, state="ticket", review_cause="", ticket=ticket)
    inbound(tenant_b, mailbox(tenant_b), subject="Globex mail")
    # When an agent of tenant A lists the queue
    response = ApiClient(tenant_a.agent).get("/mail/review")
    # Then only tenant A's waiting message is there, with its cause in words
    assert response.status_code == 200
    items = response.json()["items"]
    assert [(m["id"], m["review_cause"], m["cause"]) for m in items] == [
        (waiting.pk, "too_large", "Too large")
    ]
    assert items[0]["mailbox_address"] == "support@acme.test"
    assert b"Globex" not in response.content


def test_the_review_queue_filters_by_cause_and_pages_by_cursor(tenant_a):
    box = mailbox(tenant_a)
    first = inbound(tenant_a, box, review_cause="rate_limited")
    inbound(tenant_a, box, review_cause="unparseable")
    third = inbound(tenant_a, box, review_cause="rate_limited")
    agent = ApiClient(tenant_a.agent)
    page = agent.get("/mail/review", cause="rate_limited", limit=1).json()
    assert [m["id"] for m in page["items"]] == [first.pk]
    rest = agent.get("/mail/review", cause="rate_limited", cursor=page["next_cursor"]).json()
    assert [m["id"] for m in rest["items"]] == [third.pk]
    assert rest["next_cursor"] is None
    bad = agent.get("/mail/review", cause="spam")
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "cause"


def test_customers_may_not_see_the_review_queue(tenant_a):
    inbound(tenant_a, mailbox(tenant_a))
    response = ApiClient(tenant_a.customer).get("/mail/review")
    assert response.status_code == 403
    assert b"example.test" not in response.content


def test_the_review_queue_costs_the_same_queries_for_1_and_50_messages(tenant_a):
    box = mailbox(tenant_a)
    agent = ApiClient(tenant_a.agent)
    inbound(tenant_a, box)
    agent.get("/mail/review")  # the token and the caches are warm for both counts
    with_one = list_size_and_queries_page(agent)
    for _ in range(49):
        inbound(tenant_a, box)
    with_fifty = list_size_and_queries_page(agent)
    assert (with_one[0], with_fifty[0]) == (1, 50)
    assert with_one[1] == with_fifty[1]


def list_size_and_queries_page(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = client.get("/mail/review", limit=50)
    assert response.status_code == 200
    return len(response.json()["items"]), len(queries)


def test_a_tickets_mail_shows_decisions_and_outbound_states(tenant_a, tenant_b):
    # Given a ticket opened by mail, a reply that went out, and one the server refused
    box = mailbox(tenant_a)
    ticket = open_ticket(tenant_a)
    inbound(tenant_a, box, state="ticket", review_cause="", ticket=ticket,
            decision="Opened #1 because no earlier message matched.")  # fmt: skip
    outbound(tenant_a, ticket, state="sent")
    outbound(tenant_a, ticket, state="failed", error="550 5.1.1 No such user")
    theirs = [open_ticket(tenant_b) for _ in range(3)][-1]  # a number tenant A lacks
    outbound(tenant_b, theirs, state="failed", error="Globex refusal")
    # When an agent reads the ticket's mail
    response = ApiClient(tenant_a.agent).get(f"/tickets/{ticket.number}/mail")
    # Then both directions are there, with the decision and the server's answer
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["inbound"][0]["decision"] == "Opened #1 because no earlier message matched."
    assert [(m["state"], m["error"]) for m in body["outbound"]] == [
        ("sent", ""),
        ("failed", "550 5.1.1 No such user"),
    ]
    assert b"Globex" not in response.content
    # And tenant B's ticket answers like a missing one; customers may not read mail
    agent = ApiClient(tenant_a.agent)
    hidden = agent.get(f"/tickets/{theirs.number}/mail")
    missing = agent.get(f"/tickets/{MISSING}/mail")
    assert hidden.status_code == missing.status_code == 404
    assert ApiClient(tenant_a.customer).get(f"/tickets/{ticket.number}/mail").status_code == 403


def test_staff_download_the_raw_message_and_another_tenants_is_absent(tenant_a, tenant_b):
    raw = b"From: a@example.test\r\nSubject: Raw\r\n\r\nexactly these bytes\r\n"
    mine = inbound(tenant_a, mailbox(tenant_a), raw=raw)
    theirs = inbound(tenant_b, mailbox(tenant_b))
    agent = ApiClient(tenant_a.agent)
    response = agent.get(f"/mail/messages/{mine.pk}/raw")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == raw
    assert response["Content-Type"] == "message/rfc822"
    assert response["Content-Disposition"].startswith("attachment;")
    hidden = agent.get(f"/mail/messages/{theirs.pk}/raw")
    missing = agent.get(f"/mail/messages/{MISSING}/raw")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()
    assert ApiClient(tenant_a.customer).get(f"/mail/messages/{mine.pk}/raw").status_code == 403
