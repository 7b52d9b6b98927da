"""`deskbase bench`: run the selected scenarios and build the JSON report."""

from __future__ import annotations

import contextlib
import json
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, OperationalError, connection

from deskbase.benchmarks import database, environment, registry
from deskbase.benchmarks.context import Context, Skip
from deskbase.benchmarks.driver import Measurement, drive, http_worker, inprocess_worker
from deskbase.benchmarks.httpclient import HttpClient, HttpStatusError, Login
from deskbase.benchmarks.registry import Prepared, Scenario, Statement
from deskbase.benchmarks.stats import ratio, summarize
from deskbase.benchmarks.subjects import NoData, Subjects, pick_subjects

FORMAT = 1
SQL_PREVIEW = 600


@dataclass
class Options:
    mode: str = "in-process"  # or "http"
    scenarios: list[str] | None = None
    samples: int = 200
    warmup: int = 20
    concurrency: int = 1
    base_url: str | None = None
    login: Login | None = None
    use_database: bool = True  # HTTP mode: False for a server whose database is not ours


Progress = Callable[[str], None]


def run(options: Options, progress: Progress = lambda message: None) -> dict[str, Any]:
    scenarios = registry.select(options.mode, options.scenarios)
    has_database = options.use_database and _database_reachable(options.mode == "in-process")
    ctx = Context(base_url=options.base_url, login=options.login, samples=options.samples,
                  concurrency=options.concurrency)  # fmt: skip
    if has_database:
        ctx.subjects = _subjects(required=options.mode == "in-process")
    report: dict[str, Any] = {
        "format": FORMAT, "mode": options.mode, "target": options.base_url,
        "options": {"samples": options.samples, "warmup": options.warmup,
                    "concurrency": options.concurrency, "scenarios": [s.name for s in scenarios]},
        "environment": _environment(ctx, has_database),
        "subjects": ctx.subjects.as_json() if ctx.subjects else None,
        "scenarios": {},
    }  # fmt: skip
    with database.application_role() if has_database else contextlib.nullcontext():
        if has_database:
            report["environment"]["postgresql"].update(database.role_report())
        for scenario in scenarios:
            result = run_scenario(scenario, ctx, options, has_database)
            report["scenarios"][scenario.name] = result
            progress(_one_line(scenario.name, result))
    return report


def _database_reachable(required: bool) -> bool:
    try:
        connection.ensure_connection()
    except OperationalError:
        if required:
            raise
        return False  # HTTP mode against a server whose database we cannot reach
    return True


def _subjects(*, required: bool) -> Subjects | None:
    try:
        return pick_subjects()
    except (NoData, DatabaseError):
        if required:
            raise
        return None


def _environment(ctx: Context, has_database: bool) -> dict[str, Any]:
    """Date, code, machine; PostgreSQL and the data set; the server's own health report."""
    info: dict[str, Any] = {"date": environment.now(), **environment.code(),
                            **environment.machine()}  # fmt: skip
    if has_database:
        info["postgresql"] = environment.postgres()
        info["data_set"] = ctx.subjects.data_set if ctx.subjects else None
    if ctx.base_url:
        info["server"] = _server_health(ctx.base_url)
    return info


def _server_health(base_url: str) -> dict[str, Any] | None:
    client = HttpClient(base_url)
    try:
        return json.loads(client.get("/health", expect=(200, 503)).body).get("database")
    except (OSError, HttpStatusError, ValueError):
        return None
    finally:
        client.close()


def run_scenario(
    scenario: Scenario, ctx: Context, options: Options, has_database: bool
) -> dict[str, Any]:
    """Measure one scenario; a skip or failure is reported in its result, never raised."""
    head = {"description": scenario.description, "writes": scenario.writes}
    prepare = scenario.driver(options.mode)
    assert prepare is not None  # registry.select() keeps runnable scenarios only
    try:
        prepared = prepare(ctx)
        worker = inprocess_worker if options.mode == "in-process" else http_worker
        measured = drive(worker(prepared), samples=options.samples, warmup=options.warmup,
                         concurrency=options.concurrency)  # fmt: skip
    except Skip as reason:
        return {**head, "skipped": str(reason)}
    except Exception as error:  # one broken scenario must not lose the others' results
        return {**head, "error": f"{type(error).__name__}: {error}"[:500]}
    finally:
        ctx.close_clients()
    raw = _raw_sql_or_reason(scenario, ctx, options, prepared) if has_database else None
    summary = _summary(measured, options)
    raw_median = raw.get("median_ms") if raw else None
    return {**head, **summary, "raw_sql": raw, "ratio": ratio(summary["median_ms"], raw_median),
            "details": prepared.details}  # fmt: skip


