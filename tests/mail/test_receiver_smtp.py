"""`deskbase mail serve`: mail pushed by SMTP and LMTP (smtplib, a real aiosmtpd server)
becomes tickets; unknown recipients are refused; 250 only after the commit, 451 while
the database is away, and nothing lost."""

from __future__ import annotations

import smtplib
import subprocess
from collections.abc import Iterator

import pytest
from django.db import connection

from deskbase.embedded.cluster import APP_ROLE, OWNER_ROLE
from deskbase.mail import receiver
from deskbase.mail.ingest import read_raw
from deskbase.mail.models import InboundMessage, InboundState
from deskbase.testing.plugin import free_port
from deskbase.tickets.models import Ticket
from tests.fault.processes import wait_until
from tests.helpers import DESKBASE, deskbase_env, stop_process
from tests.mail.conftest import build_message as lf_message
from tests.mail.conftest import make_mailbox
from tests.mail.proxy import Proxy

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def serve(settings) -> Iterator:
    """Start an in-process receiver: `serve(lmtp=False)` -> its port."""
    started: list[receiver.ReceiverController] = []

    def start(*, lmtp: bool = False) -> int:
        port = free_port()
        server = receiver.controller(host="127.0.0.1", port=port, lmtp=lmtp)
        server.start()
        started.append(server)
        return port

    yield start
    for server in started:
        server.stop()


def build_message(**kwargs) -> bytes:
    """A message with CRLF line ends, as mail servers send it."""
    return lf_message(**kwargs).replace(b"\n", b"\r\n")


def tickets_of(world) -> list[str]:
    return sorted(Ticket.objects.filter(organization=world.org).values_list("subject", flat=True))


def test_a_message_sent_by_smtp_becomes_a_ticket_of_the_recipients_organization(
    mail_a, mail_b, serve
):
    # Given the receiver, and acme's push mailbox support@acme.test
    port = serve()
    raw = build_message(sender="Ann <ann@example.org>", subject="Pushed by SMTP")

    # When a server delivers a message to it by SMTP
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
        refused = smtp.sendmail("ann@example.org", ["support@acme.test"], raw)

    # Then it was accepted (after its commit) and is acme's ticket, not globex's
    assert refused == {}
    assert tickets_of(mail_a) == ["Pushed by SMTP"]
    assert tickets_of(mail_b) == []
    row = InboundMessage.objects.get(mailbox=mail_a.mailbox)
    assert (row.source, row.state) == ("push", InboundState.TICKET)
    # ... with the envelope sender as its Return-Path (the final delivery's header)
    assert read_raw(row.raw_sha256).startswith(b"Return-Path: <ann@example.org>")


def test_plus_addresses_and_any_letter_case_reach_the_mailbox(mail_a, serve):
    port = serve()
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
        smtp.sendmail("ann@example.org", ["Support+reply-token@ACME.test"],
                      build_message(subject="Plus-addressed"))  # fmt: skip
    assert tickets_of(mail_a) == ["Plus-addressed"]


def test_an_unknown_recipient_is_refused_with_550_and_nothing_is_recorded(mail_a, tenant_b, serve):
    # Given an IMAP-only address and an address nobody has
    make_mailbox(tenant_b, "imap-only@globex.test", inbound="none")
    port = serve()

    # When a message is sent to them
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
        smtp.ehlo()
        smtp.mail("ann@example.org")
        unknown = smtp.rcpt("nobody@acme.test")
        not_pushed = smtp.rcpt("imap-only@globex.test")

    # Then both are refused with 550, and nothing is recorded
    assert unknown[0] == 550
    assert b"nobody@acme.test" in unknown[1]
    assert not_pushed[0] == 550
    assert not InboundMessage.objects.exists()


def test_lmtp_answers_each_recipient_and_each_mailbox_gets_the_message(mail_a, mail_b, serve):
    # Given the receiver speaking LMTP
    port = serve(lmtp=True)
    raw = build_message(subject="To both organizations")

    # When one message goes to both organizations' mailboxes
    with smtplib.LMTP("127.0.0.1", port, timeout=60) as lmtp:
        lmtp.ehlo()  # smtplib.LMTP sends LHLO
        lmtp.mail("ann@example.org")
        assert lmtp.rcpt("support@acme.test")[0] == 250
        assert lmtp.rcpt("support@globex.test")[0] == 250
        first = lmtp.data(raw)
        second = lmtp.getreply()

    # Then each recipient got its own 250, and each organization its own ticket
    assert (first[0], second[0]) == (250, 250)
    assert tickets_of(mail_a) == ["To both organizations"]
    assert tickets_of(mail_b) == ["To both organizations"]


