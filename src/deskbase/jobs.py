"""The job worker's periodic tasks (procrastinate; docs/operations.md).

`deskbase worker` runs them; `deskbase up` starts a worker beside the web server.

Roles. The worker connects as the owner role: its tasks create, detach and drop
partitions, refresh materialized views and purge across tenants, which the
application role may not do. Its code is fixed (no task takes user input), so
that power stays contained. The queue tables (procrastinate_*) and the run log
(dbtools_jobrun) are owned by the owner role; the application role gets no
privilege on them (`revoke_application_role`, after every migrate): the web
server defers no job today, and a compromised web process cannot forge one.

Tenants. Tenant work (SLA breaches, the trash) goes one organization at a time,
each in its own transaction with that organization as tenant (set by the
services), rather than as one statement over every tenant: the services keep
their tenant checks and history, one organization's failure or lock wait does not
hold up the others, and each transaction stays short.

Every task is idempotent and retried on failure (exponential back-off, five
attempts); each attempt leaves a row in dbtools_jobrun with its result or error,
which `deskbase jobs status` shows.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import traceback
from collections.abc import Callable
from pathlib import PurePath
from typing import Any

import procrastinate
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DataError, close_old_connections, connection, transaction
from django.utils import timezone
from procrastinate.contrib.django import app
from procrastinate.sql import queries

logger = logging.getLogger(__name__)

QUEUE = "deskbase"
RETRY = procrastinate.RetryStrategy(max_attempts=5, exponential_wait=4)
RUN_LOG_DAYS = 30
JOB_ROWS_HOURS = 24 * 7

# name -> (cron, what): the schedule, also shown by `deskbase jobs status`.
SCHEDULE: dict[str, tuple[str, str]] = {
    "deskbase.mark_sla_breaches": ("* * * * *", "flag tickets past their SLA due time"),
    "deskbase.refresh_views": ("*/10 * * * *", "refresh the analytics materialized views"),
    "deskbase.create_partitions": ("7 * * * *", "create monthly partitions ahead, empty defaults"),
    "deskbase.purge_trash": ("17 2 * * *", "hard-delete the trash past its retention"),
    "deskbase.purge_notifications": ("27 2 * * *", "delete notifications past their retention"),
    "deskbase.retire_partitions": ("37 3 * * *", "detach and drop or archive old partitions"),
    "deskbase.expire_mail_review": ("23 * * * *", "discard mail waiting in review past 14 days"),
    "deskbase.publish_articles": ("* * * * *", "publish knowledge base articles whose time came"),
    "deskbase.run_time_rules": ("* * * * *", "apply the time rules of each organization"),
    "deskbase.privacy_exports": ("* * * * *", "build personal data exports, delete expired ones"),
    "deskbase.privacy_retention": ("47 2 * * *", "purge closed tickets past retention"),
    "deskbase.run_bulk_jobs": ("* * * * *", "run bulk ticket actions too large for a request"),
}


def run_logged(name: str, work: Callable[[], Any], *, job_id: int | None, attempt: int) -> Any:
    """Run `work`, recording the attempt in dbtools_jobrun; re-raise its failure.

    Only the work decides whether the attempt failed: a result that cannot be stored
    as JSON is recorded as its description (`jsonable`), never as a failure, since
    retrying work that succeeded would only fail the same way five times.
    """
    from deskbase.dbtools.models import JobRun

    # Worker threads have no request cycle: drop a connection a restart broke, and
    # give it back after the run (not inside a caller's transaction, as in tests).
    outside = not connection.in_atomic_block
    if outside:
        close_old_connections()
    run = JobRun.objects.create(task=name, job_id=job_id, attempt=attempt)
    try:
        result = work()
    except Exception as exc:
        JobRun.objects.filter(pk=run.pk).update(
            finished_at=timezone.now(), ok=False,
            error=f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}"[:8000],
        )  # fmt: skip
        raise
    else:
        _record_success(run.pk, name, result)
        return result
    finally:
        if outside:
            connection.close()


def _record_success(pk: int, name: str, result: Any) -> None:
    from deskbase.dbtools.models import JobRun

    stored = jsonable(result)
    try:
        with transaction.atomic():  # a savepoint inside a caller's transaction
            JobRun.objects.filter(pk=pk).update(finished_at=timezone.now(), ok=True, result=stored)
        return
    except DataError as exc:
        # JSON that PostgreSQL's jsonb refuses (a NUL character in a string).
        logger.warning("job %s: its result could not be stored: %s", name, exc)
    JobRun.objects.filter(pk=pk).update(
        finished_at=timezone.now(), ok=True,
        result={"unstored": _describe(result), "reason": "the database refused the JSON"},
    )  # fmt: skip


class ResultEncoder(DjangoJSONEncoder):
    """Django's encoder (datetimes, dates, decimals, UUIDs), plus what task bodies return:
    dataclasses (their `as_json()` when they have one), sets, tuples and paths."""

    def default(self, o: Any) -> Any:
        if dataclasses.is_dataclass(o) and not isinstance(o, type):
            as_json = getattr(o, "as_json", None)
            return as_json() if callable(as_json) else dataclasses.asdict(o)
        if isinstance(o, set | frozenset):
            return sorted(o, key=repr)
        if isinstance(o, PurePath):
            return str(o)
        return super().default(o)


def jsonable(value: Any) -> dict:
    """`value` as the JSON object stored in dbtools_jobrun.result; never raises."""
    try:
        data = json.loads(json.dumps(value, cls=ResultEncoder))
    except (TypeError, ValueError) as exc:
        logger.warning("a job result is not JSON (%s); its description is stored instead", exc)
        return {"unserializable": _describe(value), "reason": str(exc)[:500]}
    return data if isinstance(data, dict) else {"result": data}


def _describe(value: Any) -> str:
    try:
        return repr(value)[:2000]
    except Exception:  # a broken __repr__ must not fail the job either
        return f"<{type(value).__name__}>"


def _ids(context: Any) -> tuple[int | None, int]:
    job = getattr(context, "job", None)
    return (getattr(job, "id", None), (getattr(job, "attempts", 0) or 0) + 1)


def _task(name: str, lock: str | None = None) -> Callable:
    """A periodic task of our queue: retried, one queued at a time, logged."""
    cron = SCHEDULE[name][0]

    def wrap(func: Callable[[], Any]) -> Any:
        def job(context: Any, timestamp: int) -> Any:
            job_id, attempt = _ids(context)
            return run_logged(name, func, job_id=job_id, attempt=attempt)

        job.__name__ = func.__name__
        job.__doc__ = func.__doc__
        task = app.task(
            name=name, queue=QUEUE, retry=RETRY, pass_context=True,
            queueing_lock=name, lock=lock or name,
        )(job)  # fmt: skip
        return app.periodic(cron=cron)(task)

    return wrap


# ------------------------------------------------------------------ the tasks
def mark_sla_breaches() -> dict:
    from deskbase.dbtools import maintenance

    return maintenance.mark_sla_breaches()


def refresh_views() -> dict:
    from deskbase.dbtools import maintenance

    return maintenance.refresh_views()


def create_partitions() -> dict:
    from deskbase.dbtools import maintenance

    return maintenance.create_partitions()


def purge_trash() -> dict:
    from deskbase.dbtools import maintenance

    return maintenance.purge_trash()


def purge_notifications() -> dict:
    from deskbase.dbtools import maintenance

    return maintenance.purge_notifications()


def retire_partitions() -> dict:
    """Old partitions by retention, then the worker's own old records."""
    from datetime import timedelta

    from deskbase.dbtools import maintenance
    from deskbase.dbtools.models import JobRun

    retired = maintenance.retire_partitions()
    cutoff = timezone.now() - timedelta(days=RUN_LOG_DAYS)
    runs, _ = JobRun.objects.filter(started_at__lt=cutoff).delete()
    # Succeeded jobs only: failed ones stay visible until someone looks. procrastinate's
    # own query, through Django's connection (this runs in a worker thread).
    with connection.cursor() as cursor:
        cursor.execute(
            queries["delete_old_jobs"],
            {"nb_hours": JOB_ROWS_HOURS, "queue": None, "statuses": ["succeeded"]},
        )
        jobs = cursor.rowcount
    return {"retired": retired, "run_log_rows_deleted": runs, "job_rows_deleted": jobs}


