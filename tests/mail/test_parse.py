"""Raw e-mail in, ParsedMessage out: headers, bodies, attachments, reports, and broken input."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from deskbase.mail.headers import (
    message_id_hash,
    message_id_list,
    normalize_message_id,
    safe_header_value,
)
from deskbase.mail.parse import GENERATED_ID_DOMAIN, parse
from deskbase.mail.quotes import REPLY_MARKER
from tests.mail.corpus import hang_guard


def eml(*lines: str | bytes) -> bytes:
    """A message from its lines, joined with CRLF as on the wire."""
    return b"\r\n".join(line if isinstance(line, bytes) else line.encode() for line in lines)


PLAIN = eml(
    "Return-Path: <bounce+x@Mail.Example.COM>",
    "Message-ID: <Abc.123@Example.COM>",
    "In-Reply-To: <first@desk.example>",
    "References: <root@desk.example>",
    "  <first@desk.example> garbage <not an id>",
    "From: =?utf-8?q?J=C3=B6rg_M=C3=BCller?= <Joerg@Example.COM>",
    "Reply-To: replies@example.com",
    'To: "Support" <support@desk.example>, other@desk.example',
    "Cc: =?iso-8859-1?b?SvxyZ2Vu?= <juergen@example.org>",
    "Subject: =?utf-8?q?Caf=C3=A9?=   crash\r\n  after update",
    "Date: Tue, 03 Dec 2024 10:00:00 +0100",
    "Thread-Index: AdrFgxyz123==",
    "X-Custom: one",
    "X-Custom: two",
    "",
    "Hello,",
    "the app crashes.",
)


def test_a_plain_message_gives_its_sender_recipients_subject_date_and_ids() -> None:
    message = parse(PLAIN)

    assert message.message_id == "Abc.123@example.com"
    assert message.generated_message_id is False
    assert message.in_reply_to == ["first@desk.example"]
    assert message.references == ["root@desk.example", "first@desk.example"]
    assert message.from_ is not None
    assert (message.from_.name, message.from_.email) == ("Jörg Müller", "Joerg@example.com")
    assert [a.email for a in message.reply_to] == ["replies@example.com"]
    assert [(a.name, a.email) for a in message.to] == [
        ("Support", "support@desk.example"),
        ("", "other@desk.example"),
    ]
    assert [(a.name, a.email) for a in message.cc] == [("Jürgen", "juergen@example.org")]
    assert message.subject == "Café crash after update"
    assert message.date == datetime(2024, 12, 3, 9, 0, tzinfo=UTC)
    assert message.date is not None
    assert message.date.utcoffset() == timedelta(hours=1)
    assert message.return_path == "bounce+x@mail.example.com"
    assert message.thread_index == "AdrFgxyz123=="
    assert message.headers["x-custom"] == ["one", "two"]
    assert message.header("SUBJECT") == "Café crash after update"
    assert message.text == "Hello,\nthe app crashes."
    assert message.visible_text == message.text
    assert message.html is None
    assert message.size == len(PLAIN)
    assert message.defects == []


def test_a_message_without_message_id_gets_the_same_generated_id_for_the_same_bytes() -> None:
    raw = eml("From: a@example.com", "Subject: no id", "", "body")
    other = eml("From: a@example.com", "Subject: no id", "", "body!")

    first, again, different = parse(raw), parse(raw), parse(other)

    assert first.generated_message_id is True
    assert first.message_id.endswith("@" + GENERATED_ID_DOMAIN)
    assert first.message_id == again.message_id
    assert first.message_id != different.message_id
    assert any("no Message-ID" in defect for defect in first.defects)


def test_an_invalid_message_id_is_replaced_and_reported() -> None:
    message = parse(eml("Message-ID: <no at sign>", "From: a@example.com", "", "x"))

    assert message.generated_message_id is True
    assert any("is not valid" in defect for defect in message.defects)


def test_message_ids_compare_equal_up_to_brackets_and_domain_case() -> None:
    assert normalize_message_id("  <Part.One@Example.COM> ") == "Part.One@example.com"
    assert normalize_message_id("<two words@x>") is None
    assert message_id_hash("<Part.One@EXAMPLE.com>") == message_id_hash("Part.One@example.com")
    assert message_id_hash("<part.one@example.com>") != message_id_hash("<Part.One@example.com>")


def test_raw_8bit_headers_and_an_encoded_word_with_raw_bytes_are_decoded() -> None:
    raw = eml(
        b"From: J\xf6rg <joerg@example.com>",
        b"Subject: =?iso-8859-1?Q?Die_Hasen_und_die_Fr\xf6sche?=",
        b"To: \xe6\x97\xa5\xe6\x9c\xac <jp@example.jp>",
        b"",
        b"x",
    )

    message = parse(raw)

    assert message.from_ is not None
    assert message.from_.name == "Jörg"
    assert message.subject == "Die Hasen und die Frösche"
    assert message.to[0].name == "日本"
    assert all(ch < "\udc80" or ch > "\udcff" for ch in message.subject)


@pytest.mark.parametrize(
    ("declared", "body", "expected", "defect"),
    [
        ("utf-8", "Grüße".encode("latin-1"), "Grüße", "it was read as cp1252"),
        ("us-ascii", "Grüße".encode(), "Grüße", None),
        ("x-no-such-charset", "Grüße".encode(), "Grüße", "it was read as utf-8"),
        ("iso-8859-1", "€ 10".encode("cp1252"), "€ 10", None),
        ("gb2312", "中文".encode("gb18030"), "中文", None),
    ],
)
def test_lying_or_unknown_charsets_fall_back_to_utf8_then_cp1252(
    declared: str, body: bytes, expected: str, defect: str | None
) -> None:
    raw = eml(
        "From: a@example.com",
        "Message-ID: <c@example.com>",
        f"Content-Type: text/plain; charset={declared}",
        "Content-Transfer-Encoding: 8bit",
        "",
        body,
    )

    message = parse(raw)

    assert message.text == expected
    if defect:
        assert any(defect in d for d in message.defects), message.defects
    else:
        assert message.defects == []


def multipart(boundary: str, *parts: bytes, subtype: str = "mixed", head: tuple = ()) -> bytes:
    lines: list[str | bytes] = [
        "From: a@example.com",
        "Message-ID: <m@example.com>",
        *head,
        f'Content-Type: multipart/{subtype}; boundary="{boundary}"',
        "",
        "preamble",
    ]
    for part in parts:
        lines += [f"--{boundary}", part]
    lines.append(f"--{boundary}--")
    return eml(*lines)


def part(*headers: str, body: bytes | str = b"") -> bytes:
    return eml(*headers, "", body)


def test_attachment_names_are_decoded_from_rfc2231_and_rfc2047_and_sanitized() -> None:
    raw = multipart(
        "b1",
        part("Content-Type: text/plain", body="see attached"),
        part(
            "Content-Type: application/pdf",
            "Content-Disposition: attachment;",
            " filename*0*=utf-8''r%C3%A9sum;",
            " filename*1*=%C3%A9.pdf",
            "Content-Transfer-Encoding: base64",
            body=base64.b64encode(b"%PDF-1.4 data").decode(),
        ),
        part(
            'Content-Type: text/plain; name="=?utf-8?q?caf=C3=A9=2Etxt?="',
            "Content-Disposition: attachment",
            body="notes",
        ),
        part(
            'Content-Type: application/octet-stream; name="..\\\\..\\\\ev<il>\x07\x01.exe"',
            "Content-Disposition: attachment",
            body="MZ",
        ),
        part("Content-Type: application/octet-stream", body="no name"),
        part("Content-Type: application/ms-tnef", body="TNEF"),
    )

    message = parse(raw)

    assert message.text == "see attached"
    names = [p.filename for p in message.parts]
    assert names[:2] == ["résumé.pdf", "café.txt"]
    assert names[2] == "ev_il_.exe"  # no path, no control characters, no reserved characters
    assert names[3] == "attachment-4.bin"
    assert names[4] == "winmail.dat"
    pdf = message.parts[0]
    assert (pdf.content_type, pdf.payload, pdf.size) == ("application/pdf", b"%PDF-1.4 data", 13)
    assert pdf.inline is False


def test_an_inline_image_keeps_its_content_id_and_the_html_keeps_only_cid_images() -> None:
    html = (
        '<p onclick="x()">Hi <img src="cid:logo@x"> <img src="https://track.example/p.gif">'
        '<script>alert(1)</script><a href="javascript:alert(1)">bad</a>'
        '<a href="https://ok.example/">ok</a></p>'
    )
    raw = multipart(
        "rel",
        part("Content-Type: text/html; charset=utf-8", body=html),
        part(
            "Content-Type: image/png",
            "Content-ID: <logo@x>",
            "Content-Transfer-Encoding: base64",
            body=base64.b64encode(b"\x89PNG....").decode(),
        ),
        subtype="related",
    )

    message = parse(raw)

    assert message.html is not None
    assert 'src="cid:logo@x"' in message.html
    assert "track.example" not in message.html
    assert "script" not in message.html
    assert "alert" not in message.html
    assert "onclick" not in message.html
    assert 'href="https://ok.example/"' in message.html
    assert message.text.startswith("Hi")  # derived from the HTML: there is no text/plain
    image = message.parts[0]
    assert (image.content_id, image.inline, image.payload) == ("logo@x", True, b"\x89PNG....")
    assert image.filename == "attachment-1.png"


def test_multipart_alternative_takes_one_plain_and_one_html_version() -> None:
    raw = multipart(
        "alt",
        part("Content-Type: text/plain", body="plain version"),
        part("Content-Type: text/enriched", body="<bold>rich</bold>"),
        part("Content-Type: text/html", body="<p>html version</p>"),
        subtype="alternative",
    )

    message = parse(raw)

    assert message.text == "plain version"
    assert message.html == "<p>html version</p>"
    assert message.parts == []


def test_uuencoded_files_in_a_plain_body_become_parts() -> None:
    encoded = "\n".join(
        ["begin 644 hello.txt", "%:&5L;&\\`", "`", "end"]  # "hello" uuencoded
    )
    raw = eml("From: a@example.com", "Message-ID: <u@x.org>", "", "See the file.", encoded, "Bye")

    message = parse(raw)

    assert message.text == "See the file.\nBye"
    assert [(p.filename, p.payload) for p in message.parts] == [("hello.txt", b"hello")]


def test_an_unknown_transfer_encoding_keeps_the_raw_bytes_and_says_so() -> None:
    raw = multipart(
        "b",
        part("Content-Type: text/plain", body="body"),
        part(
            "Content-Type: application/octet-stream",
            "Content-Disposition: attachment; filename=data.bin",
            "Content-Transfer-Encoding: x-gzip64",
            body="H4sIAAAA",
        ),
    )

    message = parse(raw)

    assert message.parts[0].payload == b"H4sIAAAA"
    assert any("unknown transfer encoding 'x-gzip64'" in d for d in message.defects)


def test_a_part_over_the_size_cap_is_not_decoded_but_counted() -> None:
    data = bytes(range(256)) * 8192  # 2 MiB
    encoded = base64.encodebytes(data).decode()
    raw = multipart(
        "big",
        part("Content-Type: text/plain", body="large file attached"),
        part(
            "Content-Type: application/zip",
            "Content-Disposition: attachment; filename=big.zip",
            "Content-Transfer-Encoding: base64",
            body=encoded,
        ),
    )

    capped = parse(raw, max_part_bytes=1024 * 1024)
    uncapped = parse(raw)

    big = capped.parts[0]
    assert (big.filename, big.payload) == ("big.zip", b"")
    assert abs(big.size - len(data)) < len(data) // 50
    assert "attachment big.zip is larger than 1 MB; it was not kept" in capped.defects
    assert uncapped.parts[0].payload == data


DSN = multipart(
    "dsn",
    part("Content-Type: text/plain", body="Your message could not be delivered."),
    part(
        "Content-Type: message/delivery-status",
        body=(
            "Reporting-MTA: dns; mx.example.net\r\n\r\n"
            "Final-Recipient: rfc822; gone@example.net\r\n"
            "Action: failed\r\nStatus: 5.1.1\r\n"
            "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
        ),
    ),
    part(
        "Content-Type: message/rfc822",
        body=(
            "Message-ID: <reply-42@Desk.Example>\r\nFrom: support@desk.example\r\n"
            "Subject: Your ticket\r\n\r\nHello"
        ),
    ),
    subtype="report; report-type=delivery-status",
    head=("Return-Path: <>", "Subject: Undelivered Mail Returned to Sender"),
)


def test_a_delivery_status_notification_names_the_original_message_and_each_recipient() -> None:
    message = parse(DSN)

    assert message.is_report is True
    assert message.return_path == ""
    assert message.report is not None
    assert message.report.report_type == "delivery-status"
    assert message.report.original_message_id == "reply-42@desk.example"
    [recipient] = message.report.recipients
    assert (recipient.recipient, recipient.action, recipient.status) == (
        "gone@example.net",
        "failed",
        "5.1.1",
    )
    assert "user unknown" in recipient.diagnostic
    assert message.text == "Your message could not be delivered."
    assert [p.filename for p in message.parts] == ["Your ticket.eml"]


def test_a_report_with_only_the_original_headers_still_names_the_original_message() -> None:
    raw = multipart(
        "r",
        part("Content-Type: text/plain", body="Delivery failed"),
        part(
            "Content-Type: message/delivery-status",
            body="Final-Recipient: rfc822; x@example.net\r\nAction: delayed\r\nStatus: 4.4.1\r\n",
        ),
        part("Content-Type: text/rfc822-headers", body="Message-ID: <orig@desk.example>\r\n"),
        subtype="report; report-type=delivery-status",
    )

    message = parse(raw)

    assert message.report is not None
    assert message.report.original_message_id == "orig@desk.example"
    assert message.report.recipients[0].action == "delayed"


def test_an_attached_message_becomes_an_eml_part_named_after_its_subject() -> None:
    raw = multipart(
        "fwd",
        part("Content-Type: text/plain", body="Forwarding this."),
        part(
            "Content-Type: message/rfc822",
            body="Subject: =?utf-8?q?Invoice_=E2=82=AC?=\r\nFrom: x@example.com\r\n\r\nPay",
        ),
    )

    message = parse(raw)

    assert message.text == "Forwarding this."
    [attached] = message.parts
    assert (attached.filename, attached.content_type) == ("Invoice €.eml", "message/rfc822")
    assert b"Pay" in attached.payload
    assert message.report is None


def test_a_reply_separates_the_new_text_from_the_quoted_history() -> None:
    raw = eml(
        "From: customer@example.com",
        "Message-ID: <r@example.com>",
        "Content-Type: text/plain; charset=utf-8",
        "",
        "Thanks, that fixed it.",
        "",
        "On Tue, Dec 3, 2024 at 10:00 AM Support <support@desk.example> wrote:",
        f"> {REPLY_MARKER}",
        "> Please restart the app.",
    )

    message = parse(raw)

    assert message.visible_text == "Thanks, that fixed it."
    assert message.quoted_text.startswith("On Tue, Dec 3, 2024")
    assert REPLY_MARKER in message.quoted_text
    assert REPLY_MARKER in message.text  # the full message is kept


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Tue, 03 Dec 2024 10:00:00 -0000", datetime(2024, 12, 3, 10, 0, tzinfo=UTC)),
        ("3 Dec 2024 10:00 GMT", datetime(2024, 12, 3, 10, 0, tzinfo=UTC)),
        ("yesterday at noon", None),
        ("Tue, 99 Dec 2024 99:99:99 +0000", None),
    ],
)
def test_dates_are_aware_or_missing_never_naive(value: str, expected: datetime | None) -> None:
    message = parse(eml("From: a@example.com", f"Date: {value}", "", "x"))

    assert message.date == expected
    if expected is None:
        assert any("Date header" in d for d in message.defects)
    else:
        assert message.date is not None
        assert message.date.tzinfo is not None


def test_a_multipart_without_its_boundary_keeps_its_text_and_reports_the_problem() -> None:
    raw = eml(
        "From: a@example.com",
        "Content-Type: multipart/mixed",
        "",
        "--lost",
        "Content-Type: text/plain",
        "",
        "the text",
    )

    message = parse(raw)

    assert "the text" in message.text
    assert any("no boundary" in d for d in message.defects)


def test_pathologically_nested_multiparts_are_not_followed() -> None:
    depth = 400
    lines = ["From: a@example.com"]
    for level in range(depth):
        lines += [f'Content-Type: multipart/mixed; boundary="b{level}"', "", f"--b{level}"]
    lines += ["Content-Type: text/plain", "", "deep"]
    raw = eml(*lines)

    message = parse(raw)

    assert any("nested" in d for d in message.defects)
    assert "deep" in message.text


def test_headers_are_bounded_in_number_and_length_without_losing_the_last_ones() -> None:
    raw = eml(
        "From: a@example.com",
        "X-Long: " + "a" * 20_000,
        *[f"Received: from host{i}" for i in range(600)],
        *[f"X-Filler-{i}: x" for i in range(500)],
        "Auto-Submitted: auto-replied",
        *[f"X-More-{i}: x" for i in range(1_000)],
        "",
        "body",
    )

    message = parse(raw)

    assert len(message.headers["x-long"][0]) == 8192
    assert len(message.headers["received"]) == 100
    assert message.header("auto-submitted") == "auto-replied"
    assert sum(len(values) for values in message.headers.values()) == 1000
    assert "the message has more than 100 received headers" in message.defects
    assert "the message has more than 1000 header lines" in message.defects


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe garbage \r\n\r\n\x00",
        b"From: <<<>>>@@@\r\nTo: ,,,;;;\r\nCc: (((((((((\r\n\r\n",
        b"Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n--\r\n",
        b"Content-Type: message/rfc822\r\n\r\nContent-Type: message/rfc822\r\n\r\n",
        b"Content-Type: text/plain; charset=base64\r\n\r\nabc",
        b"Content-Type: text/plain; charset*=rot13''x\r\n\r\nabc",
        b"Subject: =?utf-8?b?####?= =?x?q?=ZZ?=\r\n\r\n",
    ],
)
def test_garbage_never_raises_and_always_has_an_id(raw: bytes) -> None:
    message = parse(raw)

    assert message.message_id
    assert message.size == len(raw)
    assert "\x00" not in message.text + message.subject


@pytest.mark.parametrize(
    "value",
    [
        "Re: hello\r\nBcc: victim@example.com",
        "Re: hello\nX-Injected: 1",
        "Re: hello\rX-Injected: 1",
        "tab\there\x00nul\x0bvt\u2028line separator\x85next line",
    ],
)
def test_safe_header_values_never_contain_line_breaks_or_controls(value: str) -> None:
    safe = safe_header_value(value)

    assert not any(ch in safe for ch in "\r\n\t\x00\x0b\x85\u2028")
    assert safe.startswith(value.split("\r")[0].split("\n")[0].split("\t")[0])


def test_a_references_header_keeps_the_root_and_the_latest_ids_when_too_long() -> None:
    value = " ".join(f"<id{i}@example.com>" for i in range(150))

    ids = message_id_list(value)

    assert len(ids) == 100
    assert ids[0] == "id0@example.com"
    assert ids[-1] == "id149@example.com"


@pytest.mark.parametrize(
    ("raw", "defect"),
    [
        (
            b'Content-Type: multipart/mixed; boundary="b'
            + b";" * 60_000
            + b'"\r\n\r\n--b\r\n\r\nx',
            "a Content-Type header longer than 8192 bytes was cut",
        ),
        (b"Cc: " + b'"' * 30_001 + b"\r\n\r\nx", "the cc header is longer than 8192 characters"),
        (b"To: " + b"a@b.c, " * 5_000 + b"\r\n\r\nx", "the to header is longer than 8192"),
        (b"Subject: " + b"=?utf-8?q?a?= " * 60_000 + b"\r\n\r\nx", "the subject header is longer"),
        (
            b"".join(
                b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
                for i in range(60)
            )
            + b"Content-Type: text/plain\r\n\r\n"
            + b"line\r\n" * 200_000,
            "more than is followed; its body is kept as plain text",
        ),
    ],
    ids=["semicolons-in-content-type", "quotes-in-cc", "long-to", "encoded-words", "deep-and-long"],
)
def test_inputs_that_make_the_standard_parsers_quadratic_are_cut_first(
    raw: bytes, defect: str
) -> None:
    with hang_guard():
        message = parse(raw)

    assert any(defect in d for d in message.defects), message.defects


def test_deeply_nested_html_keeps_only_its_text() -> None:
    raw = b"Content-Type: text/html\r\n\r\n" + b"<div>" * 5_000 + b"hello &amp; bye" + b"</div>"

    with hang_guard():
        message = parse(raw)

    assert message.html is None
    assert message.text == "hello & bye"
    assert any("nested more than 200 levels" in d for d in message.defects)


def test_many_recipients_are_all_read() -> None:
    recipients = ", ".join(f'"User {i}" <user{i}@example.com>' for i in range(200))

    message = parse(f"From: a@example.com\r\nTo: {recipients}\r\n\r\nx".encode())

    assert len(message.to) == 200
    assert (message.to[199].name, message.to[199].email) == ("User 199", "user199@example.com")
