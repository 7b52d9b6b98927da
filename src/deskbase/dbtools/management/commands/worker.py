"""`deskbase worker`: the procrastinate worker that runs deskbase.jobs (as the owner role)."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Run the job worker: periodic maintenance and SLA tasks (deskbase.jobs)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--concurrency", type=int, default=1,
                            help="jobs run at once (default 1)")  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        from deskbase.jobs import QUEUE

        call_command(
            "procrastinate", "worker", "--queues", QUEUE,
            "--concurrency", str(options["concurrency"]), "--name", "deskbase",
        )  # fmt: skip
