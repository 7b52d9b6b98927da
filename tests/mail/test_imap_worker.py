"""The IMAP mailboxes are kept fetched by the job worker: one loop per mailbox, IDLE on
the server, in step with the mailbox table, stopped promptly; a mailbox whose server
refuses it shows in `deskbase jobs status`."""

from __future__ import annotations

import io
import signal
import subprocess
import threading
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection

from deskbase.embedded.cluster import APP_ROLE, OWNER_ROLE
from deskbase.mail import crypto, fetching
from deskbase.mail.models import Mailbox
from deskbase.tickets.models import Ticket
from tests.fault.processes import wait_until
from tests.helpers import DESKBASE, deskbase_env, stop_process
from tests.mail.conftest import build_message
from tests.mail.dovecot import dovecot_fixture, imap_mailbox, running_dovecot  # noqa: F401


class Recorder:
    """A thread-safe `receive` that remembers the subjects it got."""

    def __init__(self) -> None:
        self.subjects: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, **kwargs: Any) -> None:
        subject = next(
            line for line in kwargs["raw"].decode(errors="replace").splitlines()
            if line.startswith("Subject: ")
        )  # fmt: skip
        with self.lock:
            self.subjects.append(subject.removeprefix("Subject: "))


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_worker_fetches_mail_as_it_arrives_and_stops_promptly(
    tenant_a, dovecot, session_cluster, workdir, monkeypatch
):
    # Given an IMAP mailbox with one message, and a key shared with the worker
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("DESKBASE_MAIL_KEY", key)
    crypto.reset_cache()
    dovecot.append("acme", build_message(subject="Before the worker"))
    imap_mailbox(tenant_a, dovecot, "acme")
    database = connection.settings_dict["NAME"]
    env = deskbase_env(
        DATABASE_URL=session_cluster.url(OWNER_ROLE, database=database),
        DATABASE_APP_URL=session_cluster.url(APP_ROLE, database=database),
        DESKBASE_VAR_DIR=str(workdir / "var"), DESKBASE_MAIL_KEY=key,
        DESKBASE_MAIL_ALLOW_PRIVATE_HOSTS="1",  # Dovecot on 127.0.0.1
    )  # fmt: skip
    worker = subprocess.Popen([DESKBASE, "worker"], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    tickets = Ticket.objects.filter(organization=tenant_a.org)
    try:
        # When the worker runs, the waiting message becomes a ticket
        wait_until(lambda: tickets.count() == 1, 120, "the first message's ticket")
        # ... and a message arriving while it waits in IDLE becomes one too
        dovecot.append("acme", build_message(subject="While it waits"))
        wait_until(lambda: tickets.count() == 2, 120, "the second message's ticket")
        assert set(tickets.values_list("subject", flat=True)) == {
            "Before the worker", "While it waits",
        }  # fmt: skip

        # Then, asked to stop while in IDLE, it exits cleanly
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=60)
        assert worker.returncode == 0, output
    finally:
        stop_process(worker)
        crypto.reset_cache()


@pytest.mark.django_db(transaction=True)
def test_fetch_loops_follow_the_mailbox_table(tenant_a, tenant_b, dovecot):
    # Given two organizations' IMAP mailboxes, and the supervisor of their loops
    received = Recorder()
    acme = imap_mailbox(tenant_a, dovecot, "acme")
    globex = imap_mailbox(tenant_b, dovecot, "globex")
    supervisor = fetching.MailFetching(rescan_seconds=3600, receive=received)
    try:
        # When it reads the mailbox table: a loop for each, each mailbox fetched
        supervisor.scan()
        assert set(supervisor.loops) == {acme.pk, globex.pk}
        dovecot.append("acme", build_message(subject="To acme"))
        dovecot.append("globex", build_message(subject="To globex"))
        wait_until(lambda: len(received.subjects) == 2, 60, "both mailboxes fetched")
        assert sorted(received.subjects) == ["To acme", "To globex"]

        # When globex's is deactivated and acme's password changes
        Mailbox.objects.filter(pk=globex.pk).update(is_active=False)
        first_acme_loop = supervisor.loops[acme.pk].loop
        Mailbox.objects.filter(pk=acme.pk).update(
            imap_password=crypto.encrypt(dovecot.users["acme"])  # a new ciphertext
        )
        supervisor.scan()

        # Then globex's loop is gone and acme's runs afresh; the old one has ended
        assert set(supervisor.loops) == {acme.pk}
        assert supervisor.loops[acme.pk].loop is not first_acme_loop
        assert not first_acme_loop.thread.is_alive()
        dovecot.append("acme", build_message(subject="Again to acme"))
        wait_until(lambda: "Again to acme" in received.subjects, 60, "acme fetched again")
    finally:
        supervisor.stop()
    # And stopping ends every loop
    assert all(not r.loop.thread.is_alive() for r in supervisor.loops.values())


def status_exit() -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("jobs", "status", stdout=out)
    except CommandError as exc:
        return 1, out.getvalue() + str(exc)
    return 0, out.getvalue()


