"""/api/v1/mail/review/{id}/accept|assign|discard, on mail held by the real intake."""

from __future__ import annotations

import pytest

from deskbase.mail import ingest
from deskbase.mail.models import InboundMessage, ReviewCause, Source
from deskbase.tickets.models import Ticket
from tests.api.helpers import ApiClient
from tests.mail.conftest import build_message, make_mailbox
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db
MISSING = 987_654


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def held_reply(world, address: str):
    """A ticket opened by mail, and a reply to it from a sender who does not take part."""
    box = make_mailbox(world, address)
    opening = build_message(sender=f"customer@{world.org.slug}.test", to=address)
    first = ingest.receive(mailbox=box, raw=opening, source=Source.PUSH)
    held = ingest.receive(
        mailbox=box, source=Source.PUSH,
        raw=build_message(sender="Sam <sam@partner.example>", to=address,
                          in_reply_to=f"<{first.message_id}>", body="I can confirm the fire."),
    )  # fmt: skip
    assert held.review_cause == ReviewCause.NOT_PARTICIPANT
    return Ticket.objects.get(pk=first.ticket_id), held


def test_an_agent_accepts_held_mail_and_it_joins_the_ticket(tenant_a):
    ticket, held = held_reply(tenant_a, "support@acme.test")
    agent = ApiClient(tenant_a.agent)
    listed = agent.get("/mail/review").json()["items"]
    assert [m["id"] for m in listed] == [held.pk]
    # When the agent accepts it
    response = agent.post(f"/mail/review/{held.pk}/accept")
    # Then it is a reply on the ticket, says why, and the queue is empty
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["state"], body["ticket"]) == ("reply", ticket.number)
    assert "Accepted from review" in body["decision"]
    assert agent.get("/mail/review").json()["items"] == []
    # And a second accept is a conflict, not a second reply
    again = agent.post(f"/mail/review/{held.pk}/accept")
    assert again.status_code == 409
    assert again["Content-Type"] == "application/problem+json"
    # The ticket's mail shows both messages with their decisions
    mail = agent.get(f"/tickets/{ticket.number}/mail").json()["inbound"]
    assert [m["state"] for m in mail] == ["ticket", "reply"]


def test_assigning_to_a_ticket_by_number_and_a_foreign_number_is_a_field_error(tenant_a, tenant_b):
    _, held = held_reply(tenant_a, "support@acme.test")
    target = open_ticket(tenant_a, subject="Another ticket")
    theirs = [open_ticket(tenant_b) for _ in range(4)][-1]  # a number tenant A lacks
    agent = ApiClient(tenant_a.agent)
    refused = agent.post(f"/mail/review/{held.pk}/assign", {"ticket": theirs.number})
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["ticket"]
    assert InboundMessage.objects.get(pk=held.pk).state == "review"
    done = agent.post(f"/mail/review/{held.pk}/assign", {"ticket": target.number})
    assert done.status_code == 200, done.content
    assert (done.json()["state"], done.json()["ticket"]) == ("reply", target.number)


def test_discarding_keeps_the_message_and_acts_on_nothing(tenant_a):
    ticket, held = held_reply(tenant_a, "support@acme.test")
    response = ApiClient(tenant_a.manager).post(f"/mail/review/{held.pk}/discard")
    assert response.status_code == 200
    assert response.json()["state"] == "discarded"
    row = InboundMessage.objects.get(pk=held.pk)
    assert (row.state, row.ticket_id) == ("discarded", ticket.pk)


def test_another_tenants_held_mail_is_absent_and_customers_are_refused(tenant_a, tenant_b):
    _, theirs = held_reply(tenant_b, "support@globex.test")
    _, mine = held_reply(tenant_a, "support@acme.test")
    agent = ApiClient(tenant_a.agent)
    for action, body in (("accept", None), ("discard", None)):
        hidden = agent.post(f"/mail/review/{theirs.pk}/{action}", body)
        missing = agent.post(f"/mail/review/{MISSING}/{action}", body)
        assert hidden.status_code == missing.status_code == 404
        assert hidden.json() == missing.json()
    assert agent.get(f"/mail/messages/{theirs.pk}/raw").status_code == 404
    customer = ApiClient(tenant_a.customer)
    assert customer.post(f"/mail/review/{mine.pk}/accept").status_code == 403
    assert customer.post(f"/mail/review/{mine.pk}/assign", {"ticket": 1}).status_code == 403
    assert customer.post(f"/mail/review/{mine.pk}/discard").status_code == 403
    assert InboundMessage.objects.get(pk=theirs.pk).state == "review"
    assert InboundMessage.objects.get(pk=mine.pk).state == "review"