def _summary(measured: Measurement, options: Options) -> dict[str, Any]:
    queries = [o.queries for o in measured.observations if o.queries is not None]
    db = [o.db_ms for o in measured.observations if o.db_ms is not None]
    server = [o.server_ms for o in measured.observations if o.server_ms is not None]
    throughput = len(measured.latencies_ms) / measured.wall_seconds if measured.wall_seconds else 0
    return {
        "samples": len(measured.latencies_ms),
        **summarize(measured.latencies_ms),
        "queries_per_request": statistics.median_low(queries) if queries else None,
        "queries_min": min(queries, default=None),
        "queries_max": max(queries, default=None),
        "db_median_ms": round(statistics.median(db), 3) if db else None,
        "server_median_ms": round(statistics.median(server), 3) if server else None,
        "concurrency": options.concurrency,
        "throughput_rps": round(throughput, 1),
        "errors": measured.errors,
        "error_messages": measured.error_messages,
    }


def _raw_sql_or_reason(
    scenario: Scenario, ctx: Context, options: Options, prepared: Prepared
) -> dict[str, Any] | None:
    """The raw SQL timing; when it cannot be had, why (the measurement itself still counts)."""
    if scenario.inprocess is None:
        return None  # HTTP-only: the bench cannot see the server's SQL
    try:
        if options.mode != "in-process":
            prepared = scenario.inprocess(ctx)  # capture from the in-process twin
        return _raw_sql(scenario, options, prepared)
    except Skip as reason:
        return {"skipped": str(reason)}
    except Exception as error:
        return {"error": f"{type(error).__name__}: {error}"[:500]}
    finally:
        ctx.close_clients()


def _raw_sql(scenario: Scenario, options: Options, prepared: Prepared) -> dict[str, Any]:
    """Capture the scenario's SQL from one in-process call, then time its main part raw."""
    if prepared.tenant is None:
        return {"error": "the scenario names no tenant for the raw connection"}
    statements = _capture(prepared)
    pick = scenario.main_sql or registry.data_statements
    main = [s for s in statements if pick(s)]
    if not main:
        return {"error": f"no main statement among the {len(statements)} captured"}
    timings = database.time_statements(main, prepared.tenant, samples=options.samples,
                                       warmup=options.warmup)  # fmt: skip
    return {
        "statements": len(main),
        "of_captured": len(statements),
        "sql": [_preview(s.sql) for s in main],
        **summarize(timings),
        "concurrency": 1,  # one connection, whatever --concurrency is
        "rolled_back": True,
    }


def _capture(prepared: Prepared) -> list[Statement]:
    """Every statement of one call, on this (main) thread's connection (one more write)."""
    call = prepared.worker(0)
    recorder = database.StatementRecorder()
    with connection.execute_wrapper(recorder):
        call()
    return recorder.statements


def _preview(sql: str) -> str:
    """The statement on one line, a SELECT's column list elided: enough to recognize it."""
    text = " ".join(sql.split())
    if text.startswith("SELECT ") and " FROM " in text:
        text = "SELECT … " + text[text.index(" FROM ") + 1 :]  # noqa: S608 - display only
    return text if len(text) <= SQL_PREVIEW else text[: SQL_PREVIEW - 1] + "…"


def _one_line(name: str, result: dict[str, Any]) -> str:
    if "skipped" in result or "error" in result:
        return f"{name}: {result.get('skipped') or result.get('error')}"
    line = (
        f"{name}: median {result['median_ms']} ms, p95 {result['p95_ms']}, p99 {result['p99_ms']},"
        f" {result['queries_per_request']} queries, {result['throughput_rps']}/s,"
        f" {result['errors']} errors"
    )
    raw = result.get("raw_sql") or {}
    if "median_ms" in raw:
        line += f"; raw SQL {raw['median_ms']} ms, ratio {result['ratio']}"
    return line
