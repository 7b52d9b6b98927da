"""The job worker's tasks: they run against the real database, are idempotent, are
retried on failure, and `deskbase jobs status` shows what happened."""

from __future__ import annotations

import sys
import types
from datetime import timedelta

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
