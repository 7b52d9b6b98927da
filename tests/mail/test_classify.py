"""Loops, bounces, automatic replies and bulk mail are recognized before anything acts on them."""

from __future__ import annotations

import pytest

from deskbase.mail.classify import AUTO_HEADERS, classify
from deskbase.mail.parse import parse

OWN = ["desk.example"]


def message(*headers: str, body: str = "Hello") -> bytes:
    lines = [
        "From: Customer <customer@example.com>",
        "To: support@desk.example",
        "Subject: Help",
        *headers,
        "",
        body,
    ]
    return "\r\n".join(lines).encode()


def kind_of(raw: bytes, **kwargs) -> tuple[str, str, str | None]:
    result = classify(parse(raw), own_domains=kwargs.pop("own_domains", OWN), **kwargs)
    return result.kind, result.reason, result.original_message_id


def test_an_ordinary_customer_message_is_normal() -> None:
    kind, reason, original = kind_of(message("Message-ID: <a1@example.com>"))

    assert kind == "normal"
    assert reason.startswith("normal:")
    assert original is None


@pytest.mark.parametrize("domain", ["desk.example", "MAIL.Desk.Example"])
def test_a_message_with_one_of_our_message_ids_is_a_loop(domain: str) -> None:
    kind, reason, _ = kind_of(message(f"Message-ID: <reply-7@{domain}>"))

    assert kind == "loop"
    assert reason == f"dropped: Message-ID <reply-7@{domain.lower()}> is one of ours (desk.example)"


def test_a_message_id_of_a_lookalike_domain_is_not_ours() -> None:
    kind, _, _ = kind_of(message("Message-ID: <x@notdesk.example>"))

    assert kind == "normal"


def test_a_message_carrying_our_loop_header_is_a_loop_whatever_its_id() -> None:
    kind, reason, _ = kind_of(
        message("Message-ID: <z@example.com>", "X-Desk-Loop: 1"), loop_header="X-Desk-Loop"
    )

    assert kind == "loop"
    assert reason == "dropped: it carries our loop header X-Desk-Loop"


DSN = b"\r\n".join(
    [
        b"From: Mail Delivery System <MAILER-DAEMON@mx.desk.example>",
        b"Message-ID: <dsn-1@mx.desk.example>",
        b"Return-Path: <>",
        b"Subject: Undelivered Mail Returned to Sender",
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
        b"",
        b"--b",
        b"Content-Type: text/plain",
        b"",
        b"I'm sorry to have to inform you that your message could not be delivered.",
        b"--b",
        b"Content-Type: message/delivery-status",
        b"",
        b"Reporting-MTA: dns; mx.desk.example",
        b"",
        b"Final-Recipient: rfc822; gone@example.net",
        b"Action: failed",
        b"Status: 5.1.1",
        b"",
        b"--b",
        b"Content-Type: text/rfc822-headers",
        b"",
        b"Message-ID: <comment-42@desk.example>",
        b"From: support@desk.example",
        b"",
        b"--b--",
    ]
)


def test_a_delivery_status_notification_is_a_bounce_naming_the_original_message() -> None:
    kind, reason, original = kind_of(DSN)

    # Our own relay's report has our domain in its Message-ID: still a bounce, not a loop.
    assert kind == "bounce"
    assert original == "comment-42@desk.example"
    assert reason == (
        "bounce: delivery status notification for <comment-42@desk.example> "
        "(gone@example.net: failed 5.1.1)"
    )


def test_a_classic_bounce_from_mailer_daemon_is_a_bounce_even_without_a_report() -> None:
    raw = message(
        "Message-ID: <b2@mx.example.net>",
        "X-Original-Message-ID: <comment-9@desk.example>",
        body="Delivery to the following recipients failed.",
    ).replace(b"Customer <customer@example.com>", b"postmaster@mx.example.net")

    kind, reason, original = kind_of(raw)

    assert kind == "bounce"
    assert original == "comment-9@desk.example"
    assert "message from the mail system (postmaster@mx.example.net)" in reason