@pytest.mark.django_db
def test_jobs_status_names_a_mailbox_whose_server_refuses_it(tenant_a, tenant_b, dovecot):
    # Given globex's mailbox working and acme's with a refused password, after one fetch
    acme = imap_mailbox(tenant_a, dovecot, "acme", password="wrong")
    imap_mailbox(tenant_b, dovecot, "globex")
    with pytest.raises(CommandError):
        call_command("mail", "fetch", "--once", stdout=io.StringIO())

    # When the monitor asks
    code, output = status_exit()

    # Then it exits 1 naming acme's mailbox and the server's answer, and not globex's
    assert code == 1
    assert (
        "mailboxes failing: acme@acme.test (acme): 127.0.0.1:"
        f"{dovecot.port} refused the login: [AUTHENTICATIONFAILED] Authentication failed."
    ) in output
    assert f"#{acme.pk} acme@acme.test (acme)" in output
    assert "globex@globex.test" not in output

    # When the password is fixed and the mailbox fetched again, it is no longer named
    Mailbox.objects.filter(pk=acme.pk).update(imap_password=crypto.encrypt("acme-imap-pw"))
    call_command("mail", "fetch", "--once", stdout=io.StringIO())
    assert "mailboxes failing" not in status_exit()[1]


@pytest.mark.django_db(transaction=True)
def test_mail_arriving_during_a_pass_is_read_without_waiting_for_the_next_one(tenant_a, dovecot):
    # Given a message whose receiving makes another arrive (its announcement then comes
    # in the answer to the pass's own commands, not during the IDLE that follows)
    dovecot.append("acme", build_message(subject="First"))
    received = Recorder()

    def receive(**kwargs: Any) -> None:
        received(**kwargs)
        if len(received.subjects) == 1:
            dovecot.append("acme", build_message(subject="Arrived meanwhile"))

    mailbox = imap_mailbox(tenant_a, dovecot, "acme")
    loop = fetching.FetchLoop(mailbox.pk, tenant_a.org.id, receive=receive).start()
    try:
        # When the loop runs, then the second message is read too, without new mail
        wait_until(lambda: len(received.subjects) == 2, 60, "the message that arrived")
        assert received.subjects == ["First", "Arrived meanwhile"]
    finally:
        loop.stop()
        loop.join(10)
    assert not loop.thread.is_alive()


# What Dovecot announces after login, without IDLE (it still has it, unannounced).
NO_IDLE = "protocol imap {\n  imap_capability = IMAP4rev1 UIDPLUS MOVE\n}\n"


@pytest.mark.django_db(transaction=True)
def test_a_server_without_idle_is_polled(tenant_a, settings):
    # Given a server that does not offer IDLE, and polling every second
    settings.MAIL_POLL_SECONDS = 1
    received = Recorder()
    with running_dovecot(NO_IDLE) as server:
        mailbox = imap_mailbox(tenant_a, server, "acme")
        loop = fetching.FetchLoop(mailbox.pk, tenant_a.org.id, receive=received).start()
        try:
            # When mail arrives after the loop started, then a later check reads it
            wait_until(lambda: loop.imap is not None, 60, "the loop connected")
            assert b"IDLE" not in loop.imap.capabilities
            server.append("acme", build_message(subject="Found by polling"))
            wait_until(lambda: received.subjects == ["Found by polling"], 60, "polling")
        finally:
            loop.stop()
            loop.join(10)


@pytest.mark.django_db
def test_a_mailbox_is_read_by_one_fetcher_at_a_time(tenant_a, dovecot):
    # Given three messages, and two fetchers of the same mailbox (as two workers run them)
    for n in range(3):
        dovecot.append("acme", build_message(subject=f"Message {n}"))
    mailbox = imap_mailbox(tenant_a, dovecot, "acme")
    by_first, by_second = Recorder(), Recorder()
    second = fetching.FetchLoop(mailbox.pk, tenant_a.org.id, receive=by_second)

    def first_receives(**kwargs: Any) -> None:
        # While the first fetcher is in the middle of its pass, the second takes a turn
        if not by_first.subjects:
            second.one_pass()
        by_first(**kwargs)

    first = fetching.FetchLoop(mailbox.pk, tenant_a.org.id, receive=first_receives)
    try:
        # When the first reads the mailbox and the second tries meanwhile
        first.one_pass()
        # Then every message was handed over exactly once, by the first
        assert sorted(by_first.subjects) == ["Message 0", "Message 1", "Message 2"]
        assert by_second.subjects == []
        # When the first stops, the second takes the mailbox over and reads what is new
        first.release()
        dovecot.append("acme", build_message(subject="Message 3"))
        second.one_pass()
        assert by_second.subjects == ["Message 3"]
        assert len(by_first.subjects) == 3
    finally:
        first.release()
        second.release()


@pytest.mark.django_db(transaction=True)
def test_two_supervisors_hand_every_message_over_exactly_once(tenant_a, dovecot):
    # Given ten messages and two workers' mail fetching at once
    for n in range(10):
        dovecot.append("acme", build_message(subject=f"Message {n}"))
    imap_mailbox(tenant_a, dovecot, "acme")
    received = Recorder()
    workers = [fetching.MailFetching(rescan_seconds=3600, receive=received) for _ in range(2)]
    try:
        for worker in workers:
            worker.scan()
        wait_until(lambda: len(received.subjects) >= 10, 60, "the messages fetched")
        dovecot.append("acme", build_message(subject="Message 10"))
        wait_until(lambda: len(received.subjects) >= 11, 60, "the new message fetched")
    finally:
        for worker in workers:
            worker.stop()
    # Then each message was handed over once, whichever worker read it
    assert sorted(received.subjects) == sorted(f"Message {n}" for n in range(11))
