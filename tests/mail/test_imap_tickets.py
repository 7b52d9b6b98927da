"""Mail in a real Dovecot becomes tickets, exactly once, through the whole pipeline:
flagged only once received, the same message twice, a broken one among others, a
renumbered folder, a message too large to download, a mailbox whose login fails."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from deskbase.mail import imap, review
from deskbase.mail.models import InboundMessage, InboundState, Mailbox, ReviewCause
from deskbase.tickets.models import Ticket
from tests.mail.conftest import build_message
from tests.mail.dovecot import dovecot_fixture, imap_mailbox  # noqa: F401 (a fixture)
from tests.mail.proxy import Proxy

SEEN_FLAGGED = {b"\\Seen", b"\\Flagged"}

# No From that can be read, a MIME structure that ends nowhere, raw 8-bit in headers.
BROKEN = (
    b"From: \xff\xfe <<<\r\nTo: support\r\nSubject: =?x-unknown?Q?=ZZ?=\r\n"
    b'Message-ID: <broken@client.example>\r\nContent-Type: multipart/mixed; boundary="\r\n'
    b"Content-Transfer-Encoding: x-nonsense\r\n\r\n--\r\n\xc3\x28 not a part\r\n"
)


def all_flagged(dovecot, user: str = "acme", folder: str = "INBOX") -> bool:
    flags = dovecot.flags(user, folder)
    return bool(flags) and all(f >= SEEN_FLAGGED for f in flags.values())


def test_new_mail_becomes_tickets_and_is_flagged_after_the_commit(tenant_a, dovecot):
    # Given two customers' messages in the support mailbox
    dovecot.append("acme", build_message(sender="Ann <ann@example.org>", subject="VPN down"))
    dovecot.append("acme", build_message(sender="Bob <bob@example.org>", subject="No sound"))
    mailbox = imap_mailbox(tenant_a, dovecot, "acme")

    # When the mailbox is fetched
    result = imap.fetch_once(mailbox)

    # Then each opened a ticket of the organization, and both are flagged on the server
    assert result.ok
    assert result.received == 2
    tickets = Ticket.objects.filter(organization=tenant_a.org)
    assert set(tickets.values_list("subject", flat=True)) == {"VPN down", "No sound"}
    rows = InboundMessage.objects.filter(mailbox=mailbox).order_by("imap_uid")
    assert [(r.imap_uid, r.state, r.source) for r in rows] == [
        (1, InboundState.TICKET, "imap"), (2, InboundState.TICKET, "imap"),
    ]  # fmt: skip
    assert all_flagged(dovecot)


def test_the_same_message_id_delivered_twice_makes_one_ticket(tenant_a, dovecot):
    # Given the same message appended twice (two UIDs, one Message-ID)
    raw = build_message(message_id="<twice@client.example>", subject="Sent twice")
    dovecot.append("acme", raw)
    dovecot.append("acme", raw)
    mailbox = imap_mailbox(tenant_a, dovecot, "acme")

    # When the mailbox is fetched
    result = imap.fetch_once(mailbox)

    # Then both were handled and flagged, but there is one message row and one ticket
    assert result.received == 2
    assert InboundMessage.objects.filter(mailbox=mailbox).count() == 1
    assert Ticket.objects.filter(organization=tenant_a.org, subject="Sent twice").count() == 1
    assert all_flagged(dovecot)


def test_one_broken_message_among_three_goes_to_review_and_all_three_are_flagged(tenant_a, dovecot):
    # Given a broken message between two good ones
    dovecot.append("acme", build_message(sender="ann@example.org", subject="First"))
    dovecot.append("acme", BROKEN)
    dovecot.append("acme", build_message(sender="bob@example.org", subject="Third"))
    mailbox = imap_mailbox(tenant_a, dovecot, "acme")

    # When the mailbox is fetched
    result = imap.fetch_once(mailbox)

    # Then two tickets and one message in review with its reason, and all three flagged
    assert (result.received, result.failed) == (3, 0)
    rows = list(InboundMessage.objects.filter(mailbox=mailbox).order_by("imap_uid"))
    assert [r.state for r in rows] == [InboundState.TICKET, InboundState.REVIEW,
                                       InboundState.TICKET]  # fmt: skip
    assert rows[1].review_cause
    assert rows[1].decision.startswith("In review")
    assert Ticket.objects.filter(organization=tenant_a.org).count() == 2
    assert all_flagged(dovecot)
    assert Mailbox.objects.get(pk=mailbox.pk).imap_last_uid == 3


def test_a_renumbered_folder_is_read_again_without_duplicates(tenant_a, dovecot):
    # Given a folder whose two messages became tickets
    first = [build_message(subject=f"Message {n}") for n in range(2)]
    for raw in first:
        dovecot.append("acme", raw, "Support")
    mailbox = imap_mailbox(tenant_a, dovecot, "acme", imap_folder="Support")
    imap.fetch_once(mailbox)
    assert Ticket.objects.filter(organization=tenant_a.org).count() == 2

    # When the folder is deleted and made again with the same two and a new one
    dovecot.recreate("acme", "Support", [*first, build_message(subject="Message 2")])
    result = imap.fetch_once(Mailbox.objects.get(pk=mailbox.pk))

    # Then all three were read under the new UIDVALIDITY, and only the new one is new
    assert result.uidvalidity_changed
    assert result.received == 3
    assert Ticket.objects.filter(organization=tenant_a.org).count() == 3
    assert InboundMessage.objects.filter(mailbox=mailbox).count() == 3
    assert all_flagged(dovecot, folder="Support")


def test_a_30_mb_message_goes_to_review_as_too_large_without_being_downloaded(
    tenant_a, dovecot, settings
):
    # Given a 30 MB message, with the limit at 25 MB
    settings.MAIL_MAX_MESSAGE_BYTES = 25 * 1024 * 1024
    huge = build_message(
        message_id="<huge@client.example>", sender="Ann <ann@example.org>",
        subject="Our whole archive",
        attachments=[("archive.bin", "application/octet-stream", b"\0" * (23 * 1024 * 1024))],
    )  # fmt: skip
    assert len(huge) > 30_000_000
    dovecot.append("acme", huge)
    proxy = Proxy(dovecot.port)
    mailbox = imap_mailbox(tenant_a, dovecot, "acme", port=proxy.port)

    # When the mailbox is fetched (through a proxy that counts what the server sends)
    try:
        result = imap.fetch_once(mailbox)
    finally:
        proxy.stop()

    # Then the message waits in review, too large, with its real size and sender, no ticket
    assert (result.received, result.too_large) == (1, 1)
    row = InboundMessage.objects.get(mailbox=mailbox)
    assert (row.state, row.review_cause) == (InboundState.REVIEW, ReviewCause.TOO_LARGE)
    assert row.size > 30_000_000
    assert (row.sender, row.subject, row.message_id) == (
        "ann@example.org", "Our whole archive", "huge@client.example",
    )  # fmt: skip
    assert "over the 25.0 MB limit" in row.decision
    assert not Ticket.objects.filter(organization=tenant_a.org).exists()
    # ... and it was never downloaded: well under a megabyte came from the server
    assert proxy.server_bytes < 1024 * 1024
    assert all_flagged(dovecot)

    # When an agent accepts it from review, the ticket says what happened to the message
    review.review_accept(organization=tenant_a.org, actor=tenant_a.agent, message=row)
    ticket = Ticket.objects.get(organization=tenant_a.org)
    assert ticket.subject == "Our whole archive"
    assert "Only its header was read" in ticket.description


def test_a_refused_login_fails_its_mailbox_and_the_other_organizations_is_still_fetched(
    tenant_a, tenant_b, dovecot
):
    # Given acme's mailbox with a wrong password and globex's that works, each with mail
    dovecot.append("acme", build_message(subject="For acme"))
    dovecot.append("globex", build_message(subject="For globex", to="globex@globex.test"))
    acme = imap_mailbox(tenant_a, dovecot, "acme", password="wrong-Secret-42")
    globex = imap_mailbox(tenant_b, dovecot, "globex")

    # When `deskbase mail fetch --once` runs
    with pytest.raises(CommandError) as failed:
        call_command("mail", "fetch", "--once")

    # Then it fails naming acme's mailbox and the server's answer, never the password
    assert "acme@acme.test" in str(failed.value)
    assert "[AUTHENTICATIONFAILED] Authentication failed." in str(failed.value)
    assert "wrong-Secret-42" not in str(failed.value)
    acme.refresh_from_db()
    assert "[AUTHENTICATIONFAILED]" in acme.last_error
    # ... while globex's mail became its ticket, and acme's waits unread on the server
    assert Ticket.objects.filter(organization=tenant_b.org, subject="For globex").exists()
    assert not Ticket.objects.filter(organization=tenant_a.org).exists()
    globex.refresh_from_db()
    assert globex.last_error == ""
    assert all_flagged(dovecot, "globex")
    assert not all_flagged(dovecot, "acme")
