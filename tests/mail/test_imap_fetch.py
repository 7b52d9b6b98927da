"""Fetching a mailbox from a real Dovecot: which messages are read, in what order, when
they are flagged, and what the mailbox records. `receive` is a recorder here (the
pipeline's own behaviour is tested with it in test_imap_tickets.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from deskbase.mail import crypto, imap
from deskbase.mail.models import Mailbox
from deskbase.testing.plugin import free_port
from tests.mail.conftest import build_message
from tests.mail.dovecot import dovecot_fixture, imap_mailbox  # noqa: F401 (a fixture)

SEEN_FLAGGED = {b"\\Seen", b"\\Flagged"}


@dataclass
class Recorder:
    """A `receive` that remembers what it got; raises for the Message-IDs in `broken`."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    broken: set[str] = field(default_factory=set)

    def __call__(self, **kwargs: Any) -> None:
        raw = kwargs.get("raw") or kwargs.get("header") or b""
        if any(f"<{mid}>".encode() in raw for mid in self.broken):
            raise RuntimeError("the database went away")
        self.calls.append(kwargs)

    @property
    def uids(self) -> list[int]:
        return [call["imap_uid"] for call in self.calls]


def message(n: int, **kwargs: Any) -> bytes:
    return build_message(message_id=f"<m{n}@client.example>", subject=f"Message {n}", **kwargs)


def fresh(mailbox: Mailbox) -> Mailbox:
    return Mailbox.objects.get(pk=mailbox.pk)


def test_new_messages_are_handed_over_in_uid_order_then_flagged_and_passed(tenant_a, dovecot):
    # Given three messages in the mailbox
    for n in range(3):
        dovecot.append("acme", message(n))
    mailbox = imap_mailbox(tenant_a, dovecot, "acme")
    received = Recorder()

    # When one pass runs
    result = imap.fetch_once(mailbox, receive=received)

    # Then each went to receive once, whole, with its UID and the folder's UIDVALIDITY
    assert result.ok
    assert result.received == 3
    assert received.uids == [1, 2, 3]
    uidvalidity = dovecot.uidvalidity("acme")
    assert {c["imap_uidvalidity"] for c in received.calls} == {uidvalidity}
    assert {c["source"] for c in received.calls} == {"imap"}
    assert b"Message 1" in received.calls[1]["raw"]
    # ... each is flagged on the server, and the mailbox remembers where it is
    assert all(flags >= SEEN_FLAGGED for flags in dovecot.flags("acme").values())
    mailbox = fresh(mailbox)
    assert (mailbox.imap_uidvalidity, mailbox.imap_last_uid) == (uidvalidity, 3)
    assert mailbox.last_error == ""
    assert mailbox.last_checked_at is not None

    # When another pass runs with one more message
    dovecot.append("acme", message(3))
    again = imap.fetch_once(mailbox, receive=received)

    # Then only the new one is read: the highest UID that `4:*` also names is not read again
    assert again.received == 1
    assert received.uids == [1, 2, 3, 4]
    assert imap.fetch_once(fresh(mailbox), receive=received).received == 0
    assert received.uids == [1, 2, 3, 4]


def test_a_message_that_cannot_be_received_is_left_unflagged_and_read_again(tenant_a, dovecot):
    # Given three messages, the second of which receive cannot take (its database failed)
    for n in range(3):
        dovecot.append("acme", message(n))
    mailbox = imap_mailbox(tenant_a, dovecot, "acme")
    received = Recorder(broken={"m1@client.example"})

    # When a pass runs
    result = imap.fetch_once(mailbox, receive=received)

    # Then the other two are received and flagged, the broken one is not flagged
    assert (result.received, result.failed, result.ok) == (2, 1, False)
    assert received.uids == [1, 3]
    flags = dovecot.flags("acme")
    assert flags[1] >= SEEN_FLAGGED
    assert flags[3] >= SEEN_FLAGGED
    assert not flags[2] & SEEN_FLAGGED
    # ... the mailbox stays before it and says why
    mailbox = fresh(mailbox)
    assert mailbox.imap_last_uid == 1
    assert "message UID 2 not received: the database went away" in mailbox.last_error

    # When the failure is over and the next pass runs
    received.broken.clear()
    imap.fetch_once(mailbox, receive=received)

    # Then the failed one is received and flagged (the one after it is read again,
    # which receive recognizes), and the error is cleared
    assert received.uids == [1, 3, 2, 3]
    assert dovecot.flags("acme")[2] >= SEEN_FLAGGED
    mailbox = fresh(mailbox)
    assert (mailbox.imap_last_uid, mailbox.last_error) == (3, "")


