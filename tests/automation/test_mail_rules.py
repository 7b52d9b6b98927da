"""Rules on classified mail (mail.received): they act on the ticket the message made."""

from __future__ import annotations

import pytest

from deskbase.mail import ingest
from deskbase.mail.models import Source
from deskbase.tickets.models import Ticket
from tests.automation.helpers import firings
from tests.mail.conftest import mail_a, mail_media, private_mail_hosts, raw_message  # noqa: F401

pytestmark = pytest.mark.django_db


def test_a_rule_on_the_mail_sender_tags_the_ticket_the_message_opened(mail_a):  # noqa: F811
    from deskbase.automation import services

    services.rule_create(
        organization=mail_a.org, actor=mail_a.world.admin, name="From partners",
        activator="event", definition={
            "events": ["mail.received"],
            "conditions": {"all": [
                {"field": "mail.kind", "op": "is", "value": "normal"},
                {"field": "mail.sender", "op": "ends_with", "value": "@partner.example"},
            ]},
            "actions": [{"type": "add_tags", "tags": ["partner"]}],
        },
    )  # fmt: skip
    from tests.mail.conftest import build_message

    inbound = ingest.receive(mailbox=mail_a.mailbox, source=Source.PUSH,
                             raw=build_message(sender="Pat <pat@partner.example>"))  # fmt: skip
    other = ingest.receive(mailbox=mail_a.mailbox, source=Source.PUSH,
                           raw=build_message(sender="Sam <sam@else.example>"))  # fmt: skip
    assert Ticket.objects.get(pk=inbound.ticket_id).tags == ["partner"]
    assert Ticket.objects.get(pk=other.ticket_id).tags == []
    (firing,) = firings(mail_a.world)
    assert firing.trigger == "mail.received"
    assert [m["text"] for m in firing.matched] == [
        "mail classification is normal", "mail sender ends with @partner.example",
    ]  # fmt: skip
