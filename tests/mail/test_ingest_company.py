"""A mail from a new sender at a company's domain files the new customer under it."""

from __future__ import annotations

import pytest

from deskbase.core.tenancy import tenant
from deskbase.customers import selectors, services
from deskbase.mail import ingest
from deskbase.mail.models import Source
from deskbase.tickets.models import Ticket

pytestmark = pytest.mark.django_db


def test_a_new_sender_at_a_company_domain_joins_it(mail_a, mail_b, raw_message):
    # given a premium company with the domain initech.example in tenant A only
    company = services.company_create(organization=mail_a.org, actor=mail_a.world.admin,
                                      name="Initech", tier="premium",
                                      domains=["initech.example"])  # fmt: skip
    # when a stranger from that domain writes to each tenant's mailbox
    for world in (mail_a, mail_b):
        raw = raw_message(sender="Peter <peter@initech.example>", to=world.mailbox.address)
        ingest.receive(mailbox=world.mailbox, raw=raw, source=Source.PUSH)
    # then tenant A's new customer is Initech's, with its tier, and tenant B's is nobody's
    with tenant(mail_a.org):
        ticket = Ticket.objects.select_related("customer").get(organization=mail_a.org)
    assert ticket.customer.email == "peter@initech.example"
    assert ticket.customer.customer_tier == "premium"
    assert selectors.company_of(organization=mail_a.org, actor=mail_a.world.admin,
                                user_id=ticket.customer_id) == company  # fmt: skip
    with tenant(mail_b.org):
        theirs = Ticket.objects.get(organization=mail_b.org)
    assert selectors.company_of(organization=mail_b.org, actor=mail_b.world.admin,
                                user_id=theirs.customer_id) is None  # fmt: skip
