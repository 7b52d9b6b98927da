"""`deskbase jobs status`: the schedule, the last run of each task, failures and the queue.

It exits 1, naming each problem, while a task's last run failed or is a retry after a
failure, while no job worker is alive (none registered, or none has sent its
heartbeat for STALE_WORKER_SECONDS), or while a mailbox's server refuses it (its
last error, docs/mail-servers.md): a monitor can call it as it is.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from deskbase.core.reports import write_status

# procrastinate's worker sends a heartbeat every 10 s and counts a worker silent for
# 30 s as stalled (its Worker's update_heartbeat_interval / stalled_worker_timeout).
STALE_WORKER_SECONDS = 30


class Command(BaseCommand):
    help = "Job worker status: schedule, last runs, recent failures, queue and workers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["status"])
        parser.add_argument("--json", action="store_true")
        parser.add_argument("--failures", type=int, default=10,
                            help="recent failed attempts to show (default 10)")  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        report = status(failures=options["failures"])
        write_status(self, report, as_json=options["json"], show=self.print)

    def print(self, report: dict[str, Any]) -> None:
        w = self.stdout.write
        w("tasks (schedule, last run):")
        for task in report["tasks"]:
            last = task["last_run"]
            shown = "never run"
            if last:
                shown = f"{last['state']} at {last['started_at']} (attempt {last['attempt']})"
            w(f"  {task['name']:<30} {task['cron']:<14} {shown}")
        w("queue: " + (", ".join(f"{k} {v}" for k, v in report["queue"].items()) or "empty"))
        workers = [
            f"#{x['id']} seen {x['last_heartbeat']}" + ("" if x["alive"] else " (STALE)")
            for x in report["workers"]
        ]
        w("workers: " + (", ".join(workers) or "none running"))
        if report["failures"]:
            w("recent failures:")
            for f in report["failures"]:
                first = (f["error"] or "").splitlines()[0] if f["error"] else ""
                where = f"{f['task']} job {f['job_id']} attempt {f['attempt']}"
                w(f"  {f['started_at']} {where}: {first}")
        if report["mailboxes"]:
            w("mailboxes failing (last error):")
            for m in report["mailboxes"]:
                w(f"  #{m['id']} {m['address']} ({m['organization']}) at {m['checked_at']}:"
                  f" {m['error']}")  # fmt: skip


def _state(ok: bool | None, attempt: int) -> str:
    if ok is None:
        # A retry only runs after its previous attempt failed.
        return "running" if attempt <= 1 else "retrying"
    return "ok" if ok else "FAILED"


def status(*, failures: int = 10) -> dict[str, Any]:
    from deskbase.dbtools.models import JobRun
    from deskbase.jobs import SCHEDULE
    from deskbase.mail.fetching import failing_mailboxes

    tasks, failing = [], []
    for name, (cron, what) in SCHEDULE.items():
        last = JobRun.objects.filter(task=name).order_by("-started_at", "-id").first()
        row = None
        if last is not None:
            state = _state(last.ok, last.attempt)
            row = {"started_at": last.started_at, "finished_at": last.finished_at,
                   "ok": last.ok, "state": state, "attempt": last.attempt,
                   "error": last.error}  # fmt: skip
            if state in {"FAILED", "retrying"}:
                failing.append(name)
        tasks.append({"name": name, "cron": cron, "what": what, "last_run": row})
    recent = JobRun.objects.filter(ok=False).order_by("-started_at", "-id")[:failures]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY 1 ORDER BY 1"
        )
        queue = dict(cursor.fetchall())
        # The database's clock on both sides: the worker's heartbeat is its now().
        cursor.execute(
            "SELECT id, last_heartbeat, last_heartbeat > now() - make_interval(secs => %s)"
            " FROM procrastinate_workers ORDER BY id",
            [STALE_WORKER_SECONDS],
        )
        workers = [{"id": i, "last_heartbeat": h, "alive": a} for i, h, a in cursor.fetchall()]
    alive = any(worker["alive"] for worker in workers)
    problems = []
    if failing:
        problems.append(f"failing tasks: {', '.join(failing)}")
    if not alive:
        problems.append(
            f"no job worker is alive (no heartbeat in the last {STALE_WORKER_SECONDS} s)"
        )
    mailboxes = failing_mailboxes()
    if mailboxes:
        problems.append("mailboxes failing: " + "; ".join(
            f"{m['address']} ({m['organization']}): {m['error']}" for m in mailboxes))  # fmt: skip
    return {
        "tasks": tasks,
        "failing": failing,
        "worker_alive": alive,
        "problems": problems,
        "failures": [
            {
                "task": r.task,
                "job_id": r.job_id,
                "attempt": r.attempt,
                "started_at": r.started_at,
                "error": r.error,
            }
            for r in recent
        ],
        "queue": queue,
        "workers": workers,
        "mailboxes": mailboxes,
    }
