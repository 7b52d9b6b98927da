"""Mailboxes managed by the organization's admins: secrets encrypted, never shown."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connection

from deskbase.core import events
from deskbase.core.errors import NotFound, PermissionDenied, ValidationFailed
from deskbase.mail import crypto, services
from deskbase.mail.models import Mailbox
from tests.mail.admin_servers import IMAP_REFUSAL, closed_port, refusing_imap, refusing_smtp

pytestmark = pytest.mark.django_db
SECRET = "imap-pw-8Hq3!zz"


def imap_box(world, **fields):
    values = {
        "name": "Support", "address": f"support@{world.org.slug}.test", "inbound": "imap",
        "imap_host": "127.0.0.1", "imap_port": 993, "imap_username": "support",
        "imap_password": SECRET,
    }  # fmt: skip
    values.update(fields)
    return services.mailbox_create(organization=world.org, actor=world.admin, **values)


@contextmanager
def announced() -> Iterator[list[events.Event]]:
    """The mailbox events announced inside the block (after phase)."""
    seen: list[events.Event] = []
    names = ("mailbox.created", "mailbox.updated", "mailbox.soft_deleted")
    for name in names:
        events.subscribe(name)(seen.append)
    try:
        yield seen
    finally:
        for name in names:
            events.unsubscribe(name, seen.append)


def stored_columns(mailbox_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT imap_password, smtp_password, dkim_private_key FROM mail_mailbox WHERE id = %s",
            [mailbox_id],
        )
        return " ".join(cursor.fetchone())


def test_an_admin_creates_an_imap_mailbox_with_its_password_encrypted(tenant_a, caplog):
    # Given an admin, with every log record captured
    caplog.set_level(logging.DEBUG)
    # When they add an IMAP mailbox
    with announced() as seen:
        mailbox = imap_box(tenant_a, address=" Support@Acme.TEST ")
    # Then it is stored with the address lower-cased, the password encrypted (never in
    # clear in the column, nor in any log record), and the creation announced
    row = Mailbox.objects.get(pk=mailbox.pk)
    assert row.address == "support@acme.test"
    assert SECRET not in stored_columns(mailbox.pk)
    assert crypto.decrypt(row.imap_password) == SECRET
    assert SECRET not in caplog.text
    assert [e.name for e in seen] == ["mailbox.created"]


@pytest.mark.parametrize("role", ["agent", "manager", "customer"])
def test_only_admins_manage_mailboxes(tenant_a, role):
    # Given someone who is not an admin
    actor = getattr(tenant_a, role)
    # When they try to add a mailbox, then it is refused and nothing is written
    with pytest.raises(PermissionDenied, match="only admins"):
        services.mailbox_create(
            organization=tenant_a.org, actor=actor, name="x", address="x@acme.test"
        )
    assert not Mailbox.objects.exists()


def test_an_empty_password_keeps_the_stored_one_and_a_new_one_replaces_it(tenant_a):
    # Given a mailbox with a password
    mailbox = imap_box(tenant_a)
    before = Mailbox.objects.get(pk=mailbox.pk).imap_password
    # When it is renamed with an empty password field
    with announced() as seen:
        services.mailbox_update(organization=tenant_a.org, actor=tenant_a.admin,
                                mailbox=mailbox, name="Help", imap_password="")  # fmt: skip
    # Then the password is unchanged
    row = Mailbox.objects.get(pk=mailbox.pk)
    assert (row.name, row.imap_password) == ("Help", before)
    assert seen[0].changes == {"name": ("Support", "Help")}
    # When a new password is given
    with announced() as seen:
        services.mailbox_update(organization=tenant_a.org, actor=tenant_a.admin,
                                mailbox=mailbox, imap_password="new-pw-77")  # fmt: skip
    # Then it replaces the old one, and the event says so without the value
    assert crypto.decrypt(Mailbox.objects.get(pk=mailbox.pk).imap_password) == "new-pw-77"
    assert seen[0].changes == {"imap_password": ("(secret)", "(secret)")}
    assert "new-pw-77" not in repr(seen[0])


def test_another_tenants_mailbox_is_absent(tenant_a, tenant_b):
    # Given a mailbox of tenant B
    theirs = imap_box(tenant_b)
    # When tenant A's admin changes, deletes or tests it: it does not exist for them
    for call in (services.mailbox_update, services.mailbox_soft_delete, services.mailbox_test):
        extra = {"name": "Mine now"} if call is services.mailbox_update else {}
        with pytest.raises(NotFound):
            call(organization=tenant_a.org, actor=tenant_a.admin, mailbox=theirs, **extra)
    # Then it is unchanged
    row = Mailbox.objects.get(pk=theirs.pk)
    assert (row.name, row.deleted_at, row.last_checked_at) == ("Support", None, None)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"address": "not an address"}, "address"),
        ({"imap_host": ""}, "imap_host"),
        ({"imap_port": 70000}, "imap_port"),
        ({"imap_port": "abc"}, "imap_port"),
        ({"imap_password": ""}, "imap_password"),
        ({"imap_security": "sometimes"}, "imap_security"),
        ({"smtp_host": "smtp.acme.test"}, "smtp_port"),
        (
            {"dkim_domain": "acme.test", "dkim_selector": "s1", "dkim_private_key": "nope"},
            "dkim_private_key",
        ),
        ({"dkim_domain": "acme.test"}, "dkim_domain"),
        ({"name": None}, "name"),
    ],
)
def test_bad_input_names_its_field_and_writes_nothing(tenant_a, fields, field):
    # When a mailbox is added with one bad value
    with pytest.raises(ValidationFailed) as refused:
        imap_box(tenant_a, **fields)
    # Then the error names that field, and no mailbox exists
    assert field in refused.value.errors
    assert not Mailbox.objects.exists()


def test_an_address_used_by_another_tenant_is_a_field_error_not_a_crash(tenant_a, tenant_b):
    # Given tenant B's mailbox at an address (routing of pushed mail is global)
    imap_box(tenant_b, address="help@shared.test")
    # When tenant A adds one at the same address, in another case
    with pytest.raises(ValidationFailed) as refused:
        imap_box(tenant_a, address="HELP@shared.test")
    # Then the address field is named, and tenant A has no mailbox
    assert "address" in refused.value.errors
    assert not Mailbox.objects.filter(organization=tenant_a.org).exists()


def test_a_deleted_mailbox_frees_its_address(tenant_a):
    # Given a deleted mailbox
    mailbox = imap_box(tenant_a)
    with announced() as seen:
        services.mailbox_soft_delete(organization=tenant_a.org, actor=tenant_a.admin,
                                     mailbox=mailbox)  # fmt: skip
    # Then it is hidden, announced, and its address may be used again
    assert [e.name for e in seen] == ["mailbox.soft_deleted"]
    assert not Mailbox.objects.filter(pk=mailbox.pk).exists()
    assert imap_box(tenant_a).pk != mailbox.pk


def test_turning_signing_off_forgets_the_dkim_key(tenant_a):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()  # fmt: skip
    # Given a mailbox that signs
    mailbox = imap_box(tenant_a, dkim_domain="acme.test", dkim_selector="s1",
                       dkim_private_key=pem)  # fmt: skip
    assert "PRIVATE KEY" not in stored_columns(mailbox.pk)
    # When domain and selector are cleared
    services.mailbox_update(organization=tenant_a.org, actor=tenant_a.admin, mailbox=mailbox,
                            dkim_domain="", dkim_selector="")  # fmt: skip
    # Then the key is gone too
    assert Mailbox.objects.get(pk=mailbox.pk).dkim_private_key == ""


def test_a_refused_imap_login_is_stored_in_the_servers_words(tenant_a, caplog):
    caplog.set_level(logging.DEBUG)
    # Given an IMAP server that refuses the login
    with refusing_imap() as port:
        mailbox = imap_box(tenant_a, imap_port=port, imap_security="none")
        # When the admin tests the connection
        result = services.mailbox_test(organization=tenant_a.org, actor=tenant_a.admin,
                                       mailbox=mailbox)  # fmt: skip
    # Then the server's answer is returned and stored, and the password logged nowhere
    assert not result.ok
    assert IMAP_REFUSAL in result.answers[0].text
    row = Mailbox.objects.get(pk=mailbox.pk)
    assert row.last_error == f"IMAP: {result.answers[0].text}"
    assert row.last_checked_at is not None
    assert SECRET not in caplog.text


def test_a_refused_smtp_login_and_an_unreachable_imap_server_are_both_named(tenant_a):
    # Given a mailbox whose IMAP port is closed and whose SMTP relay refuses the password
    with refusing_smtp() as smtp_port:
        mailbox = imap_box(
            tenant_a, imap_port=closed_port(), imap_security="none", smtp_host="127.0.0.1",
            smtp_port=smtp_port, smtp_security="none", smtp_username="support",
            smtp_password="smtp-pw-1",
        )  # fmt: skip
        result = services.mailbox_test(organization=tenant_a.org, actor=tenant_a.admin,
                                       mailbox=mailbox)  # fmt: skip
    # Then each server's failure is there in its own words
    texts = {a.service: a.text for a in result.answers}
    assert "refused" in texts["imap"].lower()
    assert texts["smtp"].startswith("535")
    error = Mailbox.objects.get(pk=mailbox.pk).last_error
    assert error.startswith("IMAP: ")
    assert "\nSMTP: 535" in error


def test_a_working_smtp_server_clears_the_last_error(tenant_a):
    # Given a sending-only mailbox with an old error, and a relay that accepts connections
    with refusing_smtp() as port:
        mailbox = services.mailbox_create(
            organization=tenant_a.org, actor=tenant_a.admin, name="Out",
            address="out@acme.test", smtp_host="127.0.0.1", smtp_port=port,
            smtp_security="none",
        )  # fmt: skip
        Mailbox.objects.filter(pk=mailbox.pk).update(last_error="IMAP: old")
        # When it is tested (no user name: no login)
        result = services.mailbox_test(organization=tenant_a.org, actor=tenant_a.admin,
                                       mailbox=mailbox)  # fmt: skip
    # Then it worked, and the old error is gone
    assert result.ok
    assert result.answers[0].text.startswith("250")
    assert Mailbox.objects.get(pk=mailbox.pk).last_error == ""


def test_only_admins_test_connections(tenant_a):
    mailbox = imap_box(tenant_a)
    with pytest.raises(PermissionDenied):
        services.mailbox_test(organization=tenant_a.org, actor=tenant_a.manager, mailbox=mailbox)
    assert Mailbox.objects.get(pk=mailbox.pk).last_checked_at is None
