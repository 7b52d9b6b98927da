"""Ticket links and split: the database's rules, both tickets' history, tenant isolation."""

from __future__ import annotations

import io

import pytest
from django.db import IntegrityError, connection, transaction

from deskbase.core.errors import NotFound, PermissionDenied, ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.tickets import links, services
from deskbase.tickets.attachments import attachment_add
from deskbase.tickets.models import CommentKind, TicketAttachment, TicketHistory, TicketLink
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db


def _link(world, ticket, other, relation):
    return links.link_add(organization=world.org, actor=world.agent, ticket=ticket, other=other,
                          relation=relation)  # fmt: skip


def _seen_from(world, ticket):
    found = links.ticket_links(organization=world.org, actor=world.agent, ticket=ticket)
    return [(v.relation, v.ticket.number) for v in found]


def test_a_link_shows_on_both_tickets_with_history_on_both(tenant_a):
    parent, child = open_ticket(tenant_a, subject="Outage"), open_ticket(tenant_a, subject="Mine")
    _link(tenant_a, parent, child, "child")
    assert _seen_from(tenant_a, parent) == [("parent of", child.number)]
    assert _seen_from(tenant_a, child) == [("child of", parent.number)]
    with tenant(tenant_a.org):
        rows = {(h.ticket_id, h.new_value) for h in TicketHistory.objects.filter(field="link")}
    assert rows == {(parent.id, f"parent of #{child.number}"),
                    (child.id, f"child of #{parent.number}")}  # fmt: skip


def test_no_self_link_and_no_second_link_between_two_tickets(tenant_a):
    one, two = open_ticket(tenant_a), open_ticket(tenant_a)
    with pytest.raises(ValidationFailed) as error:
        _link(tenant_a, one, one, "related")
    assert error.value.field == "target"
    _link(tenant_a, one, two, "related")
    for ticket, other, relation in ((two, one, "related"), (two, one, "parent"),
                                    (one, two, "child")):  # fmt: skip
        with pytest.raises(ValidationFailed) as error:
            _link(tenant_a, ticket, other, relation)
        assert error.value.field == "target"
    with tenant(tenant_a.org):
        assert TicketLink.objects.count() == 1


def test_no_cycle_of_parents(tenant_a):
    a, b, c = (open_ticket(tenant_a, subject=s) for s in "abc")
    _link(tenant_a, a, b, "child")  # a parent of b
    _link(tenant_a, b, c, "child")  # b parent of c
    with pytest.raises(ValidationFailed) as error:
        _link(tenant_a, c, a, "child")  # c parent of a: a cycle
    assert error.value.field == "target"
    with tenant(tenant_a.org):
        assert TicketLink.objects.count() == 2


def test_the_database_refuses_a_cycle_and_another_tenants_ticket_under_raw_sql(tenant_a, tenant_b):
    a, b = open_ticket(tenant_a), open_ticket(tenant_a)
    theirs = open_ticket(tenant_b)
    _link(tenant_a, a, b, "child")
    insert = ("INSERT INTO tickets_ticketlink (organization_id, source_id, target_id, kind, "
              "created_at) VALUES (%s, %s, %s, %s, now())")  # fmt: skip
    for source, target in ((b.id, a.id), (a.id, theirs.id)):
        kind = "parent" if target != theirs.id else "related"
        with transaction.atomic(), connection.cursor() as cursor:
            with pytest.raises(IntegrityError):
                cursor.execute(insert, [tenant_a.org.id, source, target, kind])
            transaction.set_rollback(True)


def test_another_tenants_ticket_cannot_be_linked(tenant_a, tenant_b):
    mine, theirs = open_ticket(tenant_a), open_ticket(tenant_b)
    with pytest.raises(NotFound):
        _link(tenant_a, mine, theirs, "related")
    with tenant(tenant_a.org):
        assert not TicketLink.objects.exists()


def test_customers_cannot_link(tenant_a):
    one, two = open_ticket(tenant_a), open_ticket(tenant_a)
    with pytest.raises(PermissionDenied):
        links.link_add(organization=tenant_a.org, actor=tenant_a.customer, ticket=one, other=two,
                       relation="related")  # fmt: skip


def test_removing_a_link_writes_history_on_both(tenant_a):
    one, two = open_ticket(tenant_a), open_ticket(tenant_a)
    link = _link(tenant_a, one, two, "related")
    links.link_remove(organization=tenant_a.org, actor=tenant_a.agent, ticket=two,
                      link_id=link.id)  # fmt: skip
    assert _seen_from(tenant_a, one) == []
    with tenant(tenant_a.org):
        removed = TicketHistory.objects.filter(field="link", new_value__isnull=True)
        assert sorted(removed.values_list("ticket_id", flat=True)) == sorted([one.id, two.id])


def test_splitting_a_comment_makes_a_related_ticket_with_its_files(tenant_a):
    # given a ticket with a customer's reply that carries a file
    ticket = open_ticket(tenant_a, subject="Printer and scanner")
    reply = services.comment_add(organization=tenant_a.org, actor=tenant_a.customer,
                                 ticket=ticket, body="Also the scanner jams.")  # fmt: skip
    attachment_add(organization=tenant_a.org, actor=tenant_a.customer, ticket=ticket,
                   file_name="jam.txt", stream=io.BytesIO(b"jam"), comment=reply)  # fmt: skip
    # when an agent splits the reply off
    new = links.ticket_split(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                             comment_id=reply.pk, subject="Scanner jams")  # fmt: skip
    # then the new ticket is the same customer's, described by the reply, related, with the file
    assert (new.subject, new.customer_id) == ("Scanner jams", tenant_a.customer.id)
    assert "scanner jams" in new.description.lower()
    assert _seen_from(tenant_a, ticket) == [("related to", new.number)]
    with tenant(tenant_a.org):
        copied = TicketAttachment.objects.get(ticket=new)
        original = TicketAttachment.objects.get(ticket=ticket)
        assert (copied.sha256, copied.file_name) == (original.sha256, "jam.txt")
        notes = {c.ticket_id: c.body_text for c in
                 new.comments.model.objects.filter(kind=CommentKind.SYSTEM)}  # fmt: skip
        assert f"#{new.number}" in notes[ticket.id]
        assert f"#{ticket.number}" in notes[new.id]
        assert TicketHistory.objects.filter(ticket=ticket, field="link").exists()
        assert TicketHistory.objects.filter(ticket=new, field="link").exists()


def test_splitting_another_tickets_comment_is_not_found(tenant_a, tenant_b):
    ticket, other = open_ticket(tenant_a), open_ticket(tenant_a)
    theirs = open_ticket(tenant_b)
    foreign = services.comment_add(organization=tenant_b.org, actor=tenant_b.agent, ticket=theirs,
                                   body="Not yours")  # fmt: skip
    elsewhere = services.comment_add(organization=tenant_a.org, actor=tenant_a.agent,
                                     ticket=other, body="Other ticket")  # fmt: skip
    for comment in (foreign, elsewhere):
        with pytest.raises(NotFound):
            links.ticket_split(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                               comment_id=comment.pk)  # fmt: skip


def test_a_merged_ticket_carries_its_description_into_the_targets_timeline(tenant_a):
    source = open_ticket(tenant_a, subject="Dup", description="The toner is empty.")
    target = open_ticket(tenant_a, subject="Main")
    services.ticket_merge(organization=tenant_a.org, actor=tenant_a.agent, source=source,
                          target=target)  # fmt: skip
    with tenant(tenant_a.org):
        texts = list(target.comments.values_list("body_text", flat=True))
    assert any("The toner is empty." in text for text in texts)