def test_an_empty_return_path_alone_is_a_bounce_that_names_nothing() -> None:
    kind, reason, original = kind_of(message("Message-ID: <e@example.com>", "Return-Path: <>"))

    assert kind == "bounce"
    assert original is None
    assert reason.endswith("it does not name the original message")


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        (("Auto-Submitted: auto-replied",), "auto-reply: Auto-Submitted: auto-replied"),
        (("Auto-Submitted: auto-generated", "Return-Path: <>"), "auto-reply: Auto-Submitted:"),
        (("X-Autoreply: yes",), "auto-reply: X-Autoreply: yes"),
        (("X-Autorespond: vacation",), "auto-reply: X-Autorespond: vacation"),
        (("Precedence: auto_reply",), "auto-reply: Precedence: auto_reply"),
        (("Subject: Automatic reply: Help",), "auto-reply: the subject says so"),
        (("Subject: Abwesenheitsnotiz: Hilfe",), "auto-reply: the subject says so"),
    ],
)
def test_automatic_replies_are_recognized_by_their_headers(
    headers: tuple[str, ...], reason: str
) -> None:
    raw = message("Message-ID: <auto@example.com>", *headers)
    if any(h.startswith("Subject:") for h in headers):
        raw = raw.replace(b"Subject: Help\r\n", b"", 1)

    kind, said, _ = kind_of(raw)

    assert kind == "auto_reply"
    assert said.startswith(reason)


def test_auto_submitted_no_is_a_person_writing() -> None:
    kind, _, _ = kind_of(message("Message-ID: <n@example.com>", "Auto-Submitted: no"))

    assert kind == "normal"


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        (("Precedence: bulk",), "bulk: Precedence: bulk"),
        (("Precedence: list",), "bulk: Precedence: list"),
        (("Precedence: junk",), "bulk: Precedence: junk"),
        (("List-Id: Announcements <news.example.com>",), "bulk: mailing list (List-Id:"),
    ],
)
def test_bulk_and_list_mail_is_recognized(headers: tuple[str, ...], reason: str) -> None:
    kind, said, _ = kind_of(message("Message-ID: <bulk@example.com>", *headers))

    assert kind == "bulk"
    assert said.startswith(reason)


def test_list_unsubscribe_counts_only_from_a_no_reply_sender() -> None:
    person = message("Message-ID: <p@example.com>", "List-Unsubscribe: <mailto:u@example.com>")
    newsletter = person.replace(b"customer@example.com", b"noreply@example.com")

    assert kind_of(person)[0] == "normal"
    assert kind_of(newsletter)[0] == "bulk"


def test_exchange_suppression_header_counts_only_from_a_no_reply_sender() -> None:
    person = message("Message-ID: <s@example.com>", "X-Auto-Response-Suppress: All")
    system = person.replace(b"customer@example.com", b"no-reply@example.com")

    assert kind_of(person)[0] == "normal"
    assert kind_of(system)[0] == "auto_reply"


def test_a_read_receipt_is_an_automatic_reply_not_a_bounce() -> None:
    raw = b"\r\n".join(
        [
            b"From: customer@example.com",
            b"Message-ID: <mdn@example.com>",
            b'Content-Type: multipart/report; report-type=disposition-notification; boundary="m"',
            b"",
            b"--m",
            b"Content-Type: text/plain",
            b"",
            b"Your message was read.",
            b"--m",
            b"Content-Type: message/disposition-notification",
            b"",
            b"Original-Message-ID: <comment-5@desk.example>",
            b"Disposition: manual-action/MDN-sent-manually; displayed",
            b"",
            b"--m--",
        ]
    )

    kind, reason, _ = kind_of(raw)

    assert kind == "auto_reply"
    assert reason == "auto-reply: read receipt (disposition notification)"


def test_a_loop_wins_over_an_auto_reply_and_a_bounce_wins_over_bulk() -> None:
    looped = message("Message-ID: <x@desk.example>", "Auto-Submitted: auto-replied")
    bounced = DSN.replace(b"Subject:", b"Precedence: bulk\r\nSubject:")

    assert kind_of(looped)[0] == "loop"
    assert kind_of(bounced)[0] == "bounce"


def test_our_automatic_mail_headers_are_the_ones_auto_responders_respect() -> None:
    raw = message("Message-ID: <ours@example.org>", *(f"{k}: {v}" for k, v in AUTO_HEADERS.items()))

    assert AUTO_HEADERS == {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}
    assert kind_of(raw, own_domains=[])[0] == "auto_reply"
