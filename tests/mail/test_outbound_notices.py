"""Customer notifications: the resolved mail with its rating link in the organization's
language and time zone, each organization's own wording (and only its own), the cap on
automatic mail to one address, and the recipients a message never goes to."""

from __future__ import annotations

import zoneinfo

import pytest

from deskbase.core.errors import PermissionDenied, ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.mail import notices
from deskbase.mail.models import MailTemplate, OutboundMessage, Participant
from deskbase.mail.template_services import (
    mail_language_set,
    mail_template_reset,
    mail_template_save,
)
from deskbase.organizations.models import Organization
from deskbase.outbox import delivery
from deskbase.outbox.models import OutboxMessage
from deskbase.tickets import services
from deskbase.tickets.models import Ticket
from tests.mail.relay import Relay, make_mailbox, relay_fixture  # noqa: F401  (fixture)
from tests.tickets.factories import open_ticket
from tests.web.helpers import signed_in

pytestmark = pytest.mark.django_db

REPLY = "Dear customer,\n\n{{ reply }}\n\nYours, {{ agent_name }} of {{ organization }}"


def test_the_resolved_mail_is_in_the_organizations_language_and_time_zone(
    tenant_a, relay, settings
):
    # Given an organization writing German, in Berlin's time zone
    settings.PUBLIC_URL = "https://help.acme.test"
    Organization.objects.filter(id=tenant_a.org.id).update(timezone="Europe/Berlin")
    tenant_a.org.refresh_from_db()
    mail_language_set(organization=tenant_a.org, actor=tenant_a.admin, language="de")
    make_mailbox(tenant_a.org, relay.port)
    ticket = open_ticket(tenant_a, subject="Drucker brennt")

    # When an agent resolves the ticket in the desk
    response = signed_in(tenant_a.agent).post(
        f"/desk/tickets/{ticket.number}/status", {"status": "resolved", "version": ticket.version}
    )
    assert response.status_code == 302
    delivery.drain()

    # Then the customer got the German resolved mail, the time in Berlin's zone
    [sent] = relay.messages
    resolved_at = Ticket.objects.get(id=ticket.id).resolved_at
    local = resolved_at.astimezone(zoneinfo.ZoneInfo("Europe/Berlin"))
    months = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
              "September", "Oktober", "November", "Dezember")  # fmt: skip
    when = f"{local.day}. {months[local.month - 1]} {local.year}, {local:%H:%M} Uhr ({local:%Z})"
    assert sent.header("Subject").startswith("Gelöst: Drucker brennt [#")
    assert f"wurde am {when} gelöst" in sent.text()
    assert local.tzname() in ("CET", "CEST")
    # ... with the rating link of the portal, which shows the rating form
    link = f"https://help.acme.test/portal/tickets/{ticket.number}/#rate-form"
    assert link in sent.text()
    assert f'href="{link}"' in sent.html()
    page = signed_in(tenant_a.customer).get(f"/portal/tickets/{ticket.number}/")
    assert 'id="rate-form"' in page.content.decode()
    assert sent.header("Auto-Submitted") == "auto-generated"
    assert OutboundMessage.objects.get().kind == "resolved"


def test_an_organizations_own_wording_is_used_and_can_be_reset(tenant_a, relay):
    make_mailbox(tenant_a.org, relay.port)
    subject = "Answer on {{ ticket_subject }}"
    mail_template_save(organization=tenant_a.org, actor=tenant_a.admin, kind="reply",
                       language="en", subject=subject, body=REPLY)  # fmt: skip
    ticket = open_ticket(tenant_a, subject="Toner")
    services.comment_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                         body="New toner is on its way.")  # fmt: skip
    delivery.drain()

    [sent] = relay.messages
    assert sent.header("Subject").startswith("Answer on Toner [#")
    text = sent.text()
    assert "Dear customer,\n\nNew toner is on its way.\n\nYours, Acme Agent of Acme" in text

    # When the wording is reset, the built-in one is used again
    mail_template_reset(organization=tenant_a.org, actor=tenant_a.admin, kind="reply",
                        language="en")  # fmt: skip
    assert not notices.wording(tenant_a.org, "reply").custom
    assert notices.wording(tenant_a.org, "reply").subject == "Re: {{ ticket_subject }}"


