"""Rules PostgreSQL enforces whatever writes the row: each tested with raw SQL.

The same rules through the services are in test_services.py; here the write
bypasses Python entirely, as a bulk load or a hand-written fix would.
"""

from __future__ import annotations

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from deskbase.core.tenancy import tenant
from deskbase.tickets.models import TicketHistory
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db


def sql(statement: str, params: list | None = None) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, params or [])


@pytest.fixture
def ticket(tenant_a):
    return open_ticket(tenant_a)


@pytest.mark.parametrize(
    ("assignment", "constraint"),
    [
        # The transition trigger runs before the CHECK: either refuses an unknown status
        ("status = 'exploded'", "tickets_ticket_status_valid|cannot go from new to exploded"),
        ("priority = 'whenever'", "tickets_ticket_priority_valid"),
        ("channel = 'pigeon'", "tickets_ticket_channel_valid"),
        ("satisfaction = 6", "tickets_ticket_satisfaction_range"),
        ("satisfaction = 0", "tickets_ticket_satisfaction_range"),
        ("time_to_first_response = interval '-1 minute'", "tickets_ticket_ttfr_not_negative"),
        ("resolved_at = created_at - interval '1 day'", "tickets_ticket_resolved_after_created"),
        ("closed_at = created_at - interval '1 day'", "tickets_ticket_closed_after_created"),
        ("custom_fields = '[1]'::jsonb", "tickets_ticket_custom_fields_object"),
        ("subject = '   '", "tickets_ticket_subject_not_blank"),
        ("merged_into_id = id", "tickets_ticket_not_merged_into_itself"),
    ],
)
def test_postgresql_refuses_invalid_ticket_rows(ticket, assignment, constraint):
    with pytest.raises(IntegrityError, match=constraint):
        sql(f"UPDATE tickets_ticket SET {assignment} WHERE id = %s", [ticket.id])  # noqa: S608


def test_forbidden_status_transitions_are_refused_by_the_trigger(ticket):
    sql("UPDATE tickets_ticket SET status = 'closed' WHERE id = %s", [ticket.id])
    with pytest.raises(IntegrityError, match="cannot go from closed to open"):
        sql("UPDATE tickets_ticket SET status = 'open' WHERE id = %s", [ticket.id])


def test_duplicate_numbers_in_one_organization_are_refused(tenant_a, ticket):
    other = open_ticket(tenant_a)
    with pytest.raises(IntegrityError, match="tickets_ticket_number_unique"):
        sql("UPDATE tickets_ticket SET number = %s WHERE id = %s", [ticket.number, other.id])


def test_updated_at_is_kept_by_the_trigger(ticket):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE tickets_ticket SET subject = 'raw', updated_at = created_at - interval '1 day'"
            " WHERE id = %s RETURNING updated_at >= created_at, updated_at",
            [ticket.id],
        )
        ordered, updated_at = cursor.fetchone()
    assert ordered
    assert updated_at >= ticket.updated_at


def test_raw_sql_changes_are_recorded_in_history(tenant_a, ticket):
    with tenant(tenant_a.org, tenant_a.manager):
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE tickets_ticket SET priority = 'urgent' WHERE id = %s", [ticket.id]
            )
        row = TicketHistory.objects.filter(ticket_id=ticket.id, field="priority").get()
    assert (row.old_value, row.new_value, row.actor_id) == ("medium", "urgent", tenant_a.manager.id)


def test_history_is_append_only(tenant_a, ticket, app_role):
    with tenant(tenant_a.org):
        with pytest.raises(DatabaseError, match="append-only"):
            sql("UPDATE tickets_tickethistory SET field = 'x' WHERE ticket_id = %s", [ticket.id])
        with pytest.raises(DatabaseError, match="append-only"):
            sql("DELETE FROM tickets_tickethistory WHERE ticket_id = %s", [ticket.id])
        with pytest.raises(DatabaseError, match="permission denied"):
            sql("TRUNCATE tickets_tickethistory")
        assert TicketHistory.objects.filter(ticket_id=ticket.id).exists()


def test_a_reference_to_another_tenants_row_is_refused(tenant_b, ticket):
    with pytest.raises(IntegrityError, match="tickets_ticket_customer_id_same_org"):
        sql(
            "UPDATE tickets_ticket SET customer_id = %s WHERE id = %s",
            [tenant_b.customer.id, ticket.id],
        )
    with pytest.raises(IntegrityError, match="tickets_ticket_assignee_id_same_org"):
        sql(
            "UPDATE tickets_ticket SET assignee_id = %s WHERE id = %s",
            [tenant_b.agent.id, ticket.id],
        )


def test_attachments_and_comments_rules(tenant_a, ticket):
    base = (
        "INSERT INTO tickets_ticketattachment (organization_id, ticket_id, file_name,"
        " content_type, size, sha256, download_count, created_at) VALUES (%s, %s, %s,"
        " 'text/plain', %s, %s, %s, now())"
    )
    digest = "a" * 64
    org, tid = tenant_a.org.id, ticket.id
    for params, constraint in (
        ([org, tid, "a.txt", 0, digest, 0], "tickets_ticketattachment_size_positive"),
        ([org, tid, "a.txt", 5, digest, -1], "tickets_ticketattachment_download"),
        ([org, tid, "a.txt", 5, "nothex", 0], "tickets_ticketattachment_sha256_format"),
        ([org, tid, "../etc/passwd", 5, digest, 0], "tickets_ticketattachment_file_name_safe"),
    ):
        with pytest.raises(IntegrityError, match=constraint):
            sql(base, params)
    with pytest.raises(IntegrityError, match="tickets_ticketcomment_author_required"):
        sql(
            "INSERT INTO tickets_ticketcomment (organization_id, ticket_id, kind, body_text,"
            " body_html, delete_reason) VALUES (%s, %s, 'public', 'hi', '', '')",
            [org, tid],
        )


def test_sla_policies_of_one_tier_and_priority_may_not_overlap(tenant_a):
    insert = (
        "INSERT INTO sla_slapolicy (organization_id, name, priority, customer_tier,"
        " first_response_minutes, resolution_minutes, business_hours, is_active, valid_from,"
        " valid_until) VALUES (%s, %s, 'high', 'basic', 30, 60, true, true, %s, %s)"
    )
    org = tenant_a.org.id
    sql(insert, [org, "2026", "2026-01-01", "2027-01-01"])
    sql(insert, [org, "2027", "2027-01-01", None])  # adjacent, not overlapping
    with pytest.raises(IntegrityError, match="sla_slapolicy_no_overlap"):
        sql(insert, [org, "clash", "2026-06-01", "2026-07-01"])


def test_a_category_cannot_become_its_own_ancestor(tenant_a):
    from deskbase.tickets.models import Category

    with tenant(tenant_a.org):
        root = Category.objects.create(organization=tenant_a.org, name="Root")
        child = Category.objects.create(organization=tenant_a.org, name="Child", parent=root)
    with pytest.raises(IntegrityError, match="tickets_category_no_cycle"):
        sql("UPDATE tickets_category SET parent_id = %s WHERE id = %s", [child.id, root.id])
