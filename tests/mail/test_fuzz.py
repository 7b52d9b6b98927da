"""The parser never raises and never hangs: random bytes, broken corpus messages, random MIME."""

from __future__ import annotations

from email import policy as email_policy
from email.parser import HeaderParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deskbase.mail.parse import Address, ParsedMessage, _email, parse, simple_address
from deskbase.mail.quotes import split_reply
from tests.mail.corpus import (
    CORPUS,
    hang_guard,
)

SAMPLES = sorted((CORPUS / "mail-parser").rglob("*.eml"))
FUZZ = settings(
    max_examples=200,
    deadline=None,  # a hang is caught by the guard below, not by a timing threshold
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def parsed(raw: bytes, max_part_bytes: int | None = None) -> ParsedMessage:
    with hang_guard():
        message = parse(raw, max_part_bytes=max_part_bytes)
    assert not any(d.startswith("the message could not be parsed") for d in message.defects), (
        message.defects
    )
    assert message.message_id
    assert message.size == len(raw)
    for text in (message.text, message.subject, message.visible_text, message.quoted_text):
        assert "\x00" not in text
        text.encode("utf-8")  # storable: no lone surrogates
    for part in message.parts:
        assert part.filename
        assert max_part_bytes is None or len(part.payload) <= max_part_bytes
    if message.text.strip():
        assert message.visible_text.strip()
    return message


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes_never_break_the_parser(raw: bytes) -> None:
    parsed(raw)


@FUZZ
@given(st.text(max_size=2000))
def test_random_text_never_breaks_quote_stripping(text: str) -> None:
    with hang_guard():
        visible, _quoted = split_reply(text)
    if text.strip():
        assert visible.strip()


MUTATIONS = st.lists(
    st.tuples(
        st.sampled_from(["insert", "delete", "replace", "truncate", "duplicate"]),
        st.floats(min_value=0, max_value=1),
        st.binary(min_size=1, max_size=40)
        | st.sampled_from(
            [b"\r\n", b"\r\n\r\n", b"--", b"=?", b"?=", b"\x00", b"\xff\xfe", b"boundary=", b";"]
        ),
    ),
    min_size=1,
    max_size=6,
)


def mutate(raw: bytes, mutations: list[tuple[str, float, bytes]]) -> bytes:
    for kind, where, chunk in mutations:
        at = int(where * len(raw))
        if kind == "insert":
            raw = raw[:at] + chunk + raw[at:]
        elif kind == "delete":
            raw = raw[:at] + raw[at + len(chunk) :]
        elif kind == "replace":
            raw = raw[:at] + chunk + raw[at + len(chunk) :]
        elif kind == "truncate":
            raw = raw[:at]
        else:
            raw = raw[:at] + raw[at : at + 200] * 3 + raw[at + 200 :]
    return raw


@pytest.mark.skipif(not SAMPLES, reason=f"the e-mail corpus is not at {CORPUS}")
@FUZZ
@given(st.sampled_from(SAMPLES or [Path("/dev/null")]), MUTATIONS)
def test_mutated_corpus_messages_never_break_the_parser(
    path: Path, mutations: list[tuple[str, float, bytes]]
) -> None:
    parsed(mutate(path.read_bytes(), mutations), max_part_bytes=4096)


CONTENT_TYPES = st.sampled_from(
    [
        "text/plain",
        "text/html",
        "text/rfc822-headers",
        "application/octet-stream",
        "application/ms-tnef",
        "image/png",
        "message/delivery-status",
        "text/x-unknown",
        "",
        "garbage",
    ]
)
CHARSETS = st.sampled_from(
    ["utf-8", "us-ascii", "iso-8859-1", "x-unknown", "utf-7", "base64", "rot13", "gb2312", ""]
)
ENCODINGS = st.sampled_from(["", "7bit", "8bit", "base64", "quoted-printable", "x-uue", "x-zip"])
HEADER_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
    max_size=60,
) | st.sampled_from(
    ["=?utf-8?q?caf=C3=A9?=", "=?x?b?####?=", "<a@b>", '"q" <x@y.z>, ;', "(((", "a@", ""]
)


@st.composite
def leaves(draw: st.DrawFn) -> bytes:
    content_type = draw(CONTENT_TYPES)
    lines = [
        f'Content-Type: {content_type}; charset={draw(CHARSETS)}; name="{draw(HEADER_TEXT)}"',
        f"Content-Transfer-Encoding: {draw(ENCODINGS)}",
    ]
    if draw(st.booleans()):
        lines.append(f"Content-Disposition: {draw(st.sampled_from(['inline', 'attachment']))}")
    if draw(st.booleans()):
        lines.append(f"Content-ID: <{draw(HEADER_TEXT)}>")
    head = "\r\n".join(lines).encode("utf-8", "replace")
    return head + b"\r\n\r\n" + draw(st.binary(max_size=300))


