"""The customer portal: own tickets only, public conversation only, CSAT once."""

from __future__ import annotations

import io

from django.core.files.uploadedfile import SimpleUploadedFile

from deskbase.accounts.models import User
from deskbase.tickets import services
from deskbase.tickets.attachments import attachment_add
from deskbase.tickets.models import CsatResponse, Ticket, TicketAttachment
from tests.tickets.factories import open_ticket
from tests.web.helpers import signed_in


def test_customer_opens_a_ticket_with_a_file(tenant_a):
    client = signed_in(tenant_a.customer)
    upload = SimpleUploadedFile("screenshot.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64)
    response = client.post("/portal/new/", {"subject": "Cannot print", "description": "Help",
                                            "files": [upload]})  # fmt: skip
    ticket = Ticket.objects.get(organization=tenant_a.org, subject="Cannot print")
    assert response.status_code == 302
    assert response["Location"] == f"/portal/tickets/{ticket.number}/"
    assert ticket.customer_id == tenant_a.customer.id
    assert ticket.channel == "portal"
    attachment = TicketAttachment.objects.get(ticket=ticket)
    assert attachment.content_type == "image/png"
    download = client.get(f"/files/{attachment.id}/")
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"


def test_customer_sees_public_replies_not_internal_notes(tenant_a):
    ticket = open_ticket(tenant_a)
    services.comment_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                         body="Public answer")  # fmt: skip
    note = services.comment_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                                body="Internal gossip", kind="internal")  # fmt: skip
    secret = attachment_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                            stream=io.BytesIO(b"secret"), file_name="secret.txt",
                            comment=note)  # fmt: skip
    client = signed_in(tenant_a.customer)
    page = client.get(f"/portal/tickets/{ticket.number}/").content.decode()
    assert "Public answer" in page
    assert "Internal gossip" not in page
    assert "secret.txt" not in page
    assert client.get(f"/files/{secret.id}/").status_code == 404


def test_customer_cannot_see_another_customers_ticket(tenant_a, tenant_b):
    other = User.objects.create_user("other@acme.test", "pw-for-tests-1",
                                     organization=tenant_a.org, role="customer")  # fmt: skip
    theirs = open_ticket(tenant_a, customer=other, subject="Other's problem")
    foreign = open_ticket(tenant_b, subject="Globex problem")
    client = signed_in(tenant_a.customer)
    assert client.get(f"/portal/tickets/{theirs.number}/").status_code == 404
    listing = client.get("/portal/").content.decode()
    assert "Other's problem" not in listing
    assert "Globex problem" not in listing
    response = client.post(f"/portal/tickets/{theirs.number}/reply", {"body": "me too"})
    assert response.status_code == 404
    assert foreign.comments.count() == 0


def test_customer_cannot_enter_administration(tenant_a):
    client = signed_in(tenant_a.customer)
    assert client.get("/manage/people/").status_code == 403
    assert client.get("/manage/canned/").status_code == 403


def test_customer_replies_and_rates_once_resolved(tenant_a):
    ticket = open_ticket(tenant_a)
    client = signed_in(tenant_a.customer)
    url = f"/portal/tickets/{ticket.number}/"
    early = client.post(url + "rate", {"rating": "5"}, follow=True)
    assert "can be rated once it is resolved" in early.content.decode()
    client.post(url + "reply", {"body": "Still broken"})
    assert ticket.comments.filter(body_text="Still broken").exists()
    services.ticket_change_status(organization=tenant_a.org, actor=tenant_a.agent,
                                  ticket=ticket, status="resolved")  # fmt: skip
    page = client.get(url).content.decode()
    assert 'id="rate-form"' in page
    client.post(url + "rate", {"rating": "4", "comment": "Quick"})
    assert CsatResponse.objects.get(ticket=ticket).rating == 4
    assert 'id="rate-form"' not in client.get(url).content.decode()
    again = client.post(url + "rate", {"rating": "1"}, follow=True)
    assert "already been rated" in again.content.decode()
    assert CsatResponse.objects.get(ticket=ticket).rating == 4


def test_staff_are_sent_away_from_the_portal(tenant_a):
    assert signed_in(tenant_a.agent).get("/portal/").status_code == 403


def test_a_file_over_the_limit_is_refused_before_the_ticket_is_opened(tenant_a, settings):
    settings.MAX_ATTACHMENT_BYTES = 10
    client = signed_in(tenant_a.customer)
    upload = SimpleUploadedFile("big.txt", b"x" * 11)
    response = client.post("/portal/new/", {"subject": "Too big", "files": [upload]},
                           follow=True)  # fmt: skip
    assert "files: big.txt: The file is larger than 10 bytes." in response.content.decode()
    assert not Ticket.objects.filter(subject="Too big").exists()