def test_a_message_over_the_size_limit_is_refused_with_552(mail_a, serve, settings):
    # Given a limit of 20 KB and a message of 30
    settings.MAIL_MAX_MESSAGE_BYTES = 20_000
    port = serve()
    raw = build_message(subject="Too big", body=("x" * 70 + "\n") * 450)
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
        # When a client declares its size (SIZE is offered): refused at MAIL FROM
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            smtp.sendmail("ann@example.org", ["support@acme.test"], raw)
        assert refused.value.smtp_code == 552
        # When one sends it without saying: refused after the data
        smtp.rset()
        smtp.mail("ann@example.org")
        smtp.rcpt("support@acme.test")
        assert smtp.data(raw)[0] == 552
    # Then nothing was recorded
    assert not InboundMessage.objects.exists()


@pytest.mark.slow
def test_while_the_database_is_away_the_answer_is_451_and_the_retry_is_received_once(
    mail_a, session_cluster, workdir
):
    # Given `deskbase mail serve` reaching PostgreSQL through a proxy that can be cut
    database = connection.settings_dict["NAME"]
    db_url = session_cluster.url(OWNER_ROLE, database=database, tcp=True)
    proxy = Proxy(session_cluster.port)
    port = free_port()
    env = deskbase_env(
        DATABASE_URL=db_url.replace(f":{session_cluster.port}/", f":{proxy.port}/"),
        DATABASE_APP_URL=session_cluster.url(APP_ROLE, database=database),
        DESKBASE_VAR_DIR=str(workdir / "var"),
    )
    server = subprocess.Popen(
        [DESKBASE, "mail", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    raw = build_message(subject="Sent while the database restarts")
    try:
        wait_until(lambda: _answers(port), 120, "the receiver listening")
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
            smtp.ehlo()
            # When the database goes away before the recipient is looked up: 451
            proxy.cut()
            smtp.mail("ann@example.org")
            assert smtp.rcpt("support@acme.test")[0] == 451
            # ... and when it goes away between the recipient and the message: 451
            proxy.restore()
            smtp.rset()
            smtp.mail("ann@example.org")
            assert smtp.rcpt("support@acme.test")[0] == 250
            proxy.cut()
            code, answer = smtp.data(raw)
            assert (code, answer[:5]) == (451, b"4.3.0")
        assert not InboundMessage.objects.exists()

        # Then the sending server's retry, once the database is back, is received once
        proxy.restore()
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
            assert smtp.sendmail("ann@example.org", ["support@acme.test"], raw) == {}
        assert tickets_of(mail_a) == ["Sent while the database restarts"]
        assert InboundMessage.objects.count() == 1
    finally:
        stop_process(server)
        proxy.stop()


def _answers(port: int) -> bool:
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
            return smtp.noop()[0] == 250
    except OSError:
        return False


@pytest.mark.slow
def test_several_receiver_processes_share_the_port_and_stop_together(
    mail_a, session_cluster, workdir
):
    # Given `deskbase mail serve --processes 2` (one receiver per core)
    database = connection.settings_dict["NAME"]
    port = free_port()
    env = deskbase_env(
        DATABASE_URL=session_cluster.url(OWNER_ROLE, database=database, tcp=True),
        DATABASE_APP_URL=session_cluster.url(APP_ROLE, database=database),
        DESKBASE_VAR_DIR=str(workdir / "var"),
    )
    server = subprocess.Popen(
        [DESKBASE, "mail", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--processes", "2"],
        env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_until(lambda: _answers(port), 120, "the receivers listening")
        children = _children(server.pid)
        assert len(children) == 1
        # When twelve messages arrive, each on its own connection (the kernel spreads
        # the connections over both processes)
        for n in range(12):
            with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
                raw = build_message(subject=f"Pushed {n}", message_id=f"<pushed-{n}@example.org>")
                assert smtp.sendmail("ann@example.org", ["support@acme.test"], raw) == {}
        # Then every one is a ticket, once
        assert sorted(tickets_of(mail_a)) == sorted(f"Pushed {n}" for n in range(12))
        # When one receiver process dies, then the command stops the other and exits 1,
        # for its supervisor to start them all again
        subprocess.run(["kill", "-9", str(children[0])], check=True)
        output, _ = server.communicate(timeout=60)
        assert server.returncode == 1
        assert f"receiver process {children[0]} ended" in output
    finally:
        stop_process(server)


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as listing:
        return [int(child) for child in listing.read().split()]
