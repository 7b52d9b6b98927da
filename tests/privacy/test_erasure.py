"""Erasing a customer: the person anonymized, their text and files gone, the ticket
skeletons (and so every statistic) kept; another tenant untouched."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.db import DatabaseError, connection, transaction

from deskbase.accounts.models import ApiToken, AuditLog, RecoveryCode, UserSession
from deskbase.accounts.tokens import token_create
from deskbase.analytics import refresh, selectors
from deskbase.core.errors import NotFound, PermissionDenied, ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.knowledge.models import Feedback
from deskbase.mail.models import InboundMessage, Participant
from deskbase.privacy import services
from deskbase.search import services as search_services
from deskbase.search.selectors import search
from deskbase.tickets import services as tickets
from deskbase.tickets.attachments import attachment_add, path_for
from deskbase.tickets.models import Ticket, TicketAttachment, TicketComment, TicketHistory
from tests.analytics.scenario import build
from tests.mail import admin_factories as mail_factories
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "Zanzibarian flamingo"  # a phrase only the customer ever wrote


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def erase(organization, actor, user_id, confirm):
    return services.customer_erase(
        organization=organization, actor=actor, user_id=user_id, confirm=confirm
    )


def sql(statement: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])
        return cursor.fetchall() if cursor.description else []


def _customer_history(world):
    """A customer with text, files, mail, searches, feedback, a session, a token, 2FA."""
    org, customer = world.org, world.customer
    customer.full_name = "Quentin Marchetti"
    customer.save(update_fields=["full_name"])
    ticket = open_ticket(world, subject=f"{SECRET} escaped", description=f"My {SECRET} is gone")
    tickets.ticket_update(organization=org, actor=world.agent, ticket=ticket,
                          version=ticket.version, subject=f"{SECRET} escaped again")  # fmt: skip
    mine = tickets.comment_add(organization=org, actor=customer, ticket=ticket,
                               body=f"Still no {SECRET} from Quentin")  # fmt: skip
    theirs = tickets.comment_add(organization=org, actor=world.agent, ticket=ticket,
                                 body="We are looking")  # fmt: skip
    attachment_add(organization=org, actor=customer, ticket=ticket, file_name="photo.txt",
                   stream=io.BytesIO(b"my flamingo photo"), comment=mine)  # fmt: skip
    box = mail_factories.mailbox(world)
    raw = mail_factories.inbound(world, box, sender=customer.email, ticket=ticket,
                                 state="reply", review_cause="", decision="")  # fmt: skip
    with tenant(org):
        Participant.objects.create(organization=org, ticket=ticket, email=customer.email)
        RecoveryCode.objects.create(organization=org, user=customer, code_hash="a" * 64)
        Feedback.objects.create(organization=org, article_id=_article(world), language="en",
                                visitor=f"u:{customer.id}", helpful=False, reason="unclear",
                                comment=f"{SECRET} not covered")  # fmt: skip
    search_services.search_log(user=customer, text=SECRET, types=["tickets"], result_count=1,
                               latency_ms=1.0)  # fmt: skip
    token_create(organization=org, actor=customer, name="mine")
    session = SessionStore()
    session.create()
    with tenant(org):
        UserSession.objects.create(organization_id=org.id, user_id=customer.id,
                                   address="203.0.113.9", user_agent="Firefox/1",
                                   session_key=session.session_key)  # fmt: skip
    return ticket, mine, theirs, raw, session.session_key


def _article(world) -> int:
    from deskbase.knowledge import services as kb

    category = kb.category_create(organization=world.org, actor=world.admin, name="Help")
    section = kb.section_create(organization=world.org, actor=world.admin,
                                category_id=category.pk, name="Start")  # fmt: skip
    return kb.article_create(organization=world.org, actor=world.admin, section_id=section.pk,
                             title="Flamingos", body="About birds.").article_id  # fmt: skip


def test_erasing_a_customer_leaves_no_trace_of_them_but_the_skeleton(tenant_a, tenant_b):
    # Given a customer with tickets, comments, a file, mail, searches, feedback, sessions
    org, customer = tenant_a.org, tenant_a.customer
    ticket, mine, theirs, raw, session_key = _customer_history(tenant_a)
    with tenant(org):
        file = TicketAttachment.objects.get(ticket=ticket)
    # and tenant B's customer, with the same phrase
    other = open_ticket(tenant_b, subject=f"{SECRET} in globex")
    before = Ticket.all_objects.get(pk=ticket.pk)
    for text in (SECRET, "Quentin", "flamingo"):  # found before
        assert any(group.items for group in search(user=tenant_a.admin, text=text).groups.values())

    # When an admin erases the customer, typing their address
    counts = erase(org, tenant_a.admin, customer.id, customer.email)

    # Then the person is a placeholder who cannot sign in
    person = get_user_model().all_objects.get(pk=customer.id)
    assert person.full_name == f"Erased customer {customer.id}"
    assert person.email == f"erased-{customer.id}@erased.invalid"
    assert not person.is_active
    assert not person.has_usable_password()
    with tenant(org):
        assert not ApiToken.objects.filter(user=customer, revoked_at__isnull=True).exists()
        assert not RecoveryCode.objects.filter(user=customer).exists()
        assert not UserSession.objects.filter(user_id=customer.id, ended_at__isnull=True).exists()
        assert not UserSession.objects.filter(user_id=customer.id, address__isnull=False).exists()
    assert not SessionStore().exists(session_key)
    # and their text is gone from the ticket, its history and their comment
    with tenant(org):
        after = Ticket.all_objects.get(pk=ticket.pk)
        assert (after.subject, after.description) == ("[redacted]", "")
        assert TicketComment.objects.get(pk=mine.pk).body_text == "[redacted]"
        assert TicketComment.objects.get(pk=theirs.pk).body_text == "We are looking"
        values = TicketHistory.objects.filter(ticket_id=ticket.pk).values_list(
            "old_value", "new_value"
        )
        assert not [v for pair in values for v in pair if v and SECRET in v]
        # their file and raw mail are gone, rows and bytes
        assert not TicketAttachment.objects.filter(pk=file.pk).exists()
        assert not InboundMessage.objects.filter(pk=raw.pk).exists()
        assert not Participant.objects.filter(email=customer.email).exists()
        feedback = Feedback.objects.get()
        assert (feedback.comment, feedback.helpful) == ("", False)  # the vote stays, unnamed
        assert feedback.visitor.startswith("erased:")
    assert not path_for(file.sha256).exists()
    assert not path_for(raw.raw_sha256).exists()
    assert sql("SELECT count(*) FROM search_searchlog WHERE user_id = %s", [customer.id]) == [(0,)]
    # and the ticket's skeleton is as it was
    keep = ("number", "status", "priority", "channel", "team_id", "assignee_id", "customer_id",
            "created_at", "first_response_due_at", "resolution_due_at", "closed_at")  # fmt: skip
    assert {f: getattr(after, f) for f in keep} == {f: getattr(before, f) for f in keep}
    # and a search for their name or their phrase finds nothing any more
    for text in (SECRET, "Quentin", "Marchetti", "flamingo"):
        found = search(user=tenant_a.admin, text=text)
        assert not any(group.items for group in found.groups.values()), (text, found)
    # while tenant B's ticket with the same words is untouched
    with tenant(tenant_b.org):
        assert Ticket.objects.get(pk=other.pk).subject == f"{SECRET} in globex"
    # and the erasure is audited with what it did
    with tenant(org):
        entry = AuditLog.objects.get(organization_id=org.id, action="customer_erased")
    assert (entry.actor_id, entry.subject_id) == (tenant_a.admin.id, customer.id)
    assert entry.detail == counts
    assert (counts["tickets"], counts["comments"]) == (1, 1)


def test_a_file_another_row_still_uses_is_kept(tenant_a, tenant_b):
    # Given the same bytes attached by the customer and by tenant B's agent
    same = b"shared bytes"
    ticket = open_ticket(tenant_a)
    attachment_add(organization=tenant_a.org, actor=tenant_a.customer, ticket=ticket,
                   file_name="a.txt", stream=io.BytesIO(same))  # fmt: skip
    kept = attachment_add(organization=tenant_b.org, actor=tenant_b.agent,
                          ticket=open_ticket(tenant_b), file_name="b.txt",
                          stream=io.BytesIO(same))  # fmt: skip
    # When the customer is erased
    erase(tenant_a.org, tenant_a.admin, tenant_a.customer.id, tenant_a.customer.email)
    # Then tenant B's file is still there
    assert path_for(kept.sha256).read_bytes() == same


def test_analytics_are_the_same_before_and_after_erasure(tenant_a):
    # Given a month of tickets of tenant A's customer, and the views refreshed
    scenario = build(tenant_a)
    org = tenant_a.org
    refresh.refresh_views()
    filters = selectors.filters_for(org, start=scenario.day, end=scenario.day + timedelta(days=5))

    def figures():
        return (selectors.dashboard(organization=org, filters=filters),
                selectors.sla_performance(organization=org, filters=filters),
                selectors.customer_stats(organization=org, filters=filters))  # fmt: skip

    def strip(panels):
        # every figure; the customer's name is what erasure changes on purpose
        out = [{k: v for k, v in p.items() if k != "refreshed_at"} for p in panels]
        out[2]["customers"] = [{k: v for k, v in c.items() if k != "name"}
                               for c in out[2]["customers"]]  # fmt: skip
        return out

    before = strip(figures())
    # When the customer is erased and the views refreshed again
    erase(org, tenant_a.admin, tenant_a.customer.id, tenant_a.customer.email)
    refresh.refresh_views()
    # Then every figure is the same
    assert before[0]["tickets"] > 0
    assert strip(figures()) == before


@pytest.mark.parametrize("role", ["agent", "manager", "admin"])
def test_staff_are_not_erased(tenant_a, role):
    person = getattr(tenant_a, role)
    with pytest.raises(ValidationFailed) as refused:
        erase(tenant_a.org, tenant_a.admin, person.id, person.email)
    assert "Only customers are erased" in str(refused.value.errors["user"])
    assert get_user_model().objects.get(pk=person.id).email == person.email


def test_erasure_needs_the_typed_address_and_an_admin(tenant_a, tenant_b):
    customer = tenant_a.customer
    with pytest.raises(ValidationFailed) as wrong:
        erase(tenant_a.org, tenant_a.admin, customer.id, "someone@else.test")
    assert "confirm" in wrong.value.errors
    with pytest.raises(PermissionDenied):
        erase(tenant_a.org, tenant_a.manager, customer.id, customer.email)
    # another tenant's customer is a missing one
    with pytest.raises(NotFound):
        erase(tenant_a.org, tenant_a.admin, tenant_b.customer.id, tenant_b.customer.email)
    assert get_user_model().objects.get(pk=customer.id).email == customer.email


def test_history_accepts_only_redaction(tenant_a):
    # Given a history row
    ticket = open_ticket(tenant_a, subject="Original")
    with tenant(tenant_a.org):
        row = TicketHistory.objects.filter(ticket_id=ticket.pk).first()
    # Then changing it to anything but the marker is refused by the database
    for change in ("new_value = 'forged'", "field = 'status'", "actor_id = 1"):
        with pytest.raises(DatabaseError), transaction.atomic():
            sql(f"UPDATE tickets_tickethistory SET {change} WHERE id = %s", [row.id])  # noqa: S608
    sql("UPDATE tickets_tickethistory SET new_value = '[redacted]' WHERE id = %s", [row.id])
    assert sql("SELECT new_value FROM tickets_tickethistory WHERE id = %s", [row.id]) == [
        ("[redacted]",)
    ]
    with pytest.raises(DatabaseError), transaction.atomic():
        sql("DELETE FROM tickets_tickethistory WHERE id = %s", [row.id])
