"""Retention: closed tickets past an organization's months lose their content, keep
their skeleton; off by default; chunked, idempotent, audited once per run."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from deskbase import jobs
from deskbase.accounts.models import AuditLog
from deskbase.core.errors import PermissionDenied, ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.privacy import retention, services
from deskbase.privacy.models import PurgedTicket
from deskbase.tickets import services as tickets
from deskbase.tickets.attachments import attachment_add
from deskbase.tickets.models import Ticket, TicketAttachment, TicketComment
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def closed(world, subject: str, months_ago: int) -> Ticket:
    """A ticket opened, answered and closed `months_ago` months (and a day) ago."""
    at = retention.months_before(timezone.now(), months_ago) - timedelta(days=1)
    ticket = open_ticket(world, subject=subject, at=at)
    tickets.comment_add(organization=world.org, actor=world.agent, ticket=ticket,
                        body=f"Reply on {subject}", at=at + timedelta(hours=1))  # fmt: skip
    attachment_add(organization=world.org, actor=world.customer, ticket=ticket,
                   file_name="log.txt", stream=io.BytesIO(subject.encode()))  # fmt: skip
    tickets.ticket_change_status(organization=world.org, actor=world.agent, ticket=ticket,
                                 status="closed", at=at + timedelta(hours=2))  # fmt: skip
    return Ticket.all_objects.get(pk=ticket.pk)


def test_months_before_keeps_the_day_or_the_months_end():
    assert retention.months_before(datetime(2026, 5, 31, 9, tzinfo=UTC), 3) == datetime(
        2026, 2, 28, 9, tzinfo=UTC
    )
    assert retention.months_before(datetime(2026, 1, 15, tzinfo=UTC), 13) == datetime(
        2024, 12, 15, tzinfo=UTC
    )


def test_retention_is_off_by_default_and_bounded(tenant_a):
    old = closed(tenant_a, "Ancient", 30)
    assert retention.run() == {}
    assert Ticket.all_objects.get(pk=old.pk).subject == "Ancient"
    for months in (0, 121):
        with pytest.raises(ValidationFailed):
            services.retention_set(organization=tenant_a.org, actor=tenant_a.admin,
                                   closed_ticket_months=months)  # fmt: skip
    with pytest.raises(PermissionDenied):
        services.retention_set(organization=tenant_a.org, actor=tenant_a.manager,
                               closed_ticket_months=6)  # fmt: skip


def test_closed_tickets_past_the_months_are_purged_in_chunks(tenant_a, tenant_b, capsys):
    # Given a 6-month policy in A, three tickets closed 7 months ago, one closed last month,
    # one open, and tenant B (no policy) with an old closed ticket
    services.retention_set(organization=tenant_a.org, actor=tenant_a.admin, closed_ticket_months=6)
    old = [closed(tenant_a, f"Old {n}", 7) for n in range(3)]
    recent = closed(tenant_a, "Recent", 1)
    active = open_ticket(tenant_a, subject="Still open")
    globex = closed(tenant_b, "Globex old", 30)
    before = {t.pk: (t.status, t.closed_at, t.priority, t.customer_id) for t in old}

    # When a dry run is asked for, nothing changes and the count is shown
    call_command("privacy", "purge", "--dry-run")
    assert "acme: would purge 3 tickets" in capsys.readouterr().out
    assert Ticket.all_objects.get(pk=old[0].pk).subject == "Old 0"

    # When the retention task runs (two tickets a chunk)
    assert retention.run(chunk=2) == {"acme": 3}

    # Then the old tickets' content is gone, their skeleton kept
    with tenant(tenant_a.org):
        for ticket in old:
            after = Ticket.all_objects.get(pk=ticket.pk)
            assert after.subject == "[redacted]"
            assert before[ticket.pk] == (after.status, after.closed_at, after.priority,
                                         after.customer_id)  # fmt: skip
            assert set(TicketComment.objects.filter(ticket=ticket).values_list(
                "body_text", flat=True)) == {"[redacted]"}  # fmt: skip
            assert not TicketAttachment.objects.filter(ticket=ticket).exists()
        assert PurgedTicket.objects.count() == 3
        assert Ticket.objects.get(pk=recent.pk).subject == "Recent"
        assert Ticket.objects.get(pk=active.pk).subject == "Still open"
        entries = list(
            AuditLog.objects.filter(organization_id=tenant_a.org.id, action="retention_purged")
        )
    assert [e.detail["tickets"] for e in entries] == [3]
    with tenant(tenant_b.org):
        assert Ticket.objects.get(pk=globex.pk).subject == "Globex old"

    # And a second run finds nothing more (and says so in one more entry)
    assert jobs.run_logged("deskbase.privacy_retention", jobs.TASKS["deskbase.privacy_retention"],
                           job_id=None, attempt=1) == {"acme": 0}  # fmt: skip
