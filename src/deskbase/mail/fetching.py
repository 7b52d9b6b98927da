"""Fetching every IMAP mailbox while the worker runs (docs/mail-servers.md).

`MailFetching` is a thread of `deskbase worker` (beside the outbox's delivery) that
keeps one `FetchLoop` thread per active IMAP mailbox of every organization. Every
RESCAN_SECONDS it reads the list again: a loop starts for a new mailbox, stops for a
removed or deactivated one, and starts afresh when the mailbox's server settings
changed (an administrator fixed the password). The worker connects as the owner
role, which sees every organization's mailboxes; each loop works in its mailbox's
organization (deskbase.core.tenancy).

A loop keeps its connection: a pass over the new messages (deskbase.mail.imap), then
IDLE until the server announces mail (re-issued every 25 minutes), or, on a server
without IDLE, a pause of MAIL_POLL_SECONDS. A refused login or a lost server is
recorded on the mailbox and tried again after a back-off (10 s doubling to 10
minutes); the other mailboxes' loops are not affected. `stop()` ends every loop
within about a second, IDLE included.

Several workers (two `deskbase worker` processes, on one machine or several) each run
a loop per mailbox, but a mailbox is read by one of them at a time: a loop reads only
while it holds the mailbox's lease (`MailboxLease`, a PostgreSQL advisory lock on a
connection of its own); the others check again every LEASE_RETRY_SECONDS and take
over when the holder stops or dies.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import psycopg
from django.db import connection, connections
from imapclient.exceptions import IMAPClientError

from deskbase.mail import imap
from deskbase.mail.models import Inbound, Mailbox

logger = logging.getLogger(__name__)

RESCAN_SECONDS = 30.0
# The advisory lock class of the mailbox leases ("mail" in ASCII); the key is the id.
LEASE_CLASS = 0x6D61696C
LEASE_RETRY_SECONDS = 30.0
FIRST_BACKOFF = 10.0
MAX_BACKOFF = 600.0
# What decides a loop's connection: a change of any of these restarts it.
SERVER_FIELDS = ("organization_id", "imap_host", "imap_port", "imap_security", "imap_username",
                 "imap_password", "imap_folder", "imap_archive_folder")  # fmt: skip


def active_mailboxes() -> dict[int, tuple[Any, ...]]:
    """Every active IMAP mailbox of every organization (the owner role sees them all):
    its id and what its connection depends on."""
    rows = Mailbox.objects.filter(inbound=Inbound.IMAP, is_active=True).values_list(
        "id", *SERVER_FIELDS
    )
    return {row[0]: tuple(row[1:]) for row in rows}


def failing_mailboxes() -> list[dict[str, Any]]:
    """Active mailboxes of every organization whose server last refused or failed them,
    with its answer (first line), for `deskbase jobs status`."""
    rows = (
        Mailbox.objects.filter(is_active=True)
        .exclude(last_error="")
        .order_by("organization__slug", "address")
        .values_list("id", "address", "organization__slug", "last_error", "last_checked_at")
    )
    return [
        {"id": pk, "address": address, "organization": slug,
         "error": (error.splitlines() or [""])[0][:300], "checked_at": checked_at}
        for pk, address, slug, error, checked_at in rows
    ]  # fmt: skip


class MailboxLease:
    """The right to read one mailbox, held by one process at a time.

    A session-level PostgreSQL advisory lock on (LEASE_CLASS, mailbox id), taken on a
    connection of its own (not Django's, which goes back to the pool between passes
    and would carry the lock along): as long as that connection lives, no other
    worker reads the mailbox; when the process ends or is killed, PostgreSQL drops the
    connection and the lock with it, and another worker's loop takes the mailbox over.
    """

    def __init__(self, mailbox_id: int) -> None:
        self.mailbox_id = mailbox_id
        self._conn: psycopg.Connection | None = None

    def hold(self) -> bool:
        """True while this process holds the lease: taken now, or still held (its
        connection answers). False: another process reads the mailbox."""
        if self._conn is not None:
            try:
                self._conn.execute("SELECT 1")
                return True
            except psycopg.Error:  # the connection (and so the lock) is gone
                self.release()
        params = connections["default"].get_connection_params()
        params.pop("pool", None)
        conn = psycopg.connect(**params, autocommit=True)
        try:
            row = conn.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", [LEASE_CLASS, self.mailbox_id]
            ).fetchone()
        except BaseException:
            conn.close()
            raise
        if not row or not row[0]:
            conn.close()
            return False
        self._conn = conn
        return True

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()  # ends the session: the lock goes with it


class FetchLoop:
    """Keeps one mailbox fetched until stopped: connect, read, IDLE or poll, again.

    Only while it holds the mailbox's lease (MailboxLease): a loop of another worker
    process for the same mailbox waits, trying again every LEASE_RETRY_SECONDS.
    """

    def __init__(self, mailbox_id: int, organization_id: int, **session: Any) -> None:
        self.mailbox_id = mailbox_id
        self.organization_id = organization_id
        self.session_kwargs = session
        self.stopping = threading.Event()
        self.thread = threading.Thread(
            target=self._run, name=f"mail-fetch-{mailbox_id}", daemon=True
        )
        self.imap: imap.ImapSession | None = None
        self.lease = MailboxLease(mailbox_id)

    def start(self) -> FetchLoop:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()

    def join(self, timeout: float) -> None:
        self.thread.join(timeout)

    def _run(self) -> None:
        try:
            self.run()
        finally:
            self.release()
            connection.close()

    def release(self) -> None:
        """Disconnect from the server and give the mailbox up to other workers."""
        self._disconnect()
        self.lease.release()

    def run(self) -> None:
        delay = FIRST_BACKOFF
        while not self.stopping.is_set():
            try:
                wait = self.one_pass()
                delay = FIRST_BACKOFF
            except Exception as exc:
                self._failed(exc)
                self._disconnect()
                connection.close()
                self.stopping.wait(delay)
                delay = min(delay * 2, MAX_BACKOFF)
                continue
            if wait is None:
                return  # the mailbox is gone or no longer fetched by IMAP
            connection.close()  # back to the pool while waiting
            self._wait(wait)

    def one_pass(self) -> float | None:
        """Read what is new; how long to wait for more (None: stop, the mailbox is gone)."""
        mailbox = imap.load_mailbox(self.mailbox_id, self.organization_id)
        if mailbox is None:
            return None
        if not self.lease.hold():
            # Another worker reads this mailbox: look again later, in case it stops.
            logger.info("mailbox %s (%s): read by another worker; looking again in %g s",
                        mailbox.pk, mailbox.address, LEASE_RETRY_SECONDS)  # fmt: skip
            self._disconnect()
            return LEASE_RETRY_SECONDS
        if self.imap is None:
            session = imap.ImapSession(mailbox, **self.session_kwargs)
            result = session.open()
            self.imap = session
        else:
            self.imap.mailbox = mailbox
            result = imap.PassResult(mailbox.pk, mailbox.address)
        result = self.imap.fetch_new(result)
        poll = float(imap.setting("MAIL_POLL_SECONDS"))
        if result.failed:
            # A message waits to be tried again: not later than the next poll.
            self._disconnect()
            return poll
        if mailbox.last_error or mailbox.last_checked_at is None or result.received:
            imap.record_checked(mailbox)
        if result.received or result.uidvalidity_changed:
            logger.info("mailbox %s (%s): %s", mailbox.pk, mailbox.address, result.describe())
        return poll

    def _wait(self, seconds: float) -> None:
        if self.imap is None:
            self.stopping.wait(seconds)
            return
        try:
            self.imap.wait_for_mail(seconds, self.stopping)
        except (OSError, IMAPClientError) as exc:
            # The server closed an idle connection: connect again for the next pass.
            logger.info("mailbox %s: connection lost while waiting (%s); reconnecting",
                        self.mailbox_id, imap.server_text(exc))  # fmt: skip
            self._disconnect()

    def _failed(self, exc: Exception) -> None:
        if isinstance(exc, imap.ServerError):
            text = str(exc)
        elif isinstance(exc, OSError | IMAPClientError):
            text = f"connection lost: {imap.server_text(exc)}"
        else:
            logger.exception("mailbox %s: fetching failed", self.mailbox_id)
            text = f"fetching failed: {type(exc).__name__}: {exc}"
        logger.warning("mailbox %s: %s", self.mailbox_id, text)
        try:
            mailbox = imap.load_mailbox(self.mailbox_id, self.organization_id)
            if mailbox is not None:
                imap.record_error(mailbox, text)
        except Exception:  # the database itself may be what failed
            logger.exception("mailbox %s: the error could not be recorded", self.mailbox_id)

    def _disconnect(self) -> None:
        session, self.imap = self.imap, None
        if session is not None:
            session.close()


@dataclass
class _Running:
    loop: FetchLoop
    server: tuple[Any, ...]


class MailFetching:
    """One fetch loop per active IMAP mailbox, kept in step with the mailbox table."""

    def __init__(self, *, rescan_seconds: float = RESCAN_SECONDS, **session: Any) -> None:
        self.rescan_seconds = rescan_seconds
        self.session_kwargs = session
        self.stopping = threading.Event()
        self.loops: dict[int, _Running] = {}
        self.thread = threading.Thread(target=self._run, name="mail-fetching", daemon=True)

    def start(self) -> MailFetching:
        self.thread.start()
        return self

    def stop(self, timeout: float = 10) -> None:
        """Every loop stops within about a second; a message being received is finished
        or, cut short, read again next time (its commit decides)."""
        deadline = time.monotonic() + timeout
        self.stopping.set()
        if self.thread.ident is not None:  # started
            self.thread.join(timeout)
        for running in list(self.loops.values()):
            running.loop.stop()
        for running in list(self.loops.values()):
            running.loop.join(max(deadline - time.monotonic(), 0.1))

    def _run(self) -> None:
        try:
            while not self.stopping.is_set():
                try:
                    self.scan()
                except Exception:
                    logger.exception("mail fetching: the mailbox list could not be read")
                finally:
                    connection.close()
                self.stopping.wait(self.rescan_seconds)
        finally:
            connection.close()

    def scan(self) -> None:
        wanted = active_mailboxes()
        for mailbox_id, running in list(self.loops.items()):
            server = wanted.get(mailbox_id)
            if server == running.server and running.loop.thread.is_alive():
                continue
            running.loop.stop()
            running.loop.join(5)
            del self.loops[mailbox_id]
        for mailbox_id, server in wanted.items():
            if mailbox_id in self.loops or self.stopping.is_set():
                continue
            loop = FetchLoop(mailbox_id, server[0], **self.session_kwargs).start()
            self.loops[mailbox_id] = _Running(loop, server)
