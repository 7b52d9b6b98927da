"""Mailbox servers on the internal network are refused (SSRF), unless the operator allows
them; the connection test uses the fetcher's IMAP client, connected to the address
that was checked."""

from __future__ import annotations

import ast
import socket
from pathlib import Path

import pytest

import deskbase.mail
from deskbase.core.errors import ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.mail import crypto, hosts, imap, services
from deskbase.mail.models import Mailbox
from tests.mail.conftest import build_message
from tests.mail.dovecot import dovecot_fixture, imap_mailbox  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"), ("::1", "loopback"), ("::ffff:127.0.0.1", "IPv4-mapped"),
        ("10.1.2.3", "private"), ("192.168.0.10", "private"), ("fd00::1", "unique-local"),
        ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
        ("224.0.0.251", "multicast"), ("0.0.0.0", "unspecified"),  # noqa: S104
        ("100.64.0.1", "CGNAT"), ("93.184.215.14", None), ("2606:4700::1111", None),
    ],
)  # fmt: skip
def test_internal_addresses_are_named_and_public_ones_pass(address, kind):
    assert hosts.refused_because(address) == kind


def test_the_connection_test_refuses_a_loopback_imap_host_naming_the_field(
    tenant_a, dovecot, settings
):
    # Given a mailbox on a real server at 127.0.0.1, and private hosts not allowed
    mailbox = imap_mailbox(tenant_a, dovecot, "acme")
    settings.MAIL_ALLOW_PRIVATE_HOSTS = False
    # When the admin tests its connection
    with pytest.raises(ValidationFailed) as refused:
        services.mailbox_test(organization=tenant_a.org, actor=tenant_a.admin, mailbox=mailbox)
    # Then it is refused naming imap_host (a 422), and nothing was stored
    assert refused.value.status == 422
    assert refused.value.field == "imap_host"
    assert "127.0.0.1, a loopback address" in str(refused.value)
    row = Mailbox.objects.get(pk=mailbox.pk)
    assert (row.last_error, row.last_checked_at) == ("", None)


def test_the_connection_test_refuses_an_smtp_host_named_localhost(tenant_a, settings):
    settings.MAIL_ALLOW_PRIVATE_HOSTS = False
    mailbox = services.mailbox_create(
        organization=tenant_a.org, actor=tenant_a.admin, name="Out", address="out@acme.test",
        smtp_host="localhost", smtp_port=25, smtp_security="none",
    )  # fmt: skip
    with pytest.raises(ValidationFailed) as refused:
        services.mailbox_test(organization=tenant_a.org, actor=tenant_a.admin, mailbox=mailbox)
    assert refused.value.field == "smtp_host"


def test_fetching_refuses_a_loopback_host_and_leaves_the_mail_on_the_server(
    tenant_a, dovecot, settings
):
    # Given a message waiting on a server at 127.0.0.1, and private hosts not allowed
    dovecot.append("acme", build_message(subject="Hello"))
    mailbox = imap_mailbox(tenant_a, dovecot, "acme")
    settings.MAIL_ALLOW_PRIVATE_HOSTS = False
    # When the mailbox is fetched
    result = imap.fetch_once(mailbox)
    # Then nothing was read, the refusal is the mailbox's error, the mail is untouched
    assert result.received == 0
    assert "loopback address" in result.error
    with tenant(tenant_a.org):
        assert "loopback address" in Mailbox.objects.get(pk=mailbox.pk).last_error
    assert all(b"\\Seen" not in flags for flags in dovecot.flags("acme").values())


def test_the_host_is_looked_up_once_and_that_address_is_connected_to(
    tenant_a, dovecot, monkeypatch
):
    # Given a host name whose first answer is the real server and every later one
    # another address (DNS rebinding: checked once, connected to later)
    answers = ["127.0.0.1", "192.0.2.1"]  # 192.0.2.1: TEST-NET, nothing listens there
    looked_up = []
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host != "imap.rebinding.example":
            return real(host, port, *args, **kwargs)
        looked_up.append(host)
        address = answers[0] if len(looked_up) == 1 else answers[1]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    mailbox = imap_mailbox(tenant_a, dovecot, "acme")
    Mailbox.objects.filter(pk=mailbox.pk).update(imap_host="imap.rebinding.example")
    mailbox.refresh_from_db()
    # When the connection is tested
    result = services.mailbox_test(organization=tenant_a.org, actor=tenant_a.admin,
                                   mailbox=mailbox)  # fmt: skip
    # Then the name was looked up once, and the login reached the address checked
    assert result.ok, result.error
    assert looked_up == ["imap.rebinding.example"]


def test_the_connection_test_logs_in_with_the_fetchers_client_and_changes_nothing(
    tenant_a, dovecot
):
    # Given a message waiting in a real server's folder
    dovecot.append("acme", build_message(subject="Hello"))
    mailbox = imap_mailbox(tenant_a, dovecot, "acme")
    # When the admin tests the connection
    result = services.mailbox_test(organization=tenant_a.org, actor=tenant_a.admin,
                                   mailbox=mailbox)  # fmt: skip
    # Then it logged in, the folder and the mailbox's position are untouched
    assert result.ok, result.error
    assert result.answers[0].text
    row = Mailbox.objects.get(pk=mailbox.pk)
    assert (row.imap_uidvalidity, row.imap_last_uid, row.last_error) == (None, 0, "")
    assert all(b"\\Seen" not in flags for flags in dovecot.flags("acme").values())
    # And a wrong folder is the server's answer, not a crash
    Mailbox.objects.filter(pk=mailbox.pk).update(imap_folder="Nowhere")
    mailbox.refresh_from_db()
    failed = services.mailbox_test(organization=tenant_a.org, actor=tenant_a.admin,
                                   mailbox=mailbox)  # fmt: skip
    assert not failed.ok
    assert "Nowhere" in failed.error or "exist" in failed.error.lower()
    assert crypto.decrypt(row.imap_password)  # the password is still readable


def test_one_imap_client_in_the_mail_channel():
    # The connection test and the fetcher share deskbase.mail.imap (imapclient): no
    # module of the mail channel speaks IMAP with the standard library's imaplib.
    root = Path(deskbase.mail.__file__).parent
    importing = []
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            if any(name.split(".")[0] == "imaplib" for name in names):
                importing.append(path.name)
    assert importing == []
