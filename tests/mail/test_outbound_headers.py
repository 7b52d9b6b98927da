"""What our mail says in its headers: DKIM signatures that verify, no header injected through
a subject or a name, Outlook's Thread-Index extended, the ticket token once in the subject."""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
from datetime import UTC, datetime

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from deskbase.accounts.services import user_update
from deskbase.mail import classify, compose, crypto, headers, outgoing, parse, quotes, tokens
from deskbase.mail.models import InboundMessage, OutboundMessage
from deskbase.organizations.models import Organization
from deskbase.outbox import delivery
from deskbase.tickets import attachments as store
from deskbase.tickets import services
from tests.mail.relay import make_mailbox, relay_fixture  # noqa: F401  (fixture)
from tests.tickets.factories import open_ticket

FIXED_HEADERS = {
    "from", "to", "cc", "reply-to", "subject", "date", "message-id", "in-reply-to",
    "references", "x-deskbase-loop", "mime-version", "content-type",
}  # fmt: skip


def rsa_key() -> tuple[str, str]:
    """(private key PEM, the p= value of its DNS record)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()  # fmt: skip
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem, base64.b64encode(public).decode()


def dns_stub(records: dict[str, str]):
    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        found = records.get(name.decode().rstrip("."))
        return found.encode() if found else None

    return lookup


def draft(**fields) -> compose.Draft:
    values = dict(
        from_name="Acme Support", from_address="support@acme.test",
        reply_to="support+1-abcdefghij@acme.test", to=[("Ann", "ann@customer.example")], cc=[],
        subject="Printer on fire", message_id="reply.1.abc@acme.test",
        date=datetime(2026, 12, 3, 17, 0, tzinfo=UTC), text="Hello", html="<p>Hello</p>",
        loop_value="acme", automatic=False,
    )  # fmt: skip
    values.update(fields)
    return compose.Draft(**values)


@pytest.mark.django_db
def test_a_message_of_a_mailbox_with_a_dkim_key_is_signed_and_verifies(tenant_a, relay):
    # Given a mailbox with a DKIM key, and its public key published (a stub DNS)
    pem, public = rsa_key()
    make_mailbox(tenant_a.org, relay.port, dkim_domain="acme.test", dkim_selector="desk2026",
                 dkim_private_key=crypto.encrypt(pem))  # fmt: skip
    ticket = open_ticket(tenant_a)
    services.comment_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                         body="Signed and sealed")  # fmt: skip

    # When it is sent
    delivery.drain()

    # Then the relay received a DKIM signature over the headers that matter, which verifies
    [sent] = relay.messages
    signature = sent.message["DKIM-Signature"]
    assert "d=acme.test" in signature
    assert "s=desk2026" in signature
    assert "c=relaxed/relaxed" in signature
    signed = " ".join(str(signature).split()).split("h=", 1)[1].split(";", 1)[0].lower()
    for name in ("from", "to", "subject", "date", "message-id", "reply-to", "content-type"):
        assert name in signed.replace(" ", "").split(":")
    record = f"v=DKIM1; k=rsa; p={public}"
    assert dkim.verify(sent.raw, dnsfunc=dns_stub({"desk2026._domainkey.acme.test": record}))
    # ... and a changed body or another key does not
    tampered = sent.raw.replace(b"Signed and sealed", b"Signed and changed")
    assert not dkim.verify(tampered, dnsfunc=dns_stub({"desk2026._domainkey.acme.test": record}))
    _, other = rsa_key()
    wrong = f"v=DKIM1; k=rsa; p={other}"
    assert not dkim.verify(sent.raw, dnsfunc=dns_stub({"desk2026._domainkey.acme.test": wrong}))


@pytest.mark.django_db
def test_a_mailbox_without_a_key_sends_unsigned(tenant_a, relay):
    make_mailbox(tenant_a.org, relay.port)
    ticket = open_ticket(tenant_a)
    services.comment_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                         body="Plain")  # fmt: skip
    delivery.drain()
    assert relay.messages[0].message["DKIM-Signature"] is None


@pytest.mark.django_db
def test_line_breaks_in_subject_and_names_never_inject_a_header(tenant_a, relay):
    # Given an organization, a mailbox, a customer and a ticket whose names try to add a Bcc
    attack = "\r\nBcc: evil@attacker.example\r\n"
    Organization.objects.filter(id=tenant_a.org.id).update(name=f"Acme{attack}Inc")
    tenant_a.org.refresh_from_db()
    make_mailbox(tenant_a.org, relay.port, from_name=f"Support{attack}Team")
    user_update(organization=tenant_a.org, actor=tenant_a.admin, user=tenant_a.customer,
                full_name=f"Ann{attack}Smith")  # fmt: skip
    ticket = services.ticket_create(organization=tenant_a.org, actor=tenant_a.customer,
                                    subject=f"Help{attack}now", channel="portal")  # fmt: skip
    services.comment_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                         body="Answer")  # fmt: skip

    # When both messages (acknowledgement, reply) are sent
    delivery.drain()

    # Then neither has a Bcc, neither went to the attacker, each header is on its own line
    assert len(relay.messages) == 2
    for sent in relay.messages:
        assert sent.rcpt_tos == ["customer@acme.test"]
        assert sent.message["Bcc"] is None
        head = sent.raw.split(b"\r\n\r\n", 1)[0]
        assert not any(line.lower().startswith(b"bcc") for line in head.split(b"\r\n"))
        assert set(sent.message.keys()) >= {"From", "To", "Subject"}
        assert "Bcc: evil" in sent.header("Subject")  # kept as text on one line, harmless
        assert sent.message["To"].addresses[0].addr_spec == "customer@acme.test"
        assert sent.message["From"].addresses[0].addr_spec == "support@acme.test"


@settings(max_examples=150, deadline=None)
@given(
    subject=st.text(max_size=120),
    name=st.text(max_size=60),
    from_name=st.text(max_size=60),
    loop=st.text(max_size=30),
)
def test_no_text_in_a_subject_or_name_adds_a_header(subject, name, from_name, loop):
    # When any text is used as the subject, the recipient's, sender's and organization's name
    recipient = [(name, "ann@customer.example")]
    message = compose.build(
        draft(subject=subject, to=recipient, from_name=from_name, loop_value=loop)
    )
    raw = compose.to_bytes(message)

    # Then the message parses back to exactly our headers, with our one recipient
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert {k.lower() for k in parsed} <= FIXED_HEADERS
    assert [a.addr_spec for a in parsed["To"].addresses] == ["ann@customer.example"]
    assert [a.addr_spec for a in parsed["From"].addresses] == ["support@acme.test"]
    assert parsed["Bcc"] is None


def test_automatic_mail_carries_the_auto_headers_and_a_reply_does_not():
    automatic = compose.build(draft(automatic=True))
    assert automatic["Auto-Submitted"] == "auto-generated"
    assert automatic["X-Auto-Response-Suppress"] == "All"
    assert automatic["X-Deskbase-Loop"] == "acme"
    human = compose.build(draft())
    assert human["Auto-Submitted"] is None
    assert human["X-Deskbase-Loop"] == "acme"


def test_the_thread_index_is_extended_by_one_child_block():
    # Given the Thread-Index of an Outlook message (22-byte header block, one child)
    started = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    header = b"\x01" + (compose._filetime(started) >> 24).to_bytes(5, "big") + bytes(range(16))
    parent = base64.b64encode(header + b"\x00\x00\x10\x00\x21").decode()

    # When we answer two hours later
    extended = compose.extend_thread_index(
        parent, at=datetime(2026, 12, 1, 11, 0, tzinfo=UTC), salt=7
    )

    # Then it is the parent's bytes plus one 5-byte block with the time since the start
    raw = base64.b64decode(extended)
    assert raw[:27] == header + b"\x00\x00\x10\x00\x21"
    assert len(raw) == 27 + 5
    block = int.from_bytes(raw[27:31], "big")
    assert block >> 31 == 0  # the short form: bits 18-48 of the difference
    elapsed = (block & 0x7FFFFFFF) << 18
    assert abs(elapsed - 2 * 3600 * 10_000_000) < (1 << 18) + (1 << 24)
    # ... deterministic: a retried send carries the same value
    again = compose.extend_thread_index(parent, at=datetime(2026, 12, 1, 11, 0, tzinfo=UTC), salt=7)
    assert again == extended
    # A malformed value is not extended
    assert compose.extend_thread_index("not base64!", at=started, salt=1) == ""
    short = base64.b64encode(b"short").decode()
    assert compose.extend_thread_index(short, at=started, salt=1) == ""


@pytest.mark.django_db
def test_a_reply_extends_the_thread_index_of_the_customers_message(tenant_a, relay, settings):
    # Given a customer's message with a Thread-Index, kept in the attachment store
    mailbox = make_mailbox(tenant_a.org, relay.port)
    ticket = open_ticket(tenant_a)
    header = b"\x01" + (compose._filetime(datetime.now(UTC)) >> 24).to_bytes(5, "big") + b"G" * 16
    index = base64.b64encode(header).decode()
    raw = (
        b"From: Acme Customer <customer@acme.test>\r\nTo: support@acme.test\r\n"
        b"Subject: Printer\r\nMessage-ID: <outlook-1@customer.example>\r\n"
        b"Thread-Index: " + index.encode() + b"\r\n\r\nIt burns.\r\n"
    )
    digest = hashlib.sha256(raw).hexdigest()
    path = store.path_for(digest)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw)
    InboundMessage.objects.create(
        organization=tenant_a.org, mailbox=mailbox, message_id="outlook-1@customer.example",
        message_id_hash=headers.message_id_hash("outlook-1@customer.example"),
        raw_sha256=digest, size=len(raw), source="push", sender="customer@acme.test",
        subject="Printer", state="ticket", ticket=ticket,
    )  # fmt: skip

    # When an agent replies
    services.comment_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                         body="Water.")  # fmt: skip
    delivery.drain()

    # Then the reply's Thread-Index is the customer's with one child block
    [sent] = relay.messages
    assert sent.header("In-Reply-To") == "<outlook-1@customer.example>"
    extended = base64.b64decode(sent.header("Thread-Index"))
    assert extended[:22] == header
    assert len(extended) == 27


@pytest.mark.django_db
def test_a_reply_without_an_outlook_parent_has_no_thread_index(tenant_a, relay):
    make_mailbox(tenant_a.org, relay.port)
    ticket = open_ticket(tenant_a)
    services.comment_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                         body="Hi")  # fmt: skip
    delivery.drain()
    assert relay.messages[0].message["Thread-Index"] is None


@pytest.mark.django_db
def test_the_token_is_appended_to_the_subject_once(tenant_a):
    ticket = open_ticket(tenant_a)
    token = outgoing.token_of(ticket)
    once = outgoing.with_token("Re: Printer", token)
    assert once == f"Re: Printer {tokens.bracketed(token)}"
    assert outgoing.with_token(f"Re: {once}", token) == f"Re: {once}"
    assert len(outgoing.with_token("x" * 400, token)) <= 300
    assert OutboundMessage.objects.count() == 0


@pytest.mark.django_db
def test_our_own_mail_coming_back_is_recognized_as_a_loop_and_its_reply_marker_cut(tenant_a, relay):
    # Given an agent's reply as the relay received it
    make_mailbox(tenant_a.org, relay.port)
    ticket = open_ticket(tenant_a)
    services.comment_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                         body="Restart the spooler.")  # fmt: skip
    delivery.drain()
    [sent] = relay.messages

    # When the inbound side reads it back (an auto-forward, a misrouted copy)
    parsed = parse.parse(sent.raw)

    # Then it is classified as our own mail, and our threading reads back as we wrote it
    assert classify.classify(parsed, own_domains={"deskbase.acme.test"}).kind == "loop"
    row = OutboundMessage.objects.get()
    assert parsed.message_id == row.message_id
    assert parsed.subject == row.subject
    # ... and a customer's answer typed above our marker is what the quote splitter keeps
    answer = f"Done, thanks!\n\n{quotes.REPLY_MARKER}\n\n> Restart the spooler."
    visible, _ = quotes.split_reply(answer, "")
    assert visible.strip() == "Done, thanks!"
