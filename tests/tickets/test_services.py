"""Ticket services: one transaction each, errors that name the field, history for every change."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.utils import timezone

from deskbase.accounts import services as people
from deskbase.core import events
from deskbase.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed, Vetoed
from deskbase.core.tenancy import tenant
from deskbase.tickets import selectors, services
from deskbase.tickets.attachments import attachment_add
from deskbase.tickets.models import Category, Status, Ticket, TicketComment, TicketHistory
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db


def history_of(world, ticket) -> list[tuple[str, str | None, str | None]]:
    with tenant(world.org):
        return list(
            TicketHistory.objects.filter(ticket_id=ticket.id)
            .order_by("id")
            .values_list("field", "old_value", "new_value")
        )


def test_tickets_are_numbered_per_organization(tenant_a, tenant_b, app_role):
    # Given two tenants opening tickets
    a1, a2 = open_ticket(tenant_a), open_ticket(tenant_a)
    b1 = open_ticket(tenant_b)
    # Then each counts from 1 on its own
    assert (a1.number, a2.number, b1.number) == (1, 2, 1)


def test_create_records_who_created_it(tenant_a, app_role):
    ticket = open_ticket(tenant_a, priority="high", tags=["VIP", "vip", " billing "])
    assert ticket.tags == ["vip", "billing"]
    with tenant(tenant_a.org):
        created = TicketHistory.objects.get(ticket_id=ticket.id, field="created")
    assert created.actor_id == tenant_a.agent.id
    assert created.new_value == "new"


def test_a_customer_opens_tickets_only_for_themselves(tenant_a, app_role):
    ticket = services.ticket_create(
        organization=tenant_a.org, actor=tenant_a.customer, subject="Help", priority="high"
    )
    assert (ticket.customer_id, ticket.priority) == (tenant_a.customer.id, "high")
    # Urgent is the desk's triage call (docs/permissions.md).
    with pytest.raises(PermissionDenied):
        services.ticket_create(organization=tenant_a.org, actor=tenant_a.customer, subject="x",
                               priority="urgent")  # fmt: skip
    with pytest.raises(PermissionDenied):
        services.ticket_create(
            organization=tenant_a.org, actor=tenant_a.customer, subject="x",
            customer=tenant_a.agent,
        )  # fmt: skip


@pytest.mark.parametrize(
    ("field", "value"),
    [("status", "exploded"), ("priority", "whenever"), ("channel", "pigeon"), ("subject", "  ")],
)
def test_bad_values_name_the_field_and_write_nothing(tenant_a, app_role, field, value):
    kwargs = {"subject": "ok", field: value} if field != "status" else {"subject": "ok"}
    if field == "status":
        ticket = open_ticket(tenant_a)
        with pytest.raises(ValidationFailed) as error:
            services.ticket_change_status(
                organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket, status=value
            )
        assert error.value.field == "status"
        return
    with pytest.raises(ValidationFailed) as error:
        open_ticket(tenant_a, **kwargs)
    assert error.value.field == field
    with tenant(tenant_a.org):
        assert not Ticket.objects.exists()


def test_references_to_another_tenant_are_refused(tenant_a, tenant_b, app_role):
    # Given tenant B's agent, customer and category
    with tenant(tenant_b.org):
        foreign_category = Category.objects.create(organization=tenant_b.org, name="B only")
    # When tenant A refers to them, the error names the field and nothing is written
    for field, value in (
        ("customer", tenant_b.customer),
        ("assignee", tenant_b.agent),
        ("category", foreign_category),
    ):
        with pytest.raises(ValidationFailed) as error:
            open_ticket(tenant_a, **{field: value})
        assert error.value.field == field
    with tenant(tenant_a.org):
        assert not Ticket.objects.exists()


def test_update_writes_history_and_bumps_the_version(tenant_a, app_role):
    ticket = open_ticket(tenant_a)
    updated = services.ticket_update(
        organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket, version=ticket.version,
        subject="Printer on fire (again)", priority="urgent",
    )  # fmt: skip
    assert updated.version == ticket.version + 1
    changes = history_of(tenant_a, ticket)
    assert ("subject", "Printer on fire", "Printer on fire (again)") in changes
    assert ("priority", "medium", "urgent") in changes


def test_a_new_description_stores_its_html_too(tenant_a, app_role):
    # Given a ticket with a description
    ticket = open_ticket(tenant_a, description="Old words")
    # When an agent rewrites the description
    services.ticket_update(
        organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket, version=ticket.version,
        description="New <words>",
    )  # fmt: skip
    # Then the stored HTML (what the API and the pages show) is the new description's
    with tenant(tenant_a.org):
        stored = Ticket.objects.get(pk=ticket.pk)
    assert stored.description == "New <words>"
    assert "New &lt;words&gt;" in stored.description_html
    assert "Old" not in stored.description_html


def test_a_stale_version_is_a_conflict_that_names_the_newer_version(tenant_a, app_role):
    ticket = open_ticket(tenant_a)
    services.ticket_update(
        organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket, version=1, subject="A"
    )
    with pytest.raises(Conflict, match="you edited version 1, the latest is 2") as error:
        services.ticket_update(
            organization=tenant_a.org, actor=tenant_a.manager, ticket=ticket, version=1, subject="B"
        )
    assert error.value.field == "version"
    with tenant(tenant_a.org):
        assert Ticket.objects.get(pk=ticket.pk).subject == "A"


def test_status_machine_and_its_timestamps(tenant_a, app_role):
    ticket = open_ticket(tenant_a)
    change = lambda status, actor=tenant_a.agent: services.ticket_change_status(  # noqa: E731
        organization=tenant_a.org, actor=actor, ticket=ticket, status=status
    )
    assert change(Status.PENDING).sla_paused_at is not None or ticket.sla_policy_id is None
    resolved = change(Status.RESOLVED)
    assert resolved.resolved_at is not None
    # A customer may reopen a resolved ticket, which clears resolved_at
    reopened = change(Status.OPEN, actor=tenant_a.customer)
    assert reopened.resolved_at is None
    closed = change(Status.CLOSED)
    assert closed.closed_at is not None
    # Closed is final
    with pytest.raises(ValidationFailed, match="cannot go from closed to open"):
        change(Status.OPEN)


def test_the_first_public_staff_reply_is_the_first_response(tenant_a, app_role):
    ticket = open_ticket(tenant_a)
    services.comment_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                         body="internal", kind="internal")  # fmt: skip
    with tenant(tenant_a.org):
        assert Ticket.objects.get(pk=ticket.pk).first_response_at is None
    services.comment_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                         body="Hello <b>there</b>")  # fmt: skip
    with tenant(tenant_a.org):
        fresh = Ticket.objects.get(pk=ticket.pk)
        reply = TicketComment.objects.filter(ticket=ticket, kind="public").get()
    assert fresh.first_response_at == reply.created_at
    assert fresh.time_to_first_response >= timedelta(0)
    assert fresh.status == Status.OPEN
    assert "<b>" not in reply.body_html  # text is escaped, never interpreted as HTML


def test_customers_write_no_internal_notes_and_reopen_by_replying(tenant_a, app_role):
    ticket = open_ticket(tenant_a)
    with pytest.raises(PermissionDenied):
        services.comment_add(organization=tenant_a.org, actor=tenant_a.customer, ticket=ticket,
                             body="psst", kind="internal")  # fmt: skip
    services.ticket_change_status(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                                  status="pending")  # fmt: skip
    services.comment_add(organization=tenant_a.org, actor=tenant_a.customer, ticket=ticket,
                         body="Here are the logs")  # fmt: skip
    with tenant(tenant_a.org):
        assert Ticket.objects.get(pk=ticket.pk).status == Status.OPEN


def test_another_customer_cannot_touch_the_ticket(tenant_a, app_role):
    from deskbase.accounts.services import user_create

    stranger = user_create(organization=tenant_a.org, actor=None, email="s@acme.test")
    ticket = open_ticket(tenant_a)
    with pytest.raises(NotFound):
        services.comment_add(organization=tenant_a.org, actor=stranger, ticket=ticket, body="hi")


def test_csat_once_per_resolved_ticket_by_its_customer(tenant_a, app_role):
    ticket = open_ticket(tenant_a)
    rate = lambda rating, actor=tenant_a.customer: services.csat_record(  # noqa: E731
        organization=tenant_a.org, actor=actor, ticket=ticket, rating=rating
    )
    with pytest.raises(Conflict, match="once it is resolved"):
        rate(5)
    services.ticket_change_status(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                                  status="resolved")  # fmt: skip
    with pytest.raises(ValidationFailed) as error:
        rate(6)
    assert error.value.field == "rating"
    with pytest.raises(PermissionDenied):
        rate(5, actor=tenant_a.agent)
    rate(4)
    with pytest.raises(Conflict, match="already been rated"):
        rate(5)
    with tenant(tenant_a.org):
        assert Ticket.objects.get(pk=ticket.pk).satisfaction == 4


def test_merge_moves_the_conversation_and_closes_the_source(tenant_a, app_role):
    source, target = open_ticket(tenant_a, tags=["a"]), open_ticket(tenant_a, tags=["b"])
    services.comment_add(organization=tenant_a.org, actor=tenant_a.customer, ticket=source,
                         body="from the source")  # fmt: skip
    services.ticket_merge(organization=tenant_a.org, actor=tenant_a.agent, source=source,
                          target=target)  # fmt: skip
    with tenant(tenant_a.org):
        src, dst = Ticket.objects.get(pk=source.pk), Ticket.objects.get(pk=target.pk)
        bodies = list(TicketComment.objects.filter(ticket=dst).values_list("body_text", flat=True))
    assert src.status == Status.CLOSED
    assert src.merged_into_id == dst.id
    assert "from the source" in bodies
    assert any("was merged into this ticket" in b for b in bodies)
    assert set(dst.tags) == {"a", "b"}
    copied = [field for field, *_ in history_of(tenant_a, dst)]
    assert any(field.startswith(f"merged #{src.number}: ") for field in copied)
    with pytest.raises(ValidationFailed) as error:
        services.ticket_merge(organization=tenant_a.org, actor=tenant_a.agent, source=target,
                              target=target)  # fmt: skip
    assert error.value.field == "target"


def test_soft_delete_restore_and_purge(tenant_a, app_role, settings):
    ticket = open_ticket(tenant_a)
    deleted = services.ticket_soft_delete(organization=tenant_a.org, actor=tenant_a.agent,
                                          ticket=ticket, reason="spam")  # fmt: skip
    assert deleted.delete_reason == "spam"
    with tenant(tenant_a.org):
        assert not Ticket.objects.filter(pk=ticket.pk).exists()  # hidden by default
        assert Ticket.all_objects.filter(pk=ticket.pk).exists()
    with pytest.raises(Conflict, match="already deleted"):
        services.ticket_soft_delete(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket)
    services.ticket_restore(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket)
    with pytest.raises(Conflict, match="not deleted"):
        services.ticket_restore(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket)
    # Deleted again, then purged once the retention period has passed
    services.ticket_soft_delete(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket)
    settings.TRASH_RETENTION_DAYS = 30
    early = services.purge_trash(organization=tenant_a.org, now=timezone.now())
    assert early["tickets"] == 0
    later = services.purge_trash(organization=tenant_a.org, now=timezone.now() + timedelta(days=31))
    assert later["tickets"] == 1
    with tenant(tenant_a.org):
        assert not Ticket.all_objects.filter(pk=ticket.pk).exists()
        assert not TicketHistory.objects.filter(ticket_id=ticket.pk).exists()


def test_before_subscribers_can_veto_and_commit_subscribers_cannot_undo(
    tenant_a, app_role, django_capture_on_commit_callbacks, caplog
):
    seen: list[str] = []

    def veto(event):
        if "forbidden" in event.instance.subject:
            raise Vetoed("subjects may not say forbidden", field="subject")

    def record(event):
        seen.append(event.instance.subject)

    def broken_mailer(event):
        raise RuntimeError("mail server down")

    subscriptions = [(veto, "before"), (record, "after"), (broken_mailer, "commit")]
    for handler, phase in subscriptions:
        events.subscribe("ticket.created", phase)(handler)
    try:
        # When a before-subscriber refuses, nothing is written
        with pytest.raises(Vetoed):
            open_ticket(tenant_a, subject="forbidden words")
        # When an on-commit subscriber fails, the write stands and the failure is logged
        with django_capture_on_commit_callbacks(execute=True):
            ticket = open_ticket(tenant_a, subject="fine words")
    finally:
        for handler, phase in subscriptions:
            events.unsubscribe("ticket.created", handler, phase)
    assert seen == ["fine words"]
    assert "on-commit subscriber" in caplog.text
    assert "mail server down" in caplog.text
    with tenant(tenant_a.org):
        assert list(Ticket.objects.values_list("subject", flat=True)) == ["fine words"]
    assert ticket.number == 1


def _merge_notes(world, ticket):
    with tenant(world.org):
        return list(
            TicketComment.objects.filter(ticket=ticket, body_text__contains="description")
            .order_by("id")
            .values_list("kind", "author_id", "body_text", "body_html")
        )


def test_merge_brings_the_source_description_to_the_target(tenant_a, app_role):
    # Given two tickets of one customer, the source with a description
    source = open_ticket(tenant_a, subject="Printer jam", description="Paper stuck in tray 2.")
    target = open_ticket(tenant_a, subject="Printer broken")
    # When the source is merged into the target
    services.ticket_merge(organization=tenant_a.org, actor=tenant_a.agent, source=source,
                          target=target)  # fmt: skip
    # Then the target's conversation holds the description, marked as coming from the source,
    # in a note the customer sees too (it is their own text)
    [(kind, author, text, html)] = _merge_notes(tenant_a, target)
    assert kind == "system"
    assert author is None
    assert f"Ticket #{source.number} (Printer jam) was merged into this ticket." in text
    assert "Paper stuck in tray 2." in text
    assert "<blockquote><p>Paper stuck in tray 2.</p></blockquote>" in html


def test_another_customers_description_comes_as_an_internal_note(tenant_a, app_role):
    # Given tickets of two customers of one organization
    other = people.user_create(
        organization=tenant_a.org, actor=tenant_a.admin, email="other@acme.test",
        role="customer", full_name="Olga Other",
    )  # fmt: skip
    source = open_ticket(tenant_a, customer=other, description="My <b>own</b> words.")
    target = open_ticket(tenant_a)
    # When merged
    services.ticket_merge(organization=tenant_a.org, actor=tenant_a.agent, source=source,
                          target=target)  # fmt: skip
    # Then the target's customer is not shown the other customer's description: it is an
    # internal note by the agent who merged, naming where it comes from
    [(kind, author, text, html)] = _merge_notes(tenant_a, target)
    assert kind == "internal"
    assert author == tenant_a.agent.id
    assert f"#{source.number}" in text
    assert "Olga Other" in text
    assert "My <b>own</b> words." in text  # plain text, as the customer typed it
    assert "My &lt;b&gt;own&lt;/b&gt; words." in html


def test_another_customers_conversation_and_files_stay_hidden_from_the_target_customer(
    tenant_a, app_role
):
    # Given a ticket of another customer with a public reply, a reply with a file and a
    # file sent on its own
    other = people.user_create(organization=tenant_a.org, actor=tenant_a.admin,
                               email="olga@acme.test", role="customer")  # fmt: skip
    source = open_ticket(tenant_a, customer=other, description="")
    services.comment_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=source,
                         body="Olga, your invoice 4711 is attached.")  # fmt: skip
    reply = services.comment_add(organization=tenant_a.org, actor=other, ticket=source,
                                 body="Here is my passport scan.")  # fmt: skip
    for comment, name in ((reply, "passport.txt"), (None, "contract.txt")):
        attachment_add(organization=tenant_a.org, actor=other, ticket=source,
                       stream=io.BytesIO(b"private"), file_name=name, comment=comment)  # fmt: skip
    target = open_ticket(tenant_a)
    # When an agent merges it into a ticket of the organization's customer
    services.ticket_merge(organization=tenant_a.org, actor=tenant_a.agent, source=source,
                          target=target)  # fmt: skip
    # Then that customer's view of the target shows nothing of the other customer's
    mine = selectors.ticket_detail(organization=tenant_a.org, actor=tenant_a.customer,
                                   number=target.number)  # fmt: skip
    bodies = " ".join(comment.body_text for comment in mine.comments)
    assert "invoice 4711" not in bodies
    assert "passport" not in bodies
    assert mine.attachments == []
    # And the staff still see all of it, marked as staff-only
    staff = selectors.ticket_detail(organization=tenant_a.org, actor=tenant_a.agent,
                                    number=target.number)  # fmt: skip
    staff_bodies = " ".join(comment.body_text for comment in staff.comments)
    assert "invoice 4711" in staff_bodies
    assert "passport scan" in staff_bodies
    assert "visible to staff only" in staff_bodies
    assert sorted(a.file_name for a in staff.attachments) == ["contract.txt", "passport.txt"]


def test_a_merge_without_description_adds_no_empty_quote(tenant_a, app_role):
    source, target = open_ticket(tenant_a, description=""), open_ticket(tenant_a)
    services.ticket_merge(organization=tenant_a.org, actor=tenant_a.agent, source=source,
                          target=target)  # fmt: skip
    assert _merge_notes(tenant_a, target) == []
    with tenant(tenant_a.org):
        assert TicketComment.objects.filter(
            ticket=target, body_text__contains="was merged into this ticket"
        ).exists()
