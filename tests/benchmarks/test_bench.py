"""`deskbase bench` works: every scenario runs and reports its shape. Times are never asserted.

The bench connects as the application role on its own connections (one per
client thread, and a raw psycopg one), which cannot see an uncommitted test
transaction: the tests that measure use committed data (transaction=True) on a
tiny demo data set, and pytest-django empties the tables afterwards.
"""

from __future__ import annotations

import json
import os
from io import StringIO

import pytest
from django.contrib.sessions.models import Session
from django.core.management import CommandError, call_command
from django.db import connection
from psycopg.conninfo import conninfo_to_dict

from deskbase.accounts.models import ApiToken
from deskbase.benchmarks import registry, runner
from deskbase.benchmarks.http_scenarios import TOKEN_NAME
from deskbase.benchmarks.httpclient import Login, ServerTiming
from deskbase.benchmarks.management.commands.bench import result_name
from deskbase.benchmarks.stats import percentile, summarize
from deskbase.benchmarks.subjects import BENCH_TAG, label_for, pick_subjects
from deskbase.demo import DEMO_LOGINS, load_demo

TICKET_SCENARIOS = [
    "queue_first_page", "queue_page_40", "ticket_detail", "customer_tickets", "ticket_create",
    "comment_add",
]  # fmt: skip
SEARCH_SCENARIOS = [  # deskbase.benchmarks.search_scenarios: in-process only
    "search_rare_word", "search_common_word", "search_two_words", "search_phrase_exclusion",
    "search_suggest",
]  # fmt: skip
ANALYTICS_SCENARIOS = [  # deskbase.benchmarks.analytics_scenarios: in-process only
    "analytics_dashboard", "analytics_agents", "analytics_customers", "analytics_sla",
    "analytics_channels", "analytics_categories", "analytics_trends", "analytics_live",
    "analytics_freshness", "rollups_ticket_create_with", "rollups_ticket_create_without",
    "analytics_refresh",
]  # fmt: skip
IN_PROCESS = TICKET_SCENARIOS + SEARCH_SCENARIOS + ANALYTICS_SCENARIOS
# The selectors' documented budgets (tenant + page; tenant + ticket + 4 prefetches).
READ_QUERIES = {"queue_first_page": 2, "queue_page_40": 2, "customer_tickets": 2,
                "ticket_detail": 6}  # fmt: skip
APP_ROLE = conninfo_to_dict(os.environ.get("DATABASE_APP_URL", "")).get("user")
PAGES = ("--scenario", "health", "--scenario", "login_page", "--scenario", "home")


def bench(*args: str) -> dict:
    out, err = StringIO(), StringIO()
    call_command("bench", *args, stdout=out, stderr=err)
    return json.loads(out.getvalue())


@pytest.fixture
def demo_data(transactional_db) -> None:
    assert load_demo(tickets=30)


def bench_tickets() -> int:
    with connection.cursor() as cursor:  # the owner role: every tenant
        cursor.execute("SELECT count(*) FROM tickets_ticket WHERE %s = ANY(tags)", [BENCH_TAG])
        return cursor.fetchone()[0]


# ---------------------------------------------------------------- in-process
def test_every_scenario_runs_and_reports_latency_queries_and_raw_sql(demo_data, tmp_path):
    # When every in-process scenario runs with a tiny sample count
    output = tmp_path / "results" / "run.json"
    report = bench("--samples", "5", "--warmup", "2", "--output", str(output))
    # Then the JSON is printed and written, and names where it ran
    assert json.loads(output.read_text()) == report
    assert report["mode"] == "in-process"
    # (modules appended to SCENARIO_MODULES add theirs after the built-in ones)
    options = {**report["options"], "scenarios": report["options"]["scenarios"][: len(IN_PROCESS)]}
    assert options == {"samples": 5, "warmup": 2, "concurrency": 1,
                       "scenarios": IN_PROCESS}  # fmt: skip
    environment = report["environment"]
    assert environment["postgresql"]["version"]
    assert environment["data_set"] == {"organizations": 2, "tickets": 35, "bench_tickets": 0,
                                       "label": "tiny"}  # fmt: skip
    assert {"date", "commit", "dirty", "python", "cpus"} <= set(environment)
    assert report["subjects"]["organization_slug"] == "demo"
    if APP_ROLE:  # measured like the server: as the application role, under RLS
        assert environment["postgresql"]["role"] == APP_ROLE
        assert environment["postgresql"]["rls_enforced"] is True
    with connection.cursor() as cursor:  # and this test's connection is the owner's again
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == conninfo_to_dict(os.environ["DATABASE_URL"])["user"]
    # And each scenario has its latency, a constant query count and its raw SQL
    assert list(report["scenarios"])[: len(IN_PROCESS)] == IN_PROCESS
    for name, result in report["scenarios"].items():
        assert result["samples"] == 5, (name, result)
        assert result["errors"] == 0, result["error_messages"]
        if name not in IN_PROCESS:
            continue  # another module's scenario (a cached read may make no query at all)
        assert 0 < result["median_ms"] <= result["p95_ms"] <= result["p99_ms"]
        assert result["queries_min"] == result["queries_max"] == result["queries_per_request"]
        assert result["queries_per_request"] == READ_QUERIES.get(name, result["queries_min"]) > 0
        assert result["raw_sql"]["statements"] >= 1
        assert result["raw_sql"]["median_ms"] > 0
        assert result["ratio"] > 0
        assert result["throughput_rps"] > 0
    assert report["scenarios"]["queue_page_40"]["details"]["page"] >= 1
    assert report["scenarios"]["ticket_detail"]["raw_sql"]["statements"] == 5