def expire_mail_review() -> dict:
    from deskbase.mail.review import expire_review

    return expire_review()


def publish_articles() -> dict:
    from deskbase.knowledge import services

    return {"published": services.publish_due()}


def run_time_rules() -> dict:
    """Every organization's time rules (docs/automation.md); one organization failing is
    reported after the others ran, and the attempt fails so that it is retried."""
    from deskbase.automation import timed

    result = timed.run_all()
    if result["failed"]:
        raise RuntimeError(f"time rules failed for organizations {result['failed']}")
    return result


def privacy_exports() -> dict:
    from deskbase.privacy import exports

    return exports.build_pending()


def privacy_retention() -> dict:
    from deskbase.privacy import retention

    return retention.run()


def run_bulk_jobs() -> dict:
    """Queued bulk actions, and any a crash left half done (docs/bulk.md)."""
    from deskbase.bulk import services

    return services.run_pending()


# Partition DDL tasks share one lock: never two at once on one parent.
mark_sla_breaches_task = _task("deskbase.mark_sla_breaches")(mark_sla_breaches)
refresh_views_task = _task("deskbase.refresh_views")(refresh_views)
create_partitions_task = _task("deskbase.create_partitions", "deskbase.partitions")(
    create_partitions
)
purge_trash_task = _task("deskbase.purge_trash")(purge_trash)
purge_notifications_task = _task("deskbase.purge_notifications")(purge_notifications)
retire_partitions_task = _task("deskbase.retire_partitions", "deskbase.partitions")(
    retire_partitions
)
expire_mail_review_task = _task("deskbase.expire_mail_review")(expire_mail_review)
publish_articles_task = _task("deskbase.publish_articles")(publish_articles)
run_time_rules_task = _task("deskbase.run_time_rules")(run_time_rules)
privacy_exports_task = _task("deskbase.privacy_exports")(privacy_exports)
privacy_retention_task = _task("deskbase.privacy_retention")(privacy_retention)
run_bulk_jobs_task = _task("deskbase.run_bulk_jobs")(run_bulk_jobs)

