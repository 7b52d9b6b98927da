"""The job worker's tasks: they run against the real database, are idempotent, are
retried on failure, and `deskbase jobs status` shows what happened."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import sys
import types
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import procrastinate
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from procrastinate.testing import InMemoryConnector

from deskbase import jobs
from deskbase.dbtools.models import JobRun
from deskbase.tickets.models import Ticket
from tests.tickets.factories import open_ticket


def sql(statement: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])
        return cursor.fetchall() if cursor.description else []


def run(name: str):
    return jobs.run_logged(name, jobs.TASKS[name], job_id=None, attempt=1)


@pytest.mark.django_db
def test_the_schedule_registers_every_task_with_retries():
    periodic = {
        task.task.name: task.cron for task in jobs.app.periodic_registry.periodic_tasks.values()
    }
    assert periodic == {name: cron for name, (cron, _) in jobs.SCHEDULE.items()}
    for name in jobs.SCHEDULE:
        task = jobs.app.tasks[name]
        assert task.retry_strategy.max_attempts == 5
        assert task.queue == jobs.QUEUE


@pytest.mark.django_db
def test_sla_breaches_are_marked_in_every_organization_once(tenant_a, tenant_b):
    late = open_ticket(tenant_a)
    other = open_ticket(tenant_b)
    sql(
        "UPDATE tickets_ticket SET first_response_due_at = now() - interval '1 hour'"
        " WHERE id = ANY(%s)",
        [[late.id, other.id]],
    )
    first = run("deskbase.mark_sla_breaches")
    again = run("deskbase.mark_sla_breaches")
    assert first["tickets_flagged"] == 2
    assert first["organizations"] >= 2
    assert again["tickets_flagged"] == 0
    assert set(
        Ticket.all_objects.filter(id__in=[late.id, other.id]).values_list("sla_breach", flat=True)
    ) == {True}
    assert JobRun.objects.filter(task="deskbase.mark_sla_breaches", ok=True).count() == 2


@pytest.mark.django_db
def test_the_trash_past_retention_is_purged(tenant_a, settings):
    from deskbase.tickets.services import ticket_soft_delete

    settings.TRASH_RETENTION_DAYS = 30
    old, recent = open_ticket(tenant_a), open_ticket(tenant_a)
    for ticket in (old, recent):
        ticket_soft_delete(organization=tenant_a.org, actor=tenant_a.admin, ticket=ticket)
    sql("UPDATE tickets_ticket SET deleted_at = now() - interval '40 days' WHERE id = %s", [old.id])
    result = run("deskbase.purge_trash")
    assert result["tickets"] == 1
    assert list(
        Ticket.all_objects.filter(id__in=[old.id, recent.id]).values_list("id", flat=True)
    ) == [recent.id]
    assert run("deskbase.purge_trash")["tickets"] == 0


@pytest.mark.django_db
def test_view_refresh_is_skipped_while_analytics_has_no_refresh_module(monkeypatch):
    monkeypatch.setitem(sys.modules, "deskbase.analytics.refresh", None)
    assert run("deskbase.refresh_views") == {"skipped": "deskbase.analytics.refresh is absent"}


@pytest.mark.django_db
def test_view_refresh_calls_the_analytics_module_when_present(monkeypatch):
    calls = []
    module = types.ModuleType("deskbase.analytics.refresh")
    module.refresh_views = lambda: calls.append("refreshed") or ["v1", "v2"]
    monkeypatch.setitem(sys.modules, "deskbase.analytics.refresh", module)
    assert run("deskbase.refresh_views") == {"refreshed": ["v1", "v2"]}
    assert calls == ["refreshed"]


@pytest.mark.django_db
def test_partition_creation_runs_twice_without_change():
    run("deskbase.create_partitions")
    second = run("deskbase.create_partitions")
    assert all(entry == {"created": [], "moved_from_default": 0} for entry in second.values())
    assert "accounts_auditlog" in second


@pytest.mark.django_db(transaction=True)
def test_partition_retirement_runs_outside_a_transaction():
    result = jobs.run_logged(
        "deskbase.retire_partitions", jobs.retire_partitions, job_id=None, attempt=1
    )
    assert result["retired"] == []  # nothing here is past its retention
    assert JobRun.objects.get(task="deskbase.retire_partitions").ok is True


@pytest.mark.django_db(transaction=True)
def test_a_failing_job_is_retried_and_its_failure_is_shown(monkeypatch):
    # Given a view refresh that fails once (a lock it could not get), then works
    outcomes = [RuntimeError("could not obtain lock on materialized view"), ["v1"]]

    def refresh_views():
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    module = types.ModuleType("deskbase.analytics.refresh")
    module.refresh_views = refresh_views
    monkeypatch.setitem(sys.modules, "deskbase.analytics.refresh", module)
    # And a worker app with the in-memory queue and the production retry strategy
    app = procrastinate.App(connector=InMemoryConnector())

    @app.task(name="deskbase.refresh_views", queue=jobs.QUEUE, retry=jobs.RETRY, pass_context=True)
    def task(context, timestamp: int):
        return jobs.run_logged(
            "deskbase.refresh_views", jobs.refresh_views, job_id=context.job.id,
            attempt=context.job.attempts + 1,
        )  # fmt: skip

    with app.open():
        job_id = task.defer(timestamp=0)
        # When the worker runs it
        app.run_worker(queues=[jobs.QUEUE], wait=False, install_signal_handlers=False)
        row = app.connector.jobs[job_id]
        # Then it failed, and is scheduled again rather than given up
        assert row["status"] == "todo"
        assert row["attempts"] == 1
        assert row["scheduled_at"] > timezone.now()
        with pytest.raises(CommandError, match=r"failing tasks: deskbase\.refresh_views"):
            call_command("jobs", "status")
        failure = JobRun.objects.get(task="deskbase.refresh_views", ok=False)
        assert "could not obtain lock" in failure.error
        assert failure.job_id == job_id

        # When its retry comes due and the worker runs again
        row["scheduled_at"] = timezone.now() - timedelta(seconds=1)
        app.run_worker(queues=[jobs.QUEUE], wait=False, install_signal_handlers=False)
    # Then it succeeded on its second attempt and the status is clean
    assert app.connector.jobs[job_id]["status"] == "succeeded"
    last = JobRun.objects.filter(task="deskbase.refresh_views").order_by("-id").first()
    assert (last.ok, last.attempt, last.result) == (True, 2, {"refreshed": ["v1"]})
    live_worker()
    call_command("jobs", "status")  # no CommandError


@pytest.mark.django_db
def test_the_application_role_has_no_privilege_on_the_queue():
    rows = sql(
        "SELECT c.relname,"
        " has_table_privilege('deskbase_app', c.oid, 'SELECT,INSERT,UPDATE,DELETE')"
        " FROM pg_class c WHERE c.relkind = 'r' AND (c.relname LIKE 'procrastinate%%'"
        " OR c.relname = 'dbtools_jobrun')"
    )
    assert rows
    assert [name for name, allowed in rows if allowed] == []
    (tickets,) = sql("SELECT has_table_privilege('deskbase_app', 'tickets_ticket', 'SELECT')")
    assert tickets == (True,)


# ------------------------------------------------------------ the real task bodies
def live_worker(seconds_ago: int = 0) -> int:
    """A worker row as procrastinate keeps it, its last heartbeat `seconds_ago`."""
    ((worker_id,),) = sql(
        "INSERT INTO procrastinate_workers (last_heartbeat)"
        " VALUES (now() - make_interval(secs => %s)) RETURNING id",
        [seconds_ago],
    )
    return worker_id


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", list(jobs.SCHEDULE))
def test_each_real_task_body_runs_and_its_result_is_stored(name, tenant_a):
    # Given a database with an organization and a ticket (no fake task body)
    open_ticket(tenant_a)
    # When the worker's own wrapper runs the real task once
    result = jobs.run_logged(name, jobs.TASKS[name], job_id=None, attempt=1)
    # Then the attempt is recorded as a success, with its result as JSON
    run = JobRun.objects.get(task=name)
    assert (run.ok, run.error) == (True, "")
    assert run.finished_at is not None
    assert isinstance(run.result, dict)
    assert run.result == json.loads(json.dumps(jobs.jsonable(result)))


@pytest.mark.django_db(transaction=True)
def test_the_view_refresh_records_each_view_it_refreshed(tenant_a):
    from deskbase.analytics.refresh import VIEWS

    open_ticket(tenant_a)
    jobs.run_logged("deskbase.refresh_views", jobs.refresh_views, job_id=7, attempt=1)
    run = JobRun.objects.get(task="deskbase.refresh_views")
    assert run.ok is True
    refreshed = run.result["refreshed"]
    assert [entry["view"] for entry in refreshed] == list(VIEWS)
    assert all(entry["rows"] >= 0 and entry["duration_ms"] >= 0 for entry in refreshed)


@dataclasses.dataclass
class Outcome:
    when: datetime
    count: int
    where: Path


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (
            Outcome(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), 3, Path("/x")),
            {"when": "2026-01-02T03:04:05Z", "count": 3, "where": "/x"},
        ),
        ([Outcome(datetime(2026, 1, 2, tzinfo=UTC), 1, Path("y"))], None),
        ({"ids": {3}, "at": date(2026, 1, 2), "n": Decimal("1.5")}, None),
    ],
    ids=["dataclass", "list-of-dataclasses", "set-date-decimal"],
)
def test_results_of_any_common_type_are_stored(value, stored):
    # When a job returns a value json.dumps cannot take as it is
    jobs.run_logged("deskbase.test", lambda: value, job_id=None, attempt=1)
    # Then the attempt succeeded and its result is kept as JSON
    run = JobRun.objects.get(task="deskbase.test")
    assert run.ok is True
    assert run.result
    if stored is not None:
        assert run.result == stored


@pytest.mark.django_db
def test_a_result_that_cannot_be_serialized_never_fails_the_job():
    class Opaque:
        def __repr__(self) -> str:
            return "<opaque thing>"

    # When a job returns something no encoder knows, and even text PostgreSQL refuses
    result = jobs.run_logged("deskbase.test", lambda: Opaque(), job_id=None, attempt=1)
    nul = jobs.run_logged("deskbase.nul", lambda: {"text": "a\x00b"}, job_id=None, attempt=1)
    # Then the jobs still succeeded, their results are returned, and a description is stored
    assert isinstance(result, Opaque)
    assert nul == {"text": "a\x00b"}
    run = JobRun.objects.get(task="deskbase.test")
    assert run.ok is True
    assert "<opaque thing>" in json.dumps(run.result)
    assert JobRun.objects.get(task="deskbase.nul").ok is True


# ------------------------------------------------------------------ jobs status
def status_exit(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("jobs", "status", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return 1, out.getvalue() + str(exc)
    return 0, out.getvalue()


@pytest.mark.django_db
def test_status_is_clean_with_a_live_worker_and_good_runs():
    live_worker()
    run("deskbase.mark_sla_breaches")
    code, output = status_exit()
    assert code == 0, output


@pytest.mark.django_db
def test_status_fails_while_a_task_is_retrying_after_a_failure():
    # Given a task whose first attempt failed and whose second is still running
    live_worker()
    JobRun.objects.create(task="deskbase.refresh_views", job_id=9, attempt=1, ok=False,
                          error="boom", finished_at=timezone.now())  # fmt: skip
    JobRun.objects.create(task="deskbase.refresh_views", job_id=9, attempt=2)
    # When the monitor asks
    code, output = status_exit()
    # Then it exits 1 and says the task is retrying
    assert code == 1
    assert re.search(r"deskbase\.refresh_views .* retrying at .* \(attempt 2\)", output)
    assert "deskbase.refresh_views" in output


@pytest.mark.django_db
@pytest.mark.parametrize("heartbeat", [None, 300], ids=["no-worker", "stale-heartbeat"])
def test_status_fails_without_a_live_worker(heartbeat):
    # Given good runs but no worker, or one whose heartbeat stopped minutes ago
    if heartbeat is not None:
        live_worker(seconds_ago=heartbeat)
    run("deskbase.mark_sla_breaches")
    # When the monitor asks, then it exits 1 and says why
    code, output = status_exit()
    assert code == 1
    assert "no job worker is alive" in output
    code, output = status_exit("--json")
    assert code == 1
    assert '"worker_alive": false' in output