def test_writers_add_tagged_rows_that_do_not_move_the_subjects(demo_data):
    before = pick_subjects()
    # When the writers run with three client threads each
    report = bench("--scenario", "comment_add", "--scenario", "ticket_create",
                   "--samples", "6", "--warmup", "1", "--concurrency", "3")  # fmt: skip
    # Then they ran in registry order, all six calls of each, without errors
    assert list(report["scenarios"]) == ["ticket_create", "comment_add"]
    for result in report["scenarios"].values():
        assert (result["samples"], result["errors"], result["concurrency"]) == (6, 0, 3)
        assert result["writes"] is True
        assert result["raw_sql"]["rolled_back"] is True
    # And what they wrote is tagged, and not counted when the next run picks its subjects:
    # ticket_create: 3 threads x 1 warm-up + 6 samples + 1 captured call;
    # comment_add: a ticket per thread and one for the captured call.
    assert bench_tickets() == 10 + 4
    after = pick_subjects()
    assert after.data_set["bench_tickets"] == 14
    assert (after.organization_id, after.agent_id, after.customer_id, after.detail_number) == (
        before.organization_id, before.agent_id, before.customer_id, before.detail_number
    )  # fmt: skip


# ---------------------------------------------------------------------- HTTP
def test_http_mode_reads_queries_from_server_timing(demo_data, live_server):
    # When the bench drives a server's pages over HTTP with two clients
    report = bench("--http", live_server.url, "--samples", "4", "--warmup", "1",
                   "--concurrency", "2", *PAGES)  # fmt: skip
    # Then the pages were measured, with the server's own query counts
    assert report["mode"] == "http"
    assert report["target"] == live_server.url
    assert list(report["scenarios"]) == ["health", "login_page", "home"]
    for result in report["scenarios"].values():
        assert (result["samples"], result["errors"]) == (4, 0), result
        assert result["server_median_ms"] is not None
        assert result["raw_sql"] is None  # the bench cannot see a server's SQL
    assert report["scenarios"]["health"]["queries_per_request"] > 0
    # signed in without a password: a session for the busiest agent, as the subjects say
    assert report["scenarios"]["home"]["details"]["signed_in"] == report["subjects"]["agent_email"]
    assert report["scenarios"]["home"]["queries_min"] == report["scenarios"]["home"]["queries_max"]
    # And with --login it signs in through the form instead
    agent = next(login for login in DEMO_LOGINS if login.role == "agent")
    report = bench("--http", live_server.url, "--scenario", "home", "--samples", "2",
                   "--login", f"demo:{agent.email}:{agent.password}")  # fmt: skip
    assert report["scenarios"]["home"]["details"]["signed_in"] == agent.email
    assert report["scenarios"]["home"]["errors"] == 0
    # And the sessions the bench opened are gone (deleted, or signed out)
    assert not Session.objects.exists()


def test_http_mode_drives_the_rest_api_with_tokens_for_the_subjects(demo_data, live_server):
    # When the ticket scenarios run over HTTP, through the REST API, with two clients
    chosen = [arg for name in TICKET_SCENARIOS for arg in ("--scenario", name)]
    report = bench("--http", live_server.url, "--samples", "4", "--warmup", "1",
                   "--concurrency", "2", *chosen)  # fmt: skip
    # Then each was measured without errors, with the server's own constant query counts
    assert list(report["scenarios"]) == TICKET_SCENARIOS
    for name, result in report["scenarios"].items():
        assert (result["samples"], result["errors"]) == (4, 0), (name, result)
        assert result["details"]["path"].startswith("/api/v1/tickets"), result["details"]
        assert result["server_median_ms"] is not None
        assert result["queries_min"] == result["queries_max"] > 0, (name, result)
        # And the raw SQL of its in-process twin, and the ratio
        assert result["raw_sql"]["statements"] >= 1, (name, result["raw_sql"])
        assert result["ratio"] > 0
    # And it called the API as the subjects, with one expiring bench token each
    subjects, scenarios = report["subjects"], report["scenarios"]
    assert scenarios["queue_first_page"]["details"]["signed_in"] == subjects["agent_email"]
    assert scenarios["customer_tickets"]["details"]["signed_in"] == subjects["customer_email"]
    assert scenarios["ticket_detail"]["details"]["number"] == subjects["detail_number"]
    tokens = ApiToken.objects.filter(name=TOKEN_NAME)
    assert sorted(tokens.values_list("user_id", flat=True)) == sorted(
        [subjects["agent_id"], subjects["customer_id"]]
    )
    assert all(token.expires_at is not None for token in tokens)
    # And what the writers added is tagged like in-process: ticket_create's 2 x 1 warm-up
    # + 4 samples + 1 captured in-process call; comment_add's ticket per thread and one more.
    assert bench_tickets() == (2 + 4 + 1) + (2 + 1)