@pytest.mark.parametrize(
    ("kind", "subject", "body", "field"),
    [
        ("reply", "Re", "Hello {{ password }}", "body"),
        ("reply", "Re", "No reply in here", "body"),
        ("reply", "Re {{ reply }}", "{{ reply }}", "subject"),
        ("received", "Got it", "{{ csat_url }}", "body"),
        ("resolved", " ", "Done", "subject"),
        ("nonsense", "x", "y", "kind"),
    ],
)
def test_a_template_with_an_unknown_placeholder_or_without_the_reply_is_refused(
    tenant_a, kind, subject, body, field
):
    with pytest.raises(ValidationFailed) as refused:
        mail_template_save(organization=tenant_a.org, actor=tenant_a.admin, kind=kind,
                           language="en", subject=subject, body=body)  # fmt: skip
    assert field in refused.value.errors
    assert not MailTemplate.objects.exists()


def test_only_admins_change_templates_and_the_language(tenant_a):
    for person in (tenant_a.manager, tenant_a.agent, tenant_a.customer):
        with pytest.raises(PermissionDenied):
            mail_template_save(organization=tenant_a.org, actor=person, kind="reply",
                               language="en", subject="x", body="{{ reply }}")  # fmt: skip
        with pytest.raises(PermissionDenied):
            mail_language_set(organization=tenant_a.org, actor=person, language="de")
    with pytest.raises(ValidationFailed) as refused:
        mail_language_set(organization=tenant_a.org, actor=tenant_a.admin, language="xx")
    assert "language" in refused.value.errors


def test_two_organizations_never_share_wording_or_mailboxes(tenant_a, tenant_b, relay, request):
    # Given two organizations, each with its mailbox; only the first words its replies
    other_relay = Relay().start()
    try:
        make_mailbox(tenant_a.org, relay.port, address="support@acme.test")
        make_mailbox(tenant_b.org, other_relay.port, address="help@globex.test")
        subject = "Acme says: {{ ticket_subject }}"
        mail_template_save(organization=tenant_a.org, actor=tenant_a.admin, kind="reply",
                           language="en", subject=subject, body=REPLY)  # fmt: skip
        for world in (tenant_a, tenant_b):
            ticket = open_ticket(world, subject="Same question")
            services.comment_add(organization=world.org, actor=world.agent, ticket=ticket,
                                 body=f"Answer of {world.org.slug}")  # fmt: skip

        # When the worker delivers both
        assert delivery.drain().delivered == 2

        # Then each went through its own organization's relay and mailbox, in its wording
        [from_a], [from_b] = relay.messages, other_relay.messages
        assert from_a.mail_from == "support@acme.test"
        assert from_a.header("Subject").startswith("Acme says: Same question")
        assert from_a.rcpt_tos == ["customer@acme.test"]
        assert from_b.mail_from == "help@globex.test"
        assert from_b.header("Subject").startswith("Re: Same question")
        assert from_b.rcpt_tos == ["customer@globex.test"]
        assert "Answer of globex" in from_b.text()
        assert "Dear customer" not in from_b.text()
        assert from_b.header("X-Deskbase-Loop") == "globex"
        # ... and the second organization sees neither the first one's wording nor its mail
        request.getfixturevalue("app_role")
        with tenant(tenant_b.org):
            assert not MailTemplate.objects.exists()
            assert not notices.wording(tenant_b.org, "reply").custom
            assert {m.ticket.organization_id for m in OutboundMessage.objects.all()} == {
                tenant_b.org.id
            }
    finally:
        other_relay.stop()