def containers(children: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        subtype = draw(
            st.sampled_from(["mixed", "alternative", "related", "report", "digest", "rfc822"])
        )
        if subtype == "rfc822":
            inner = draw(children)
            return b"Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n" + inner
        boundary = draw(st.sampled_from(["b", "=_x", "a b", "--", "x" * 80]))
        body = b"".join(
            b"--" + boundary.encode() + b"\r\n" + child + b"\r\n"
            for child in draw(st.lists(children, max_size=4))
        )
        closing = b"--" + boundary.encode() + b"--\r\n" if draw(st.booleans()) else b""
        head = f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\n'.encode()
        return head + body + closing

    return build()


MIME_TREES = st.recursive(leaves(), containers, max_leaves=12)


@FUZZ
@given(MIME_TREES, HEADER_TEXT, HEADER_TEXT, HEADER_TEXT)
def test_random_mime_trees_never_break_the_parser(
    tree: bytes, sender: str, subject: str, message_id: str
) -> None:
    head = (
        f"From: {sender}\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\nMIME-Version: 1.0\r\n"
    )
    parsed(head.encode("utf-8", "replace") + tree, max_part_bytes=128)


# ------------------------------------------------------------------ the plain-address path
def strictly(value: str) -> list[Address]:
    """What the standard library's RFC 5322 parser reads (the path for everything else)."""
    header = email_policy.default.header_factory("from", value)
    return [
        Address(
            name=" ".join(found.display_name.split()), email=_email(found.username, found.domain)
        )
        for found in header.addresses
    ]


ATOM_CHARS = st.sampled_from(list("abcXYZ019!#$%&'*+/=?^_`{|}~-"))
ATOMS = st.text(ATOM_CHARS, min_size=1, max_size=6)
SPACE = st.sampled_from(["", " ", "  ", "\t"])
ADDRESSES = st.builds(
    lambda local, domain: f"{'.'.join(local)}@{'.'.join(domain)}",
    st.lists(ATOMS, min_size=1, max_size=3),
    st.lists(st.from_regex(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,4}[A-Za-z0-9])?", fullmatch=True),
             min_size=1, max_size=3),
)  # fmt: skip
PLAIN = st.one_of(
    st.builds(lambda a, b, c: f"{a}{b}{c}", SPACE, ADDRESSES, SPACE),
    st.builds(
        lambda a, name, b, address, c: f"{a}{' '.join(name)}{b}<{address}>{c}",
        SPACE, st.lists(ATOMS, min_size=0, max_size=4), SPACE, ADDRESSES, SPACE,
    ),
)  # fmt: skip
NEAR_MISSES = st.builds(
    lambda value, position, extra: value[:position] + extra + value[position:],
    PLAIN, st.integers(0, 60), st.sampled_from(['"', "(", ")", ",", ";", ":", "\\", ".", "=?",
                                                "é", "\r\n ", "<", ">", "@", "[", "]"]),
)  # fmt: skip


@FUZZ
@given(st.one_of(PLAIN, NEAR_MISSES, st.text(max_size=80)))
def test_the_plain_address_path_reads_what_the_full_parser_reads(value: str) -> None:
    # Given any header value, when the plain-address path takes it,
    # then the full RFC 5322 parser reads the same one address from it.
    simple = simple_address(value)
    if simple is not None:
        assert strictly(value) == [simple]


def test_the_plain_address_path_takes_the_common_forms() -> None:
    assert simple_address("jane@Example.COM") == Address("", "jane@example.com")
    assert simple_address("Jane  Doe <jane.doe+x@mail.example.com>") == Address(
        "Jane Doe", "jane.doe+x@mail.example.com"
    )
    others = [
        '"Doe, Jane" <j@x.example>',
        "=?utf-8?q?J=C3=A9?= <j@x.example>",
        "a@x.example, b@x.example",
        "Jane (work) <j@x.example>",
        "Jé <j@x.example>",
    ]
    for value in others:
        assert simple_address(value) is None, value


def test_every_corpus_address_the_plain_path_takes_reads_alike() -> None:
    # Given the From, To and Cc values of every corpus message
    values = []
    for path in sorted(CORPUS.rglob("*.eml")):
        headers = HeaderParser(policy=email_policy.compat32).parsestr(
            path.read_bytes().decode("utf-8", "surrogateescape")
        )
        for name in ("from", "to", "cc", "reply-to"):
            values += [str(v) for v in headers.get_all(name) or [] if isinstance(v, str)]
    taken = [value for value in values if simple_address(value) is not None]
    # Then the plain path takes most of them and reads each as the full parser does
    assert len(taken) > len(values) // 3
    for value in taken:
        assert strictly(value) == [simple_address(value)], value
