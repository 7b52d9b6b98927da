"""`deskbase worker`: the procrastinate worker that runs deskbase.jobs (as the owner role),
and beside it, in a thread, the delivery of the outbox (deskbase.outbox.delivery).

procrastinate stops a worker whose side task fails, typically its notification
listener when the database restarts or a restore ends its connections; that stop
would otherwise exit 0, like a requested one. Here it exits 1 with the reason, so
`deskbase up` and a service manager (systemd's Restart=on-failure) start it again.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser


class SideTaskFailures(logging.Handler):
    """Remembers procrastinate's "side task failed, stopping worker" record."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.reason: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "action", None) == "side_task_failed":
            self.reason = str(getattr(record, "exception", "") or record.getMessage())


class Command(BaseCommand):
    help = (
        "Run the job worker: periodic maintenance and SLA tasks (deskbase.jobs),"
        " and the outbox's delivery."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--concurrency", type=int, default=1,
                            help="jobs run at once (default 1)")  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        from deskbase.jobs import QUEUE
        from deskbase.mail.fetching import MailFetching
        from deskbase.outbox.delivery import DeliveryThread

        failures = SideTaskFailures()
        logger = logging.getLogger("procrastinate.worker")
        logger.addHandler(failures)
        outbox = DeliveryThread().start()
        mail = MailFetching().start()  # the IMAP mailboxes (docs/mail-servers.md)
        try:
            call_command(
                "procrastinate", "worker", "--queues", QUEUE,
                "--concurrency", str(options["concurrency"]), "--name", "deskbase",
            )  # fmt: skip
        finally:
            mail.stop()  # within about a second, IDLE included
            outbox.stop()  # after its batch in progress: a batch cut short is delivered again
            logger.removeHandler(failures)
        if failures.reason is not None:
            raise CommandError(f"the worker stopped on its own: {failures.reason}")
