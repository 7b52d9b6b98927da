"""Monthly partitions: created ahead once, defaults emptied, retention, trigger and RLS kept."""

from __future__ import annotations

import gzip
from datetime import UTC, date, datetime

import pytest
from django.db import connection

from deskbase.dbtools import partitions
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db

AUDIT = partitions.managed("accounts_auditlog")
SESSIONS = partitions.managed("accounts_usersession")
HISTORY = partitions.managed("tickets_tickethistory")


def sql(statement: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])
        return cursor.fetchall() if cursor.description else []


def audit_row(org_id: int, at: datetime) -> None:
    sql(
        "INSERT INTO accounts_auditlog (organization_id, action, created_at)"
        " VALUES (%s, 'signed_in', %s)",
        [org_id, at],
    )


def where(table: str, condition: str, params: list) -> list[str]:
    rows = sql(f"SELECT tableoid::regclass::text FROM {table} WHERE {condition}", params)  # noqa: S608
    return [row[0] for row in rows]


def test_creating_partitions_twice_is_a_no_op():
    with connection.cursor() as cursor:
        first = partitions.create_ahead(cursor, AUDIT, today=date(2031, 5, 20))
        again = partitions.create_ahead(cursor, AUDIT, today=date(2031, 5, 20))
        names = partitions.attached(cursor, "accounts_auditlog")
    # The previous month, this one and three ahead.
    assert first == [f"accounts_auditlog_p2031{m:02d}" for m in range(4, 9)]
    assert again == []
    assert "accounts_auditlog_default" in names
    assert set(first) <= set(names)


def test_the_migrations_made_partitions_around_today_for_every_table():
    today = datetime.now(UTC).date()
    this_month = partitions.month_start(today)
    with connection.cursor() as cursor:
        for spec in (AUDIT, SESSIONS, HISTORY):
            names = partitions.attached(cursor, spec.table)
            # From three months back (rows written right after a migrate, like the
            # demo's last weeks, find their month) to three ahead.
            for offset in range(-3, 4):
                month = partitions.add_months(this_month, offset)
                assert partitions.partition_name(spec.table, month) in names


def test_partitions_are_ensured_for_the_span_of_rows_about_to_be_written(tenant_a):
    # When a loader prepares for rows from mid-January to the first of March 2040
    created = partitions.ensure_range(
        datetime(2040, 1, 15, 23, tzinfo=UTC), date(2040, 3, 1), tables=["accounts_auditlog"]
    )
    # Then the three months exist, once
    months = [f"accounts_auditlog_p2040{m:02d}" for m in (1, 2, 3)]
    assert created == {"accounts_auditlog": months}
    again = partitions.ensure_range(date(2040, 1, 1), date(2040, 3, 31))
    assert again["accounts_auditlog"] == []
    assert again["accounts_usersession"] == [
        f"accounts_usersession_p2040{m:02d}" for m in (1, 2, 3)
    ]
    # And rows in that span go to their month, not to the default partition
    audit_row(tenant_a.org.id, datetime(2040, 2, 29, 12, tzinfo=UTC))
    assert where("accounts_auditlog", "created_at >= '2040-01-01'", []) == [
        "accounts_auditlog_p204002"
    ]


def test_a_row_in_the_default_partition_is_moved_to_its_month(tenant_a):
    audit_row(tenant_a.org.id, datetime(2033, 2, 14, 12, tzinfo=UTC))
    assert where("accounts_auditlog", "created_at >= '2033-01-01'", []) == [
        "accounts_auditlog_default"
    ]
    with connection.cursor() as cursor:
        assert partitions.default_rows(cursor, AUDIT) == 1
        moved = partitions.drain_default(cursor, AUDIT)
        assert partitions.default_rows(cursor, AUDIT) == 0
        assert partitions.drain_default(cursor, AUDIT) == 0  # again: nothing to do
    assert moved == 1
    assert where("accounts_auditlog", "created_at >= '2033-01-01'", []) == [
        "accounts_auditlog_p203302"
    ]


def test_history_moved_out_of_the_default_stays_append_only(tenant_a):
    ticket = open_ticket(tenant_a)
    sql(
        "INSERT INTO tickets_tickethistory (organization_id, ticket_id, field, created_at)"
        " VALUES (%s, %s, 'imported', '2034-07-01 10:00+00')",
        [tenant_a.org.id, ticket.id],
    )
    with connection.cursor() as cursor:
        assert partitions.drain_default(cursor, HISTORY) == 1
    assert where("tickets_tickethistory", "field = 'imported'", []) == [
        "tickets_tickethistory_p203407"
    ]
    with pytest.raises(Exception, match="append-only"):
        sql("UPDATE tickets_tickethistory_p203407 SET field = 'x'")


def test_the_history_trigger_writes_into_this_months_partition(tenant_a):
    ticket = open_ticket(tenant_a)
    month = partitions.month_start(datetime.now(UTC))
    assert where("tickets_tickethistory", "ticket_id = %s", [ticket.id]) == [
        partitions.partition_name("tickets_tickethistory", month)
    ]
    (key,) = sql(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = 'tickets_tickethistory'::regclass AND contype = 'p'"
    )
    assert key == ("PRIMARY KEY (id, created_at)",)