def test_automatic_mail_to_one_address_is_capped(tenant_a, relay, settings):
    # Given a cap of two automatic messages an hour to one address
    settings.MAIL_AUTOMATIC_PER_HOUR = 2
    make_mailbox(tenant_a.org, relay.port)

    # When the customer opens three tickets within the hour
    for n in range(3):
        services.ticket_create(organization=tenant_a.org, actor=tenant_a.customer,
                               subject=f"Question {n}", channel="portal")  # fmt: skip
    delivery.drain()

    # Then two acknowledgements went out; the third was kept back with its reason
    assert len(relay.messages) == 2
    capped = OutboundMessage.objects.get(state="suppressed")
    assert capped.kind == "received"
    assert "rate cap: 2 automatic messages to customer@acme.test in the last hour" in capped.error
    assert OutboxMessage.objects.count() == 2
    # ... while an agent's reply is never capped
    services.comment_add(organization=tenant_a.org, actor=tenant_a.agent,
                         ticket=capped.ticket, body="Human answer")  # fmt: skip
    delivery.drain()
    assert len(relay.messages) == 3


def test_mail_never_goes_to_the_organizations_own_mailboxes_or_the_author(tenant_a, relay):
    # Given a ticket whose CCs include a mailbox's plus-address and the replying agent
    make_mailbox(tenant_a.org, relay.port)
    ticket = open_ticket(tenant_a)
    for email in ("support+x@acme.test", "agent@acme.test", "colleague@customer.example"):
        Participant.objects.create(organization=tenant_a.org, ticket=ticket, email=email)

    services.comment_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                         body="Answer")  # fmt: skip
    delivery.drain()

    [sent] = relay.messages
    assert sorted(sent.rcpt_tos) == ["colleague@customer.example", "customer@acme.test"]


def test_a_customer_who_is_a_mailbox_gets_nothing_and_the_row_says_why(tenant_a, relay):
    make_mailbox(tenant_a.org, relay.port, address="customer@acme.test")
    ticket = open_ticket(tenant_a)
    services.comment_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                         body="Answer")  # fmt: skip
    row = OutboundMessage.objects.get()
    assert (row.state, row.error) == ("suppressed", "no recipient to write to")
    assert not OutboxMessage.objects.exists()


def test_the_notifications_page_shows_and_saves_the_wording(tenant_a, tenant_b):
    admin = signed_in(tenant_a.admin)
    page = admin.get("/manage/notifications/")
    assert page.status_code == 200
    assert "We received your request: {{ ticket_subject }}" in page.content.decode()

    saved = admin.post("/manage/notifications/", {
        "action": "save", "kind": "received", "language": "de",
        "subject": "Danke: {{ ticket_subject }}", "body": "Hallo {{ customer_name }}",
    })  # fmt: skip
    assert saved.status_code == 302
    german = admin.get("/manage/notifications/?language=de").content.decode()
    assert "Danke: {{ ticket_subject }}" in german
    assert "(your own wording)" in german
    # A manager reads, cannot write; the other organization's admin sees the default only
    manager = signed_in(tenant_a.manager)
    assert manager.get("/manage/notifications/?language=de").status_code == 200
    refused = manager.post("/manage/notifications/", {
        "action": "save", "kind": "received", "language": "de", "subject": "x", "body": "y",
    })  # fmt: skip
    assert refused.status_code == 403
    assert signed_in(tenant_a.customer).get("/manage/notifications/").status_code == 403
    theirs = signed_in(tenant_b.admin).get("/manage/notifications/?language=de").content.decode()
    assert "Danke" not in theirs
    # A bad template goes back to the page with the field named
    bad = admin.post("/manage/notifications/", {
        "action": "save", "kind": "reply", "language": "en", "subject": "Re", "body": "no reply",
    }, follow=True)  # fmt: skip
    assert "body: The body must contain {{ reply }}." in bad.content.decode()
