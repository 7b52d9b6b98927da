"""A real `deskbase mail fetch` killed with -9 at each point of a message's way (fetched,
committed, flagged, passed) loses nothing and makes no second ticket once run again.

Each crash point is reached without any hook in the product: the test holds what the
fetcher needs next (the IMAP server's answer to STORE, through a proxy; the row lock
advancing the mailbox takes; the lock `receive` takes on the message before its
commit), sees it waiting there, and kills it."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable, Iterator

import psycopg
import pytest
from cryptography.fernet import Fernet
from django.db import connection, transaction

from deskbase.embedded.cluster import APP_ROLE, OWNER_ROLE
from deskbase.mail import crypto, headers, ingest
from deskbase.mail.models import InboundMessage, InboundState, Mailbox
from deskbase.tickets.models import Ticket
from tests.fault.processes import wait_until
from tests.helpers import DESKBASE, deskbase_env, stop_process
from tests.mail.conftest import build_message
from tests.mail.dovecot import dovecot_fixture, imap_mailbox  # noqa: F401 (a fixture)
from tests.mail.proxy import Proxy

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SEEN_FLAGGED = {b"\\Seen", b"\\Flagged"}
MESSAGE_ID = "crash@client.example"


@pytest.fixture
def mail_key(monkeypatch) -> Iterator[str]:
    """One mail key for the test and its `deskbase` processes (the password is shared)."""
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("DESKBASE_MAIL_KEY", key)
    crypto.reset_cache()
    yield key
    crypto.reset_cache()


@pytest.fixture
def run_fetch(session_cluster, workdir, mail_key) -> Callable[..., subprocess.Popen]:
    database = connection.settings_dict["NAME"]
    env = deskbase_env(
        DATABASE_URL=session_cluster.url(OWNER_ROLE, database=database),
        DATABASE_APP_URL=session_cluster.url(APP_ROLE, database=database),
        DESKBASE_VAR_DIR=str(workdir / "var"),
        DESKBASE_MAIL_KEY=mail_key,
        DESKBASE_MAIL_ALLOW_PRIVATE_HOSTS="1",  # Dovecot on 127.0.0.1
    )

    def start() -> subprocess.Popen:
        return subprocess.Popen(
            [DESKBASE, "mail", "fetch", "--once"], env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip

    return start


def owner_query(session_cluster, sql: str, params: tuple = ()) -> list[tuple]:
    url = session_cluster.url(OWNER_ROLE, database=connection.settings_dict["NAME"])
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def waiting_on_a_lock(session_cluster, query_start: str) -> bool:
    """A backend of the test database is blocked on a lock in a statement so starting."""
    rows = owner_query(
        session_cluster,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND wait_event_type = 'Lock' AND query LIKE %s",
        (query_start + "%",),
    )
    return rows[0][0] > 0


def kill(process: subprocess.Popen) -> None:
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait(30) == -signal.SIGKILL


def run_to_the_end(start: Callable[[], subprocess.Popen]) -> str:
    process = start()
    output, _ = process.communicate(timeout=180)
    assert process.returncode == 0, output
    return output


def assert_once(tenant, mailbox: Mailbox, dovecot) -> None:
    """One message row, one ticket, the message flagged and passed."""
    rows = list(InboundMessage.objects.filter(mailbox=mailbox))
    assert [(r.message_id, r.state) for r in rows] == [(MESSAGE_ID, InboundState.TICKET)]
    assert Ticket.objects.filter(organization=tenant.org).count() == 1
    assert dovecot.flags("acme")[1] >= SEEN_FLAGGED
    assert Mailbox.objects.get(pk=mailbox.pk).imap_last_uid == 1


def given_one_message(tenant, dovecot, **fields) -> Mailbox:
    dovecot.append("acme", build_message(message_id=f"<{MESSAGE_ID}>", subject="Crash"))
    # The folder's UIDVALIDITY already known: the pass starts by reading messages.
    return imap_mailbox(
        tenant, dovecot, "acme", imap_uidvalidity=dovecot.uidvalidity("acme"), **fields
    )


def test_killed_after_the_commit_before_the_flag(tenant_a, dovecot, run_fetch, session_cluster):
    # Given a message, and a fetcher whose STORE (the flag) never reaches the server
    proxy = Proxy(dovecot.port)
    mailbox = given_one_message(tenant_a, dovecot, port=proxy.port)
    proxy.hold_at(b"STORE")
    fetcher = run_fetch()
    try:
        # When it has received the message and is flagging it, it is killed with -9
        wait_until(proxy.held.is_set, 180, "the fetcher flagging the message")
        committed = InboundMessage.objects.get(mailbox=mailbox)
        assert committed.state == InboundState.TICKET
        assert not dovecot.flags("acme")[1] & SEEN_FLAGGED
        kill(fetcher)

        # Then, run again, it recognizes the message: no second ticket, now flagged
        proxy.release()
        run_to_the_end(run_fetch)
        assert_once(tenant_a, mailbox, dovecot)
        assert InboundMessage.objects.get(mailbox=mailbox).pk == committed.pk
    finally:
        stop_process(fetcher)
        proxy.stop()


def test_killed_after_the_flag_before_the_last_uid_is_advanced(
    tenant_a, dovecot, run_fetch, session_cluster
):
    # Given a message, and the mailbox row locked so the fetcher cannot advance its UID
    mailbox = given_one_message(tenant_a, dovecot)
    url = session_cluster.url(OWNER_ROLE, database=connection.settings_dict["NAME"])
    with psycopg.connect(url) as locker:
        # NO KEY UPDATE: receive's insert (a key share of the mailbox) goes through.
        locker.execute("SELECT 1 FROM mail_mailbox WHERE id = %s FOR NO KEY UPDATE",
                       (mailbox.pk,))  # fmt: skip
        fetcher = run_fetch()
        try:
            # When it has received and flagged the message, it is killed with -9
            wait_until(
                lambda: waiting_on_a_lock(session_cluster, 'UPDATE "mail_mailbox"'),
                180, "the fetcher advancing the mailbox",
            )  # fmt: skip
            assert dovecot.flags("acme")[1] >= SEEN_FLAGGED
            kill(fetcher)
        finally:
            stop_process(fetcher)
        locker.rollback()

    # Then, run again, it reads the message again and recognizes it: one ticket
    assert Mailbox.objects.get(pk=mailbox.pk).imap_last_uid == 0
    run_to_the_end(run_fetch)
    assert_once(tenant_a, mailbox, dovecot)


def test_killed_after_the_fetch_before_the_commit(tenant_a, dovecot, run_fetch, session_cluster):
    # Given a message, and its receiving lock (taken before its row is written) held here
    mailbox = given_one_message(tenant_a, dovecot)
    digest = headers.message_id_hash(MESSAGE_ID)
    with transaction.atomic():
        ingest.lock_message(tenant_a.org.id, digest)
        fetcher = run_fetch()
        try:
            # When the fetcher has downloaded the message and waits to record it: -9
            wait_until(
                lambda: waiting_on_a_lock(session_cluster, "SELECT pg_advisory_xact_lock"),
                180, "the fetcher receiving the message",
            )  # fmt: skip
            kill(fetcher)
        finally:
            stop_process(fetcher)

    # Then nothing was recorded nor flagged ...
    assert not InboundMessage.objects.filter(mailbox=mailbox).exists()
    assert not dovecot.flags("acme")[1] & SEEN_FLAGGED
    # ... and, run again, it receives the message once
    run_to_the_end(run_fetch)
    assert_once(tenant_a, mailbox, dovecot)