def test_expired_partitions_are_archived_then_dropped(tenant_a, tmp_path):
    with connection.cursor() as cursor:
        partitions.create_partition(cursor, AUDIT, date(2029, 1, 1))
    audit_row(tenant_a.org.id, datetime(2029, 1, 10, tzinfo=UTC))
    audit_row(tenant_a.org.id, datetime(2029, 1, 11, tzinfo=UTC))
    retired = partitions.retire(
        connection.connection, AUDIT, retention_months=12, today=date(2030, 3, 5),
        directory=tmp_path,
    )  # fmt: skip
    # (The partitions the migration made around today are past this retention too.)
    mine = [(r.action, r.rows) for r in retired if r.partition == "accounts_auditlog_p202901"]
    assert mine == [("archived", 2)]
    assert all(r.partition < "accounts_auditlog_p202903" for r in retired)
    with gzip.open(tmp_path / "accounts_auditlog" / "accounts_auditlog_p202901.csv.gz") as f:
        lines = f.read().decode().splitlines()
    assert lines[0].startswith("id,organization_id")
    assert len(lines) == 3
    with connection.cursor() as cursor:
        assert partitions.relkind(cursor, "accounts_auditlog_p202901") is None


def test_expired_session_partitions_are_dropped_and_a_second_run_does_nothing(tmp_path):
    with connection.cursor() as cursor:
        partitions.create_partition(cursor, SESSIONS, date(2028, 6, 1))
        partitions.create_partition(cursor, SESSIONS, date(2029, 6, 1))
    first = partitions.retire(
        connection.connection, SESSIONS, retention_months=12, today=date(2029, 8, 1),
        directory=tmp_path,
    )  # fmt: skip
    again = partitions.retire(
        connection.connection, SESSIONS, retention_months=12, today=date(2029, 8, 1),
        directory=tmp_path,
    )  # fmt: skip
    assert ("accounts_usersession_p202806", "dropped") in [(r.partition, r.action) for r in first]
    assert again == []
    with connection.cursor() as cursor:
        assert "accounts_usersession_p202906" in partitions.attached(cursor, SESSIONS.table)
    assert not list(tmp_path.iterdir())


def test_a_partition_left_detached_by_an_interrupted_run_is_finished(tmp_path):
    with connection.cursor() as cursor:
        partitions.create_partition(cursor, SESSIONS, date(2027, 3, 1))
        cursor.execute(
            "ALTER TABLE accounts_usersession DETACH PARTITION accounts_usersession_p202703"
        )
    retired = partitions.retire(
        connection.connection, SESSIONS, retention_months=6, today=date(2028, 1, 1),
        directory=tmp_path,
    )  # fmt: skip
    assert "accounts_usersession_p202703" in [r.partition for r in retired]
    with connection.cursor() as cursor:
        assert partitions.relkind(cursor, "accounts_usersession_p202703") is None


def test_history_keeps_row_level_security_through_parent_and_partitions(
    tenant_a, tenant_b, app_role
):
    from deskbase.core.tenancy import tenant

    a_ticket = open_ticket(tenant_a)
    b_ticket = open_ticket(tenant_b)
    month = partitions.month_start(datetime.now(UTC))
    partition = partitions.partition_name("tickets_tickethistory", month)
    with tenant(tenant_b.org):
        seen = sql("SELECT DISTINCT ticket_id FROM tickets_tickethistory")
        seen_directly = sql(f"SELECT DISTINCT ticket_id FROM {partition}")  # noqa: S608
    assert seen == [(b_ticket.id,)]
    assert seen_directly == [(b_ticket.id,)]
    assert sql("SELECT count(*) FROM tickets_tickethistory") == [(0,)]  # no tenant: nothing
    assert sql(f"SELECT count(*) FROM {partition}") == [(0,)]  # noqa: S608
    assert a_ticket.id not in [row[0] for row in seen]


def test_audit_partitions_refuse_another_tenants_rows(tenant_a, tenant_b, app_role):
    from deskbase.core.tenancy import tenant

    with tenant(tenant_a.org):
        audit_row(tenant_a.org.id, datetime.now(UTC))
        with pytest.raises(Exception, match="row-level security"), tenant(tenant_a.org):
            audit_row(tenant_b.org.id, datetime.now(UTC))
    with tenant(tenant_b.org):
        assert sql("SELECT count(*) FROM accounts_auditlog") == [(0,)]
    with tenant(tenant_a.org):
        assert sql("SELECT count(*) FROM accounts_auditlog") == [(1,)]


def test_the_search_log_is_managed_only_when_it_exists():
    with connection.cursor() as cursor:
        present = [spec.table for spec in partitions.present(cursor)]
        exists = partitions.relkind(cursor, "search_searchlog") == "p"
    assert ("search_searchlog" in present) == exists
    assert {"tickets_tickethistory", "accounts_auditlog", "accounts_usersession"} <= set(present)