TASKS: dict[str, Callable[[], Any]] = {
    "deskbase.mark_sla_breaches": mark_sla_breaches,
    "deskbase.refresh_views": refresh_views,
    "deskbase.create_partitions": create_partitions,
    "deskbase.purge_trash": purge_trash,
    "deskbase.purge_notifications": purge_notifications,
    "deskbase.retire_partitions": retire_partitions,
    "deskbase.expire_mail_review": expire_mail_review,
    "deskbase.publish_articles": publish_articles,
    "deskbase.run_time_rules": run_time_rules,
    "deskbase.privacy_exports": privacy_exports,
    "deskbase.privacy_retention": privacy_retention,
    "deskbase.run_bulk_jobs": run_bulk_jobs,
}


# ------------------------------------------------------------------ roles
QUEUE_TABLES_LIKE = ("procrastinate\\_%", "dbtools\\_jobrun")


def revoke_application_role(using: str = "default", **kwargs: Any) -> None:
    """Take back from the application role what the blanket grant gave on the queue."""
    from django.db import connections

    from deskbase.core.grants import application_role

    role = application_role()
    conn = connections[using]
    with conn.cursor() as cursor:
        cursor.execute("SELECT current_user")
        if role is None or role == cursor.fetchone()[0]:
            return
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone() is None:
            return
        cursor.execute(
            "SELECT c.relname FROM pg_class c WHERE c.relkind IN ('r', 'S', 'p')"
            " AND c.relnamespace = current_schema()::regnamespace"
            " AND (c.relname LIKE %s OR c.relname LIKE %s)",
            list(QUEUE_TABLES_LIKE),
        )
        quoted = conn.ops.quote_name(role)
        for (name,) in cursor.fetchall():
            cursor.execute(f"REVOKE ALL ON {conn.ops.quote_name(name)} FROM {quoted}")