def test_a_scenario_needing_a_sign_in_is_skipped_when_it_fails(transactional_db, live_server):
    # An empty database: health answers, but nobody can sign in
    report = bench("--http", live_server.url, "--scenario", "health", "--scenario", "home",
                   "--samples", "1", "--login", "demo:agent@demo.deskbase.test:wrong")  # fmt: skip
    assert report["subjects"] is None
    assert report["scenarios"]["health"]["samples"] == 1
    skipped = report["scenarios"]["home"]["skipped"]
    assert "sign-in as agent@demo.deskbase.test in 'demo' failed" in skipped


def test_a_failing_scenario_is_reported_and_the_others_still_run(
    transactional_db, live_server, monkeypatch
):
    def broken(ctx):
        raise RuntimeError("boom")

    monkeypatch.setitem(registry.REGISTRY, "broken", registry.Scenario("broken", "fails",
                                                                       http=broken))  # fmt: skip
    options = runner.Options(mode="http", base_url=live_server.url, scenarios=["broken", "health"],
                             samples=2, warmup=0)  # fmt: skip
    report = runner.run(options)
    assert report["scenarios"]["broken"]["error"] == "RuntimeError: boom"
    assert report["scenarios"]["health"]["samples"] == 2
    with pytest.raises(CommandError, match="scenarios failed: broken"):
        bench("--http", live_server.url, "--scenario", "broken", "--samples", "1")


# ------------------------------------------------------------- no measuring
def test_an_empty_database_is_an_error_naming_how_to_load_data(db):
    with pytest.raises(CommandError, match="deskbase demo"):
        bench("--samples", "1")


def test_scenario_names_are_checked_against_the_mode(monkeypatch):
    with pytest.raises(CommandError, match="unknown scenario 'nope'"):
        bench("--scenario", "nope")
    in_process_only = registry.Scenario("in_process_only", "x", inprocess=lambda ctx: None)
    monkeypatch.setitem(registry.REGISTRY, "in_process_only", in_process_only)
    with pytest.raises(CommandError, match="no http driver yet"):
        bench("--scenario", "in_process_only", "--http", "http://127.0.0.1:9")


def test_list_names_every_scenario_and_its_modes():
    out = StringIO()
    call_command("bench", "--list", stdout=out)
    lines = out.getvalue().splitlines()
    assert any(line.startswith("queue_page_40") and "[in-process, http]" in line for line in lines)
    assert any(line.startswith("health") and "[http]" in line for line in lines)


def test_percentiles_are_nearest_rank():
    values = list(range(1, 201))  # 1..200 ms
    assert percentile(values, 99) == 198
    assert percentile(values, 95) == 190
    assert percentile([5.0], 99) == 5.0
    summary = summarize([3.0, 1.0, 2.0])
    assert (summary["median_ms"], summary["min_ms"], summary["max_ms"]) == (2.0, 1.0, 3.0)
    assert summarize([])["median_ms"] is None


def test_saved_results_are_named_by_date_data_set_mode_and_commit():
    report = {"mode": "in-process", "options": {"concurrency": 8},
              "environment": {"date": "2026-11-22T00:40:03+00:00", "commit": "94ac296b59",
                              "dirty": True, "data_set": {"label": "standard"}}}  # fmt: skip
    assert result_name(report) == "2026-11-22T0040-standard-in-process-c8-94ac296-dirty.json"
    assert [label_for(n) for n in (35, 95_000, 1_100_000, 9_000_000, 3_000_000)] == [
        "tiny", "small", "standard", "large", "other"
    ]  # fmt: skip


def test_server_timing_and_logins_parse():
    header = 'total;dur=12.5, db;dur=3.1;desc="4 queries", app;dur=9.4'
    assert ServerTiming.parse(header) == ServerTiming(12.5, 3.1, 4)
    assert ServerTiming.parse('total;dur=1.0, db;dur=0.2;desc="1 query", app;dur=0.8').queries == 1
    assert ServerTiming.parse(None) is None
    assert Login.parse("demo:a@b.test:pw:with:colons") == Login(
        "demo", "a@b.test", "pw:with:colons"
    )
    with pytest.raises(ValueError, match="SLUG:EMAIL:PASSWORD"):
        Login.parse("demo:a@b.test")


def test_the_registry_lists_scenarios_in_the_modules_order_whatever_was_imported_first():
    # Given a registry filled in another order (a test imported a later module first)
    from deskbase.benchmarks import registry

    scenarios = list(registry.load().values())
    registry.REGISTRY.clear()
    registry.REGISTRY.update((s.name, s) for s in reversed(scenarios))
    # When it is loaded, then the built-in scenarios come first, in their order
    names = list(registry.load())
    assert names == [s.name for s in scenarios]
    assert names.index("queue_first_page") < names.index("mail_new_ticket")
