"""Tenant isolation by PostgreSQL: row-level security on every tenant table."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from deskbase.core.tenancy import tenant
from deskbase.tickets.models import Ticket, TicketComment
from tests.helpers import assert_sql_refused
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db


def tenant_tables() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " JOIN pg_attribute a ON a.attrelid = c.oid"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
            " AND a.attname = 'organization_id' AND NOT a.attisdropped ORDER BY 1"
        )
        return [row[0] for row in cursor.fetchall()] + ["organizations_organization"]


def test_every_tenant_table_has_forced_row_level_security():
    tables = tenant_tables()
    assert "tickets_ticket" in tables
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relname = ANY(%s)"
            " AND NOT (relrowsecurity AND relforcerowsecurity)",
            [tables],
        )
        unprotected = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT DISTINCT tablename FROM pg_policies WHERE policyname = 'tenant_isolation'"
        )
        with_policy = {row[0] for row in cursor.fetchall()}
    assert unprotected == []
    assert set(tables) <= with_policy


def test_without_a_tenant_the_application_role_sees_nothing(tenant_a, app_role):
    with tenant(tenant_a.org):
        open_ticket(tenant_a)
    with transaction.atomic():
        assert Ticket.objects.count() == 0


def test_reads_across_tenants_return_nothing(tenant_a, tenant_b, app_role):
    ticket_a = open_ticket(tenant_a)
    open_ticket(tenant_b)
    with tenant(tenant_b.org):
        visible = list(Ticket.objects.values_list("organization_id", flat=True))
        assert Ticket.objects.filter(pk=ticket_a.pk).count() == 0
        assert TicketComment.objects.filter(ticket_id=ticket_a.pk).count() == 0
    assert visible == [tenant_b.org.id]


def test_writes_across_tenants_fail(tenant_a, tenant_b, app_role):
    ticket_a = open_ticket(tenant_a)
    with tenant(tenant_b.org):
        # An update of another tenant's row touches nothing
        assert Ticket.objects.filter(pk=ticket_a.pk).update(subject="hijacked") == 0
        # An insert into another tenant is refused by the policy's WITH CHECK
        assert_sql_refused(
            DatabaseError,
            "row-level security",
            "INSERT INTO tickets_ticketcomment (organization_id, ticket_id, author_id,"
            " kind, body_text, body_html, delete_reason)"
            " VALUES (%s, %s, %s, 'public', 'x', '', '')",
            [tenant_a.org.id, ticket_a.id, tenant_a.agent.id],
        )
    with tenant(tenant_a.org):
        assert Ticket.objects.get(pk=ticket_a.pk).subject == "Printer on fire"


def test_the_tenant_setting_ends_with_its_transaction(tenant_a, app_role):
    with tenant(tenant_a.org), connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('deskbase.org_id', true)")
        assert cursor.fetchone()[0] == str(tenant_a.org.id)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(current_setting('deskbase.org_id', true), '')")
        # The test's own transaction is still open: the nested block restored its value
        assert cursor.fetchone()[0] == ""


def test_a_constraint_caught_only_by_postgresql_is_still_a_field_error(tenant_a, tenant_b):
    """The services check first; when only the database notices, the error names the field."""
    from deskbase.core.errors import ValidationFailed
    from deskbase.core.tenancy import tenant_atomic

    @tenant_atomic
    def raw_assign(*, organization, actor, ticket_id, agent_id):
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE tickets_ticket SET assignee_id = %s WHERE id = %s", [agent_id, ticket_id]
            )

    ticket = open_ticket(tenant_a)
    with pytest.raises(ValidationFailed) as error:
        raw_assign(organization=tenant_a.org, actor=None, ticket_id=ticket.id,
                   agent_id=tenant_b.agent.id)  # fmt: skip
    assert error.value.field == "assignee"
    assert error.value.errors == {"assignee": ["No such assignee in this organization."]}
