"""`deskbase worker`: the procrastinate worker that runs deskbase.jobs (as the owner role),
and beside it, in a thread, the delivery of the outbox (deskbase.outbox.delivery).

Stopping. SIGTERM or SIGINT asks for a stop at any moment, once is enough
(deskbase.dbtools.stopping): the running job and the delivery batch in progress
are finished, then the command exits 0. A stop asked for while the command is still
starting (Django loading, the job queue's connections opening) ends it as soon as
that step is done, without starting what comes after it.

procrastinate stops a worker whose side task fails, typically its notification
listener when the database restarts or a restore ends its connections; that stop
would otherwise exit 0, like a requested one. Here it exits 1 with the reason, so
`deskbase up` and a service manager (systemd's Restart=on-failure) start it again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from deskbase.dbtools import stopping

# The job queue's connections wait this long at most for their workers when closed:
# longer than one connection attempt (connect_timeout), so none is left running.
POOL_CLOSE_SECONDS = 15.0


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
        " the outbox's delivery, and the fetching of IMAP mailboxes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--concurrency", type=int, default=1,
                            help="jobs run at once (default 1)")  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        from django.db import connection

        from deskbase.mail.fetching import MailFetching
        from deskbase.outbox.delivery import DeliveryThread

        stop = stopping.install()  # deskbase.cli installed it already; else from now on
        if stop.requested:
            return
        failures = SideTaskFailures()
        logger = logging.getLogger("procrastinate.worker")
        logger.addHandler(failures)
        outbox = DeliveryThread().start()
        mail = MailFetching().start()  # the IMAP mailboxes (docs/mail-servers.md)
        forget = stop.on_request(outbox.loop.stop)  # both stop at once
        try:
            if not stop.requested:
                run_jobs(stop, concurrency=options["concurrency"])
        finally:
            forget()  # the main thread sets that event now: a handler doing so too could deadlock
            mail.stop()  # within about a second, IDLE included
            outbox.stop()  # after its batch in progress: a batch cut short is delivered again
            logger.removeHandler(failures)
            connection.close()
            close_pool = getattr(connection, "close_pool", None)  # PostgreSQL's backend
            if close_pool is not None:
                close_pool()  # no pool thread is left to the interpreter's exit
        if failures.reason is not None:
            raise CommandError(f"the worker stopped on its own: {failures.reason}")


def run_jobs(stop: stopping.StopRequest, *, concurrency: int) -> None:
    """procrastinate's worker on deskbase.jobs's queue until stopped, or until it stops
    on its own; a connection failure at its start ends the command (exit 1)."""
    from procrastinate.contrib.django import app

    try:
        asyncio.run(_work(app, stop, concurrency=concurrency))
    except Exception as exc:
        reasons: list[str] = []
        cause: BaseException | None = exc
        while cause is not None and len(reasons) < 5:  # procrastinate wraps psycopg's
            reasons.append(str(cause).strip() or type(cause).__name__)
            cause = cause.__cause__ or cause.__context__
        raise CommandError(f"the job worker failed: {'; '.join(reasons)}") from exc


async def _work(app: Any, stop: stopping.StopRequest, *, concurrency: int) -> None:
    """Run the worker on a connection pool of our own, opened without waiting and always
    closed, and stop it by cancelling it (procrastinate's graceful stop) on request.

    procrastinate's command opens its pool and waits for its connections, then
    installs its signal handlers. A signal handled by an exception before that,
    inside that wait, left the pool's connecting tasks to asyncio.run's final
    cancellation, which psycopg_pool reports as a failed connection ("error
    connecting in 'pool-2'") and then ignores: asyncio.run waited for them forever.
    Here no task is cancelled but the worker's own; the pool's tasks end when it is
    closed.
    """
    import psycopg_pool
    from procrastinate import PsycopgConnector
    from procrastinate.contrib.django import utils

    from deskbase.jobs import QUEUE

    params = utils.connector_params("default")
    pool = psycopg_pool.AsyncConnectionPool(
        kwargs=params, open=False, name="jobs",
        check=psycopg_pool.AsyncConnectionPool.check_connection,
    )  # fmt: skip
    loop = asyncio.get_running_loop()
    with app.replace_connector(PsycopgConnector(kwargs=params)):
        try:
            await pool.open()  # connections are made in the background
            async with app.open_async(pool=pool):
                worker = asyncio.ensure_future(
                    app.run_worker_async(
                        queues=[QUEUE], concurrency=concurrency, name="deskbase",
                        install_signal_handlers=False,
                    )
                )  # fmt: skip
                forget = stop.on_request(lambda: loop.call_soon_threadsafe(worker.cancel))
                try:
                    await asyncio.wait([worker])
                finally:
                    forget()
                if not worker.cancelled():
                    worker.result()  # stopped on its own, or failed
        finally:
            await pool.close(timeout=POOL_CLOSE_SECONDS)
