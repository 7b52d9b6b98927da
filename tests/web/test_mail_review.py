"""The desk's Suspended mail page and the ticket timeline's mail entries."""

from __future__ import annotations

import pytest

from deskbase.mail import ingest
from deskbase.mail.models import InboundMessage, ReviewCause, Source
from deskbase.tickets.models import Ticket
from tests.mail import admin_factories as mail_factories
from tests.mail.conftest import build_message, make_mailbox
from tests.tickets.factories import open_ticket
from tests.web.helpers import queries_of, signed_in

pytestmark = pytest.mark.django_db
MISSING = 987_654


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def held_reply(world, address: str):
    box = make_mailbox(world, address)
    opening = build_message(sender=f"customer@{world.org.slug}.test", to=address)
    first = ingest.receive(mailbox=box, raw=opening, source=Source.PUSH)
    held = ingest.receive(
        mailbox=box, source=Source.PUSH,
        raw=build_message(sender="Sam <sam@partner.example>", to=address, subject="Me too",
                          in_reply_to=f"<{first.message_id}>", body="I can confirm the fire."),
    )  # fmt: skip
    assert held.review_cause == ReviewCause.NOT_PARTICIPANT
    return Ticket.objects.get(pk=first.ticket_id), held


def test_the_page_lists_held_mail_with_its_cause_and_accepting_shows_it_on_the_ticket(
    tenant_a, tenant_b
):
    ticket, held = held_reply(tenant_a, "support@acme.test")
    held_reply(tenant_b, "support@globex.test")
    client = signed_in(tenant_a.agent)
    # The queue shows tenant A's message: sender, subject, cause
    page = client.get("/desk/mail/review/").content.decode()
    assert "sam@partner.example" in page
    assert "Me too" in page
    assert "Sender is not a participant of the ticket" in page
    assert "globex" not in page
    # When the agent accepts it
    done = client.post(f"/desk/mail/{held.pk}/accept", follow=True)
    assert "Accepted:" in done.content.decode()
    assert InboundMessage.objects.get(pk=held.pk).state == "reply"
    # Then the ticket's timeline shows both messages with their decisions
    timeline = client.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert "Mail from sam@partner.example" in timeline
    assert "Accepted from review by" in timeline
    assert f"/desk/mail/{held.pk}/raw" in timeline


def test_assigning_to_an_unknown_ticket_number_says_so_and_changes_nothing(tenant_a, tenant_b):
    _, held = held_reply(tenant_a, "support@acme.test")
    client = signed_in(tenant_a.agent)
    form = {"ticket": str(MISSING), "next": "/desk/mail/review/"}
    response = client.post(f"/desk/mail/{held.pk}/assign", form, follow=True)
    assert response.redirect_chain[-1][0] == "/desk/mail/review/"
    assert f"No ticket #{MISSING} here." in response.content.decode()
    assert InboundMessage.objects.get(pk=held.pk).state == "review"
    target = open_ticket(tenant_a, subject="Right one")
    client.post(f"/desk/mail/{held.pk}/assign", {"ticket": f"#{target.number}"})
    row = InboundMessage.objects.get(pk=held.pk)
    assert (row.state, row.ticket_id) == ("reply", target.pk)


def test_discarding_and_another_tenants_mail_and_customers(tenant_a, tenant_b):
    _, mine = held_reply(tenant_a, "support@acme.test")
    _, theirs = held_reply(tenant_b, "support@globex.test")
    client = signed_in(tenant_a.agent)
    for action in ("accept", "discard", "assign", "raw"):
        method = client.get if action == "raw" else client.post
        assert method(f"/desk/mail/{theirs.pk}/{action}").status_code == 404, action
    assert InboundMessage.objects.get(pk=theirs.pk).state == "review"
    customer = signed_in(tenant_a.customer)
    assert customer.get("/desk/mail/review/").status_code == 403
    assert customer.post(f"/desk/mail/{mine.pk}/discard").status_code == 403
    assert customer.get(f"/desk/mail/{mine.pk}/raw").status_code == 403
    client.post(f"/desk/mail/{mine.pk}/discard")
    assert InboundMessage.objects.get(pk=mine.pk).state == "discarded"
    raw = client.get(f"/desk/mail/{mine.pk}/raw")
    assert b"I can confirm the fire." in b"".join(raw.streaming_content)


def test_the_timeline_shows_outbound_states_with_the_servers_answer(tenant_a):
    ticket = open_ticket(tenant_a)
    mail_factories.outbound(tenant_a, ticket, state="sent")
    mail_factories.outbound(tenant_a, ticket, state="failed", error="550 5.1.1 No such user")
    page = signed_in(tenant_a.agent).get(f"/desk/tickets/{ticket.number}/").content.decode()
    email = ticket.customer.email
    assert f"Agent reply to {email}: sent" in page
    assert f"Agent reply to {email}: failed (550 5.1.1 No such user)" in page


def test_the_review_page_has_a_fixed_query_count(tenant_a):
    box = mail_factories.mailbox(tenant_a)
    client = signed_in(tenant_a.agent)
    mail_factories.inbound(tenant_a, box)
    queries_of(client, "/desk/mail/review/")  # session and caches warm for both counts
    one = queries_of(client, "/desk/mail/review/")
    for _ in range(49):
        mail_factories.inbound(tenant_a, box)
    fifty = queries_of(client, "/desk/mail/review/")
    assert one == fifty
    assert client.get("/desk/mail/review/").content.decode().count('<tr id="mail-') == 50
