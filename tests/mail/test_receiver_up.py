"""`deskbase up` starts `deskbase mail serve` beside the worker when a mailbox receives
pushed mail, and stops it with everything else."""

from __future__ import annotations

import smtplib

import pytest

from deskbase.testing.plugin import free_port
from tests.fault.processes import run, start_up, wait_until
from tests.helpers import deskbase_env, stop_process, wait_for_http
from tests.mail.conftest import build_message

pytestmark = pytest.mark.slow

MAKE_MAILBOX = (
    "from deskbase.organizations.models import Organization;"
    "from deskbase.mail.models import Mailbox;"
    "o = Organization.objects.create(slug='acme', name='Acme');"
    "Mailbox.objects.create(organization=o, name='Support', address='support@acme.test',"
    " inbound='push')"
)
COUNT_TICKETS = (
    "from deskbase.tickets.models import Ticket;"
    "print('tickets:', list(Ticket.objects.values_list('subject', flat=True)))"
)


def answers(port: int) -> bool:
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
            return smtp.noop()[0] == 250
    except OSError:
        return False


def test_up_serves_pushed_mail_when_a_mailbox_receives_it(workdir):
    # Given a database with a push mailbox
    mail_port = free_port()
    env = deskbase_env(
        DESKBASE_VAR_DIR=str(workdir / "var"), DESKBASE_PG_PORT=str(free_port()),
        DESKBASE_MAIL_PORT=str(mail_port),
    )  # fmt: skip
    assert run(env, "pg", "start").returncode == 0
    try:
        migrated = run(env, "migrate", "--verbosity", "0", timeout=600)
        assert migrated.returncode == 0, migrated.stderr
        made = run(env, "shell", "-c", MAKE_MAILBOX)
        assert made.returncode == 0, made.stderr

        # When `deskbase up` runs
        process, port = start_up(env, "--no-demo")
        try:
            wait_for_http(f"http://127.0.0.1:{port}/health", process)
            # Then the receiver listens on DESKBASE_MAIL_PORT and takes the mailbox's mail
            wait_until(lambda: answers(mail_port), 120, "the mail receiver listening")
            with smtplib.SMTP("127.0.0.1", mail_port, timeout=60) as smtp:
                raw = build_message(subject="Through up").replace(b"\n", b"\r\n")
                assert smtp.sendmail("ann@example.org", ["support@acme.test"], raw) == {}
            tickets = run(env, "shell", "-c", COUNT_TICKETS)
            assert "tickets: ['Through up']" in tickets.stdout, tickets.stderr
        finally:
            output = stop_process(process)
        # And it was stopped with the rest
        assert process.returncode == 0, output
        assert "mail receiver started (pid " in output
        assert "mail receiver stopped (exit code 0)" in output
        assert not answers(mail_port)
    finally:
        run(env, "pg", "stop")