def test_processed_messages_move_to_the_archive_folder_when_one_is_set(tenant_a, dovecot):
    # Given a mailbox that archives what it processed, and two messages
    for n in range(2):
        dovecot.append("acme", message(n))
    mailbox = imap_mailbox(tenant_a, dovecot, "acme", imap_archive_folder="Processed")
    received = Recorder()

    # When a pass runs
    imap.fetch_once(mailbox, receive=received)

    # Then both were received and moved, flagged, out of the inbox
    assert received.uids == [1, 2]
    assert dovecot.uids("acme") == []
    archived = dovecot.flags("acme", "Processed")
    assert len(archived) == 2
    assert all(flags >= SEEN_FLAGGED for flags in archived.values())


def test_a_new_uidvalidity_restarts_the_folder_from_the_first_uid(tenant_a, dovecot):
    # Given a folder read up to its last message
    dovecot.append("acme", message(0), "Support")
    dovecot.append("acme", message(1), "Support")
    mailbox = imap_mailbox(tenant_a, dovecot, "acme", imap_folder="Support")
    received = Recorder()
    imap.fetch_once(mailbox, receive=received)
    old = fresh(mailbox).imap_uidvalidity

    # When the folder is deleted and made again (renumbered) with the same two and a new one
    dovecot.recreate("acme", "Support", [message(0), message(1), message(2)])
    result = imap.fetch_once(fresh(mailbox), receive=received)

    # Then the new UIDVALIDITY is stored and all three are read again under it
    assert result.uidvalidity_changed
    new = dovecot.uidvalidity("acme", "Support")
    assert new != old
    assert received.uids == [1, 2, 1, 2, 3]
    assert [c["imap_uidvalidity"] for c in received.calls[2:]] == [new, new, new]
    mailbox = fresh(mailbox)
    assert (mailbox.imap_uidvalidity, mailbox.imap_last_uid) == (new, 3)


def test_a_refused_login_is_recorded_with_the_servers_answer_never_the_password(tenant_a, dovecot):
    # Given a mailbox whose password the server does not accept
    dovecot.append("acme", message(0))
    mailbox = imap_mailbox(tenant_a, dovecot, "acme", password="not-the-Pa55word")
    received = Recorder()

    # When a pass runs
    result = imap.fetch_once(mailbox, receive=received)

    # Then nothing was read; the server's answer is on the mailbox, without the password
    assert received.calls == []
    assert not result.ok
    mailbox = fresh(mailbox)
    assert "refused the login: [AUTHENTICATIONFAILED] Authentication failed." in mailbox.last_error
    assert f"127.0.0.1:{dovecot.port}" in mailbox.last_error
    assert "not-the-Pa55word" not in mailbox.last_error
    assert mailbox.last_checked_at is not None

    # When the password is corrected and a pass runs, the error is gone
    Mailbox.objects.filter(pk=mailbox.pk).update(
        imap_password=crypto.encrypt(dovecot.users["acme"])
    )
    assert imap.fetch_once(fresh(mailbox), receive=received).ok
    assert fresh(mailbox).last_error == ""
    assert received.uids == [1]


def test_an_unreachable_server_is_recorded_on_the_mailbox(tenant_a, dovecot):
    # Given a mailbox pointing at a port where nothing listens
    port = free_port()
    mailbox = imap_mailbox(tenant_a, dovecot, "acme", port=port)

    # When a pass runs
    result = imap.fetch_once(mailbox, receive=Recorder())

    # Then the mailbox says it cannot connect, and why
    assert result.error.startswith(f"cannot connect to 127.0.0.1:{port}")
    assert "Connection refused" in result.error
    assert fresh(mailbox).last_error == result.error


@pytest.mark.parametrize("folder", ["Does-Not-Exist"])
def test_a_missing_folder_is_named_in_the_error(tenant_a, dovecot, folder):
    mailbox = imap_mailbox(tenant_a, dovecot, "acme", imap_folder=folder)
    result = imap.fetch_once(mailbox, receive=Recorder())
    assert f"cannot open the folder {folder!r}" in result.error
    assert fresh(mailbox).last_error == result.error
