"""`deskbase jobs status`: the schedule, the last run of each task, failures and the queue."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection


class Command(BaseCommand):
    help = "Job worker status: schedule, last runs, recent failures, queue and workers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["status"])
        parser.add_argument("--json", action="store_true")
        parser.add_argument("--failures", type=int, default=10,
                            help="recent failed attempts to show (default 10)")  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        report = status(failures=options["failures"])
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2, default=str))
        else:
            self.print(report)
        if report["failing"]:
            raise CommandError(f"failing tasks: {', '.join(report['failing'])}")

    def print(self, report: dict[str, Any]) -> None:
        w = self.stdout.write
        w("tasks (schedule, last run):")
        for task in report["tasks"]:
            last = task["last_run"]
            shown = "never run"
            if last:
                state = {True: "ok", False: "FAILED", None: "running"}[last["ok"]]
                shown = f"{state} at {last['started_at']} (attempt {last['attempt']})"
            w(f"  {task['name']:<30} {task['cron']:<14} {shown}")
        w("queue: " + (", ".join(f"{k} {v}" for k, v in report["queue"].items()) or "empty"))
        w(
            "workers: "
            + (
                ", ".join(f"#{x['id']} seen {x['last_heartbeat']}" for x in report["workers"])
                or "none running"
            )
        )
        if report["failures"]:
            w("recent failures:")
            for f in report["failures"]:
                first = (f["error"] or "").splitlines()[0] if f["error"] else ""
                where = f"{f['task']} job {f['job_id']} attempt {f['attempt']}"
                w(f"  {f['started_at']} {where}: {first}")


def status(*, failures: int = 10) -> dict[str, Any]:
    from deskbase.dbtools.models import JobRun
    from deskbase.jobs import SCHEDULE

    tasks, failing = [], []
    for name, (cron, what) in SCHEDULE.items():
        last = JobRun.objects.filter(task=name).order_by("-started_at", "-id").first()
        row = None
        if last is not None:
            row = {"started_at": last.started_at, "finished_at": last.finished_at,
                   "ok": last.ok, "attempt": last.attempt, "error": last.error}  # fmt: skip
            if last.ok is False:
                failing.append(name)
        tasks.append({"name": name, "cron": cron, "what": what, "last_run": row})
    recent = JobRun.objects.filter(ok=False).order_by("-started_at", "-id")[:failures]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY 1 ORDER BY 1"
        )
        queue = dict(cursor.fetchall())
        cursor.execute("SELECT id, last_heartbeat FROM procrastinate_workers ORDER BY id")
        workers = [{"id": i, "last_heartbeat": h} for i, h in cursor.fetchall()]
    return {
        "tasks": tasks,
        "failing": failing,
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
    }
