"""`deskbase db_maintenance`: each step runs, can run twice, and fails with its reason."""

from __future__ import annotations

import io
import sys
from datetime import UTC, date, datetime

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from deskbase.dbtools import partitions
from deskbase.demo import load_demo


def maintenance(*args: str) -> str:
    out = io.StringIO()
    call_command("db_maintenance", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_without_a_step_it_says_what_to_choose():
    with pytest.raises(CommandError, match="choose at least one step"):
        maintenance()


@pytest.mark.django_db
def test_retention_goes_with_dropping_and_is_positive():
    with pytest.raises(CommandError, match="goes with --drop-old-partitions"):
        maintenance("--retention-months", "3")
    with pytest.raises(CommandError, match="at least 1"):
        maintenance("--drop-old-partitions", "--retention-months", "0")


@pytest.mark.django_db
def test_creating_partitions_twice_creates_nothing_the_second_time():
    maintenance("--create-partitions")
    second = maintenance("--create-partitions")
    assert "partitions of accounts_auditlog: 0 created, 0 rows moved" in second
    assert "[1/1] creating partitions: done" in second


@pytest.mark.django_db
def test_check_reports_rows_left_in_a_default_partition_until_they_are_moved(tenant_a):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO accounts_usersession (organization_id, user_id, started_at, last_seen_at)"
            " VALUES (%s, %s, '2035-03-03', '2035-03-03')",
            [tenant_a.org.id, tenant_a.agent.id],
        )
    with pytest.raises(CommandError, match="accounts_usersession_default holds 1 rows"):
        maintenance("--check")
    moved = maintenance("--create-partitions", "--check")
    assert "partitions of accounts_usersession: 0 created, 1 rows moved" in moved
    assert '"problems": []' in moved


@pytest.mark.django_db
def test_after_the_demo_and_a_generated_load_no_row_waits_in_a_default_partition():
    def default_rows() -> dict[str, int]:
        with connection.cursor() as cursor:
            return {s.table: partitions.default_rows(cursor, s) for s in partitions.present(cursor)}

    # Given a freshly migrated database
    # When the demo is loaded (its tickets go back weeks, into earlier months)
    assert load_demo(tickets=40) is True
    # Then the maintenance check finds nothing to report: no default partition holds a row
    assert '"problems": []' in maintenance("--check")
    assert set(default_rows().values()) == {0}
    # And the same after a small data set is generated beside it
    call_command("generate", "--tickets=150", "--orgs=2", "--append", "--until=2026-06-01",
                 verbosity=0)  # fmt: skip
    assert '"problems": []' in maintenance("--check")
    assert set(default_rows().values()) == {0}


@pytest.mark.django_db
def test_check_reports_and_removes_orphaned_attachment_files(settings, tmp_path):
    import os

    settings.MEDIA_ROOT = tmp_path
    orphan = tmp_path / "attachments" / "ab" / "cd" / ("abcd" + "0" * 60)
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"left behind by a rolled-back upload")
    os.utime(orphan, (0, 0))  # old enough not to be an upload in flight
    with pytest.raises(CommandError, match="1 attachment files no row refers to"):
        maintenance("--check")
    assert "1 orphaned files removed" in maintenance("--check", "--remove-orphans")
    assert not orphan.exists()


@pytest.mark.django_db
def test_refreshing_views_without_the_analytics_module_is_skipped(monkeypatch):
    monkeypatch.setitem(sys.modules, "deskbase.analytics.refresh", None)
    assert "skipped" in maintenance("--refresh-views")


@pytest.mark.django_db
def test_stats_show_tables_and_partitions():
    out = maintenance("--stats")
    assert "database:" in out
    assert "tickets_ticket " in out
    month = partitions.month_start(datetime.now(UTC))
    assert partitions.partition_name("tickets_tickethistory", month) in out


@pytest.mark.django_db
def test_stats_never_show_a_row_count_of_minus_one(tenant_a):
    # Given partitions never analyzed: an empty one, and one holding a row
    with connection.cursor() as cursor:
        spec = partitions.managed("accounts_auditlog")
        partitions.cover(cursor, spec, date(2041, 1, 1), date(2041, 2, 1))
        cursor.execute(
            "INSERT INTO accounts_auditlog (organization_id, action, created_at)"
            " VALUES (%s, 'signed_in', '2041-02-02')",
            [tenant_a.org.id],
        )
    # When an operator asks for the statistics
    out = maintenance("--stats")
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    # Then the empty one shows 0 rows, the other says it is not analyzed yet, none shows -1
    assert lines["accounts_auditlog_p204101"].split()[1] == "0"
    assert "not analyzed" in lines["accounts_auditlog_p204102"]
    assert " -1 " not in out


@pytest.mark.django_db
def test_vacuum_inside_a_transaction_fails_with_the_reason():
    with pytest.raises(CommandError, match="must run outside a transaction"):
        maintenance("--vacuum-analyze", "--table", "accounts_auditlog")


@pytest.mark.django_db(transaction=True)
def test_vacuum_analyze_and_reindex_concurrently_run_table_by_table():
    out = maintenance(
        "--vacuum-analyze", "--reindex", "--table", "dbtools_jobrun", "--table", "accounts_team"
    )
    assert "[2/2] REINDEX TABLE CONCURRENTLY accounts_team" in out
    assert "VACUUM (ANALYZE) dbtools_jobrun" in out
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT last_vacuum IS NOT NULL FROM pg_stat_user_tables"
            " WHERE relname = 'accounts_team'"
        )
        assert cursor.fetchone() == (True,)


@pytest.mark.django_db(transaction=True)
def test_old_partitions_are_dropped_by_retention_and_a_second_run_does_nothing():
    with connection.cursor() as cursor:
        partitions.create_partition(
            cursor, partitions.managed("accounts_usersession"), date(2020, 1, 1)
        )
    first = maintenance("--drop-old-partitions", "--retention-months", "24")
    second = maintenance("--drop-old-partitions", "--retention-months", "24", "--json")
    assert "accounts_usersession_p202001" in first
    assert "partitions of accounts_usersession: 1 retired (keeping 24 months)" in first
    assert '"drop_old_partitions": []' in second
    with connection.cursor() as cursor:
        assert partitions.relkind(cursor, "accounts_usersession_p202001") is None
        # Ticket history has no retention: never retired by the flag.
        assert partitions.attached(cursor, "tickets_tickethistory")
