"""`deskbase dbreport`: each section read from the real statistics of the test database."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.db import connection

from deskbase import cached
from deskbase.dbtools import report as dbreport


def _sql(statement: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement)


@pytest.fixture
def scratch(db) -> None:
    """A table with a duplicate index, an unused one, a unique one, and a partitioned table."""
    _sql(
        """
        CREATE TABLE report_scratch (id bigint PRIMARY KEY, code text UNIQUE, n int);
        CREATE INDEX report_scratch_n ON report_scratch (n);
        CREATE INDEX report_scratch_n_again ON report_scratch (n);
        CREATE UNIQUE INDEX report_scratch_code_too ON report_scratch (code);
        CREATE TABLE report_events (at timestamptz NOT NULL, what text)
            PARTITION BY RANGE (at);
        CREATE TABLE report_events_p202601 PARTITION OF report_events
            FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
        CREATE TABLE report_events_default PARTITION OF report_events DEFAULT;
        """
    )


def test_top_statements_come_from_pg_stat_statements(db):
    # given a slow statement of a shape no other test runs (pg_stat_statements keys
    # on the shape, aliases and constants aside, and keeps the first text it saw)
    for _ in range(20):
        _sql("SELECT pg_sleep(0.01), pg_backend_pid(), current_schemas(false) AS report_probe")
    # when the report is built (with room for every statement of this test session)
    built = dbreport.build(limit=100_000)
    # then it is among the statements by mean time, with its calls
    assert built.statements_available, built.statements_message
    probe = [row for row in built.top_by_mean if "report_probe" in row["query"]]
    assert probe
    assert probe[0]["calls"] >= 20
    assert probe[0]["mean_ms"] >= 10
    assert {"total_ms", "rows", "calls", "role"} <= set(probe[0])
    assert built.top_by_total


def test_duplicate_and_unused_indexes_never_propose_a_constraint(scratch):
    built = dbreport.build()
    duplicates = {d["index"]: d for d in built.duplicate_indexes}
    # the plain duplicate is reported against its twin
    pair = {"report_scratch_n", "report_scratch_n_again"}
    assert pair & set(duplicates)
    only = next(iter(pair & set(duplicates)))
    assert duplicates[only]["duplicate_of"] in pair - {only}
    # the unique index doubling the UNIQUE constraint is a duplicate that backs a constraint
    drops = {r["index"] for r in built.recommendations if r["kind"] == "drop index"}
    assert "report_scratch_code_key" not in drops
    assert "report_scratch_pkey" not in drops
    unused = {u["index"] for u in built.unused_indexes}
    assert "report_scratch_n_again" in unused or "report_scratch_n" in unused
    assert "report_scratch_pkey" not in unused
    assert "report_scratch_code_key" not in unused


def test_partitions_are_listed_with_their_bounds(scratch):
    built = dbreport.build()
    mine = [p for p in built.partitions if p["parent"] == "report_events"]
    assert [p["partition"] for p in mine] == ["report_events_default", "report_events_p202601"]
    assert "2026-01-01" in mine[1]["bounds"]
    assert mine[0]["bounds"] == "DEFAULT"


@pytest.fixture
def big_table(transactional_db):
    """A committed table of 20,000 rows: table statistics count only committed work."""
    _sql("CREATE TABLE report_big (id bigint PRIMARY KEY, n int)")
    _sql("INSERT INTO report_big SELECT g, g FROM generate_series(1, 20000) g")
    _sql("ANALYZE report_big")
    yield
    _sql("DROP TABLE report_big")


def test_a_big_table_read_by_sequential_scans_is_an_index_candidate(big_table):
    # given the big table is read by sequential scans only (each in its own transaction)
    for _ in range(3):
        _sql("SELECT count(*) FROM report_big WHERE n > 5")
    _sql("SELECT pg_stat_force_next_flush()")
    _sql("SELECT 1")  # the flush happens once the session is idle after a statement
    # when the report is built
    built = dbreport.build()
    # then the table shows its sequential scans, and is an index candidate
    table = next(t for t in built.tables if t["table"] == "report_big")
    assert table["seq_scan"] >= 3
    assert table["seq_rows_read"] >= 60_000
    candidates = [r for r in built.recommendations if r["kind"] == "index candidate"]
    assert "report_big" in {r["table"] for r in candidates}
    assert 0 < built.cache_hit_ratio["percent"] <= 100
    bloat = next(b for b in built.table_bloat if b["table"] == "report_big")
    assert bloat["bytes"] > 0


def test_without_pg_stat_statements_the_rest_of_the_report_still_comes(scratch):
    # as on a server where the extension exists but cannot be read
    _sql("SET LOCAL search_path TO pg_catalog")
    built = dbreport.build()
    assert not built.statements_available
    assert "pg_stat_statements" in built.statements_message
    assert any(p["parent"] == "report_events" for p in built.partitions)
    assert built.cache_hit_ratio
    assert built.errors == {}


def test_the_command_prints_text_and_json(scratch, capsys, tenant_a):
    cached.organization_settings(tenant_a.org)
    call_command("dbreport")
    text = capsys.readouterr().out
    for title in ("Top statements", "Buffer cache hit ratio", "Unused indexes",
                  "Duplicate indexes", "Bloat", "Partitions", "Recommendations",
                  "Application cache"):  # fmt: skip
        assert title in text
    call_command("dbreport", "--json")
    payload = json.loads(capsys.readouterr().out)
    assert payload["statements_available"] is True
    assert "organization" in payload["app_cache"]["entries"]
    assert payload["app_cache"]["backend"] == "local-memory"
