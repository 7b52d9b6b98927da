"""Notifications by mail leave through the outbox to a real SMTP relay (aiosmtpd on
loopback), in the organization's language, once per event."""

from __future__ import annotations

import pytest
from django.utils import timezone

from deskbase.outbox import delivery
from deskbase.outbox.models import OutboxMessage
from deskbase.tickets import services
from tests.mail.relay import Relay, make_mailbox, relay_fixture  # noqa: F401  (fixture)
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db


def notification_rows() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(consumer="notifications.mail").order_by("id"))


def test_an_assignment_is_mailed_to_the_assignee_in_the_organizations_language(tenant_a, relay):
    # Given an organization writing German, with a mailbox that sends through the relay
    tenant_a.org.language = "de"
    tenant_a.org.save(update_fields=["language"])
    make_mailbox(tenant_a.org, relay.port)
    ticket = open_ticket(tenant_a, subject="Drucker brennt")
    # When the manager assigns the ticket to the agent (who gets mail for it by default)
    services.ticket_assign(organization=tenant_a.org, actor=tenant_a.manager, ticket=ticket,
                           assignee=tenant_a.agent)  # fmt: skip
    # Then one outbox row was written with the change, and the worker sends it
    assert len(notification_rows()) == 1
    OutboxMessage.objects.filter(state="pending").update(next_attempt_at=timezone.now())
    delivery.drain()
    mails = [m for m in relay.messages if tenant_a.agent.email in m.rcpt_tos]
    assert len(mails) == 1
    mail = mails[0]
    assert mail.header("Subject") == f"[#{ticket.number}] Ihnen zugewiesen: Drucker brennt"
    assert mail.header("Auto-Submitted") == "auto-generated"
    assert "von Acme Manager" in mail.text()
    # And the manager, who assigned it, got nothing
    assert not [m for m in relay.messages if tenant_a.manager.email in m.rcpt_tos]


def test_without_a_sending_mailbox_nothing_is_enqueued(tenant_a):
    ticket = open_ticket(tenant_a)
    services.ticket_assign(organization=tenant_a.org, actor=tenant_a.manager, ticket=ticket,
                           assignee=tenant_a.agent)  # fmt: skip
    assert notification_rows() == []


def test_the_organizations_own_wording_of_the_agent_notice_is_used(tenant_a, relay):
    # Given an admin worded the agent notice the organization's way
    from deskbase.mail.template_services import mail_template_save

    mail_template_save(organization=tenant_a.org, actor=tenant_a.admin, kind="agent_notice",
                       language="en", subject="Desk: {{ event }} on #{{ ticket_number }}",
                       body="{{ event }} {{ actor_name }}. {{ ticket_url }}")  # fmt: skip
    make_mailbox(tenant_a.org, relay.port)
    ticket = open_ticket(tenant_a)
    # When the ticket is assigned to the agent and the worker delivers
    services.ticket_assign(organization=tenant_a.org, actor=tenant_a.manager, ticket=ticket,
                           assignee=tenant_a.agent)  # fmt: skip
    OutboxMessage.objects.filter(state="pending").update(next_attempt_at=timezone.now())
    delivery.drain()
    # Then the mail has the organization's words
    (mail,) = [m for m in relay.messages if tenant_a.agent.email in m.rcpt_tos]
    assert mail.header("Subject") == f"Desk: Assigned to you on #{ticket.number}"
    assert mail.text().startswith("Assigned to you by Acme Manager. http")
    assert f"/desk/tickets/{ticket.number}/" in mail.text()
