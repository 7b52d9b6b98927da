"""Raw e-mail bytes in, a `ParsedMessage` out; never raises, never hangs (docs/mail-parsing.md).

The MIME work is the standard library's (`email` with `email.policy.default`); what is here
decides what to keep, falls back where a header or a part is broken, and writes down each
problem found as a sentence in `ParsedMessage.defects`. Nothing touches the database.
"""

from __future__ import annotations

import binascii
import codecs
import contextlib
import hashlib
import html as html_lib
import mimetypes
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import errors as email_errors
from email import policy as email_policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser, HeaderParser
from email.utils import getaddresses, parsedate_to_datetime
from urllib.parse import urlsplit

import nh3

from deskbase.core.sanitize import (
    ALLOWED_TAGS,
    DROPPED_WITH_CONTENT,
    LINK_REL,
    LINK_SCHEMES,
    html_to_text,
)
from deskbase.mail.headers import message_id_list, normalize_message_id
from deskbase.mail.quotes import split_reply

# Bounds that keep the work linear and the result small, whatever the input.
MAX_NESTED_STRUCTURES = 100  # multipart/* and message/* declarations followed
# The standard parser checks every line against each open boundary: declarations times
# lines is its work. Past this budget the body is kept as plain text instead.
MAX_BOUNDARY_WORK = 5_000_000
MAX_STRUCTURED_HEADER_BYTES = 8_192  # Content-Type/-Disposition longer than this are cut
MAX_HTML_DEPTH = 200  # nesting the HTML sanitizer is given (its work grows with depth²)
MAX_HTML_TO_TEXT_CHARS = 262_144  # larger HTML bodies get their text by stripping the tags
MAX_DEPTH = 20  # nesting levels walked for bodies and attachments
MAX_PARTS = 500
MAX_HEADER_VALUES = 1_000  # values kept in ParsedMessage.headers
MAX_VALUES_PER_HEADER = 100  # so that 600 Received lines cannot push Auto-Submitted out
MAX_HEADER_CHARS = 8_192  # characters kept per header value
MAX_PARSED_HEADER_CHARS = 16_384  # longer address/date values are cut before parsing
# The modern address parser is exact but slows down quadratically on some inputs (thousands
# of quotes or commas): longer values go through the older, linear one.
MAX_STRICT_ADDRESS_CHARS = 1_000
MAX_ADDRESSES = 500
MAX_DEFECTS = 100
MAX_FILENAME_BYTES = 200

GENERATED_ID_DOMAIN = "generated.deskbase.invalid"

# One address, bare or in angle brackets after a display name of plain words: what
# nearly every From and To carries. Such a value is read with this expression instead of
# the standard library's RFC 5322 parser (about a quarter of a millisecond a header);
# anything else (quoted or encoded names, comments, groups, several addresses, non-ASCII)
# goes to that parser. tests/mail/test_fuzz.py checks both read it alike.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_PLAIN_ADDRESS = rf"(?P<local>{_ATOM}(?:\.{_ATOM})*)@(?P<domain>{_LABEL}(?:\.{_LABEL})*)"
_SIMPLE_ADDRESS = re.compile(
    rf"[ \t]*(?:(?P<name>{_ATOM}(?:[ \t]+{_ATOM})*)[ \t]*)?<{_PLAIN_ADDRESS}>[ \t]*"
)
_BARE_ADDRESS = re.compile(rf"[ \t]*{_PLAIN_ADDRESS}[ \t]*")
_SURROGATES = re.compile(r"[\udc80-\udcff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FILENAME_FORBIDDEN = re.compile(r'[\x00-\x1f\x7f<>:"|?*]')
_NESTED_STRUCTURE = re.compile(rb"(?i)content-type[ \t]*:[ \t\r\n]*\"?(?:multipart|message)/")
_STRUCTURED_HEADER = re.compile(rb"(?im)^content-(?:type|disposition)[ \t]*:")
_HTML_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)\b[^<>]*?(/?)>")
# Elements that never nest (void) or whose end tag may be left out (HTML closes them).
_FLAT_ELEMENTS = frozenset(
    {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
        "source", "track", "wbr", "p", "li", "td", "th", "tr", "dt", "dd", "option", "optgroup",
        "thead", "tbody", "tfoot", "colgroup", "caption", "rp", "rt", "html", "head", "body",
    }
)  # fmt: skip
_UU_BEGIN = re.compile(r"^begin(?:-base64)? +[0-7]{3,4} +(\S.*?)\s*$")
_TRANSFER_ENCODINGS = frozenset(
    {"", "7bit", "8bit", "binary", "base64", "quoted-printable"}
    | {"x-uuencode", "uuencode", "uue", "x-uue"}
)
# Charsets that mailers declare while sending their superset (Outlook's "gb2312" is GBK...).
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "utf-8",
    "ascii": "utf-8",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "iso-8859-8-i": "iso-8859-8",
    "tis-620": "cp874",
    "windows-874": "cp874",
}
# Python's own table only: the machine's /etc/mime.types would make names differ between hosts.
_MIME_TYPES = mimetypes.MimeTypes()
_TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})
_MAIL_TAGS = ALLOWED_TAGS | {"img", "div", "span", "hr"}
_MAIL_DROPPED_WITH_CONTENT = DROPPED_WITH_CONTENT | {"head", "title"}
_REPORT_SENDERS = ("mailer-daemon", "postmaster", "mail-daemon", "mailer_daemon")


@dataclass
class Address:
    name: str
    email: str  # domain lower-cased; "" when the address could not be read


@dataclass
class Part:
    """An attachment or an inline image."""

    filename: str  # decoded and sanitized, never empty
    content_type: str  # as declared, lower-case
    content_id: str | None  # without <>, what a cid: URL names
    inline: bool
    payload: bytes  # decoded; empty when the part was larger than the cap
    size: int  # of the decoded payload (estimated when not decoded)


@dataclass
class RecipientStatus:
    """One recipient's lines of a delivery status notification (RFC 3464)."""

    recipient: str
    action: str  # failed, delayed, delivered, relayed, expanded (lower-case)
    status: str  # e.g. 5.1.1
    diagnostic: str


@dataclass
class DeliveryReport:
    """What a multipart/report (or a classic bounce) says about the message it answers."""

    report_type: str  # delivery-status, disposition-notification, or "" for a classic bounce
    original_message_id: str | None
    recipients: list[RecipientStatus] = field(default_factory=list)


@dataclass
class ParsedMessage:
    message_id: str = ""
    generated_message_id: bool = False
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    thread_index: str | None = None
    subject: str = ""
    from_: Address | None = None
    reply_to: list[Address] = field(default_factory=list)
    to: list[Address] = field(default_factory=list)
    cc: list[Address] = field(default_factory=list)
    date: datetime | None = None
    return_path: str | None = None
    headers: dict[str, list[str]] = field(default_factory=dict)
    text: str = ""
    html: str | None = None
    visible_text: str = ""
    quoted_text: str = ""
    parts: list[Part] = field(default_factory=list)
    size: int = 0
    defects: list[str] = field(default_factory=list)
    is_report: bool = False
    report: DeliveryReport | None = None

    def header(self, name: str) -> str | None:
        """The first value of header `name` (any case), or None."""
        values = self.headers.get(name.lower())
        return values[0] if values else None


def parse(raw: bytes, *, max_part_bytes: int | None = None) -> ParsedMessage:
    """Everything the mail channel needs from one raw message; problems end up in `defects`."""
    data = bytes(raw) if not isinstance(raw, bytes) else raw
    try:
        return _Parser(data, max_part_bytes).run()
    except Exception as exc:  # the last guard: a message is never lost to a parser bug
        return _unreadable(data, exc)


def generated_message_id(raw: bytes) -> str:
    """The deterministic id given to a message without a valid Message-ID: same bytes, same id."""
    return f"{hashlib.sha256(raw).hexdigest()[:32]}@{GENERATED_ID_DOMAIN}"


def sanitize_mail_html(html: str) -> str:
    """The project's HTML allowlist plus images that point at the message's own parts (cid:)."""
    if not html:
        return ""
    return nh3.clean(
        html,
        tags=set(_MAIL_TAGS),
        clean_content_tags=set(_MAIL_DROPPED_WITH_CONTENT),
        attributes={"*": set(), "a": {"href", "title"}, "img": {"src", "alt"}},
        attribute_filter=_mail_attribute,
        url_schemes=set(LINK_SCHEMES) | {"cid"},
        link_rel=LINK_REL,
        strip_comments=True,
    )


def _mail_attribute(tag: str, attribute: str, value: str) -> str | None:
    """Links only to http(s)/mailto; images only from the message itself (no tracking pixels)."""
    scheme = urlsplit(value.strip()).scheme.lower()
    if tag == "img" and attribute == "src":
        return value if scheme == "cid" else None
    if tag == "a" and attribute == "href":
        return value if scheme in LINK_SCHEMES else None
    return value


# --- text helpers ---------------------------------------------------------------------------


def clean_text(value: str) -> str:
    """`value` safe to store: stray 8-bit bytes decoded, no NUL or other control characters."""
    if _SURROGATES.search(value):
        data = value.encode("utf-8", "surrogateescape")
        value, _ = decode_bytes(data, None)
    if "\x00" in value or _CONTROL.search(value):
        value = _CONTROL.sub("", value)
    return value


def decode_bytes(data: bytes, charset: str | None) -> tuple[str, str | None]:
    """(text, the encoding used when not the declared one): declared, utf-8, cp1252, latin-1."""
    declared = (charset or "").strip().strip('"').lower()
    tries: list[str] = []
    if declared and _is_text_codec(declared):
        superset = _SUPERSETS.get(declared)
        if superset:  # what the sender most likely meant (as browsers do)
            tries.append(superset)
        tries.append(declared)
    tries += ["utf-8", "cp1252"]
    for encoding in tries:
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        used = (
            None if encoding in (declared, _SUPERSETS.get(declared)) or not declared else encoding
        )
        return text, used
    return data.decode("latin-1"), "latin-1"


def _is_text_codec(name: str) -> bool:
    try:
        return codecs.lookup(name)._is_text_encoding
    except (LookupError, ValueError, TypeError):
        return False


def _one_line(value: str) -> str:
    return " ".join(value.split())


def decode_header_text(value: str) -> str:
    """A header value as text: RFC 2047 encoded words decoded, 8-bit bytes guessed, unfolded."""
    value = clean_text(value)
    if "=?" in value:
        try:
            value = str(email_policy.default.header_factory("x-text", value))
        except Exception:
            with contextlib.suppress(Exception):  # else the encoded words stay as they are
                value = str(make_header(decode_header(value)))
        value = clean_text(value)
        if "=?" in value:
            value = _LOOSE_WORD.sub(_decode_loose_word, value)
    return _one_line(value)


_LOOSE_WORD = re.compile(r"=\?([^?\s]{1,40})\?([bBqQ])\?([^?]*)\?=")


def _decode_loose_word(match: re.Match[str]) -> str:
    """An encoded word the standard decoder left alone (8-bit bytes inside it, a bad charset)."""
    charset, kind, text = match.groups()
    charset = charset.split("*", 1)[0]  # RFC 2231 language suffix
    try:
        data = text.encode(charset if _is_text_codec(charset) else "utf-8", "replace")
        if kind in "bB":
            data = binascii.a2b_base64(data + b"===")
        else:
            data = binascii.a2b_qp(data, header=True)
    except (binascii.Error, ValueError, LookupError, UnicodeError):
        return match.group(0)
    return decode_bytes(data, charset)[0]


# --- the parser -----------------------------------------------------------------------------


@dataclass
class _Body:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)


class _Parser:
    def __init__(self, raw: bytes, max_part_bytes: int | None) -> None:
        self.raw = raw
        self.max_part_bytes = max_part_bytes
        self.result = ParsedMessage(size=len(raw))
        self.body = _Body()
        self.part_count = 0
        self.report_ids: list[str] = []

    def defect(self, sentence: str) -> None:
        if len(self.result.defects) < MAX_DEFECTS and sentence not in self.result.defects:
            self.result.defects.append(sentence)

    def run(self) -> ParsedMessage:
        message = self._message()
        self._headers(message)
        self._walk(message)
        self._finish_body()
        self._report(message)
        return self.result

    def _message(self) -> Message:
        if not self.raw.strip():
            self.defect("the message is empty")
        source = self._tamed()
        nested = 0
        for _ in _NESTED_STRUCTURE.finditer(source):
            nested += 1
            if nested > MAX_NESTED_STRUCTURES:
                break
        lines = source.count(b"\n") + 1
        if nested > MAX_NESTED_STRUCTURES or nested * lines > MAX_BOUNDARY_WORK:
            self.defect(
                f"the message declares {nested} nested parts over {lines} lines, more than "
                "is followed; its body is kept as plain text"
            )
            return self._headers_only(source)
        try:
            return BytesParser(policy=email_policy.compat32).parsebytes(source)
        except RecursionError:
            self.defect("the MIME structure is nested too deeply; the body is kept as plain text")
            return self._headers_only(source)

    def _tamed(self) -> bytes:
        """The raw bytes with over-long Content-Type/-Disposition headers cut.

        The standard library reads their parameters in quadratic time; a real header is
        never this long, and the untouched bytes stay what the message id is made from.
        """
        raw = self.raw
        pieces: list[bytes] = []
        position = 0
        for match in _STRUCTURED_HEADER.finditer(raw):
            start = match.start()
            if start < position:
                continue
            end = _header_end(raw, start)
            if end - start > MAX_STRUCTURED_HEADER_BYTES:
                name = match.group(0).rstrip(b": \t").decode("ascii", "replace")
                self.defect(
                    f"a {name} header longer than {MAX_STRUCTURED_HEADER_BYTES} bytes was cut"
                )
                pieces += [raw[position:start], raw[start : start + MAX_STRUCTURED_HEADER_BYTES]]
                position = end
        if not pieces:
            return raw
        pieces.append(raw[position:])
        return b"".join(pieces)

    def _headers_only(self, source: bytes) -> Message:
        message = BytesParser(policy=email_policy.compat32).parsebytes(source, headersonly=True)
        # A plain text body: the nested structure is not followed.
        del message["content-type"]
        del message["content-transfer-encoding"]
        return message

    # -- headers --

    def _raw_values(self, message: Message, name: str) -> list[str]:
        lowered = name.lower()
        try:
            return [value for key, value in message.raw_items() if key.lower() == lowered]
        except Exception:
            return []

    def _first(self, message: Message, name: str) -> str | None:
        values = self._raw_values(message, name)
        return values[0] if values else None

    def _headers(self, message: Message) -> None:
        result = self.result
        kept = 0
        for name, value in message.raw_items():
            key = clean_text(name).strip().lower()
            if kept >= MAX_HEADER_VALUES:
                self.defect(f"the message has more than {MAX_HEADER_VALUES} header lines")
                break
            if len(result.headers.get(key, ())) >= MAX_VALUES_PER_HEADER:
                self.defect(f"the message has more than {MAX_VALUES_PER_HEADER} {key} headers")
                continue
            kept += 1
            text = decode_header_text(value[: MAX_HEADER_CHARS * 2])
            if len(text) > MAX_HEADER_CHARS or len(value) > MAX_HEADER_CHARS * 2:
                self.defect(f"the {key} header is longer than {MAX_HEADER_CHARS} characters")
                text = text[:MAX_HEADER_CHARS]
            result.headers.setdefault(key, []).append(text)
        self._message_ids(message)
        subject = self._first(message, "subject")
        result.subject = decode_header_text(subject[:MAX_HEADER_CHARS]) if subject else ""
        senders = self._addresses(message, "from")
        result.from_ = senders[0] if senders else None
        if result.from_ is None or not result.from_.email:
            self.defect("the message has no readable From address")
        result.reply_to = self._addresses(message, "reply-to")
        result.to = self._addresses(message, "to")
        result.cc = self._addresses(message, "cc")
        result.date = self._date(message)
        result.return_path = self._return_path(message)
        thread_index = self._first(message, "thread-index")
        result.thread_index = _one_line(clean_text(thread_index)) or None if thread_index else None
        for defect in _defects_of(message):
            self.defect(f"headers: {defect}")

    def _message_ids(self, message: Message) -> None:
        result = self.result
        value = self._first(message, "message-id")
        normalized = normalize_message_id(clean_text(value)) if value else None
        if normalized is None:
            result.message_id = generated_message_id(self.raw)
            result.generated_message_id = True
            if value is None:
                self.defect("the message has no Message-ID; one was made from its bytes")
            else:
                shown = _one_line(clean_text(value))[:200]
                self.defect(f"the Message-ID {shown!r} is not valid; one was made from its bytes")
        else:
            result.message_id = normalized
        in_reply_to = self._first(message, "in-reply-to")
        result.in_reply_to = message_id_list(clean_text(in_reply_to)) if in_reply_to else []
        references = " ".join(self._raw_values(message, "references"))
        result.references = message_id_list(clean_text(references))

    def _addresses(self, message: Message, name: str) -> list[Address]:
        found: list[Address] = []
        for value in self._raw_values(message, name):
            value = clean_text(value)
            if len(value) > MAX_PARSED_HEADER_CHARS:
                self.defect(f"the {name} header is too long; only its start was read")
                value = value[:MAX_PARSED_HEADER_CHARS]
            found.extend(self._parse_addresses(name, value))
            if len(found) >= MAX_ADDRESSES:
                self.defect(f"the {name} header lists more than {MAX_ADDRESSES} addresses")
                return found[:MAX_ADDRESSES]
        return found

    def _parse_addresses(self, name: str, value: str) -> list[Address]:
        simple = simple_address(value)
        if simple is not None:
            return [simple]
        parsed: list[Address] | None = None
        if len(value) <= MAX_STRICT_ADDRESS_CHARS:
            try:
                header = email_policy.default.header_factory(name, value)
                parsed = [
                    Address(
                        name=clean_text(_one_line(address.display_name)),
                        email=_email(address.username, address.domain),
                    )
                    for address in header.addresses
                ]
            except Exception:
                parsed = None
        if parsed is None:
            try:
                pairs = getaddresses([value])
            except Exception:
                pairs = []
            parsed = []
            for display, addr in pairs:
                local, _, domain = addr.rpartition("@")
                parsed.append(
                    Address(name=decode_header_text(display), email=_email(local, domain))
                )
        if not parsed and value.strip() and "@" in value:
            self.defect(f"the {name} header {value[:200]!r} could not be read")
        return parsed

    def _date(self, message: Message) -> datetime | None:
        value = self._first(message, "date")
        if value is None:
            return None
        text = _one_line(clean_text(value))[:MAX_PARSED_HEADER_CHARS]
        try:
            parsed = parsedate_to_datetime(text)
        except Exception:
            parsed = None
        if parsed is None:
            self.defect(f"the Date header {text[:100]!r} could not be read")
            return None
        if parsed.tzinfo is None:  # "-0000": time zone unknown, read as UTC (RFC 5322 3.3)
            parsed = parsed.replace(tzinfo=UTC)
        return parsed

    def _return_path(self, message: Message) -> str | None:
        value = self._first(message, "return-path")
        if value is None:
            return None
        text = _one_line(clean_text(value))
        inner = re.search(r"<([^<>]*)>", text)
        address = (inner.group(1) if inner else text).strip()
        if not address:
            return ""
        local, at, domain = address.rpartition("@")
        return f"{local}@{domain.lower()}" if at else address

    # -- the MIME tree --

    def _walk(self, message: Message) -> None:
        stack: list[tuple[Message, int, str]] = [(message, 0, "")]
        while stack:
            part, depth, parent_type = stack.pop()
            self.part_count += 1
            if self.part_count > MAX_PARTS:
                self.defect(f"the message has more than {MAX_PARTS} parts; the rest were skipped")
                return
            content_type = _content_type(part)
            where = "the body" if depth == 0 else f"part {self.part_count} ({content_type})"
            if part is not message:
                for defect in _defects_of(part):
                    self.defect(f"{where}: {defect}")
            if content_type.startswith("message/"):
                self._message_part(part, content_type)
                continue
            payload = _safe_payload(part)
            if isinstance(payload, list):
                if depth >= MAX_DEPTH:
                    self.defect(f"{where} is nested deeper than {MAX_DEPTH} levels; skipped")
                    continue
                children = [child for child in payload if isinstance(child, Message)]
                if content_type == "multipart/alternative":
                    children = _best_alternatives(children)
                if content_type == "multipart/report":
                    self.result.is_report = True
                stack.extend((child, depth + 1, content_type) for child in reversed(children))
                continue
            if content_type.startswith("multipart/"):
                content_type = "text/plain"  # a multipart without a usable boundary: its text
            self._leaf(part, content_type, parent_type, where)

    def _leaf(self, part: Message, content_type: str, parent_type: str, where: str) -> None:
        disposition = _disposition(part)
        filename = _filename(part)
        is_body = (
            content_type in ("text/plain", "text/html")
            and disposition != "attachment"
            and not filename
        )
        if (
            not is_body
            and parent_type == "multipart/alternative"
            and content_type.startswith("text/")
            and content_type != "text/calendar"
        ):
            return  # text/enriched and such beside the plain and HTML versions
        encoding = _transfer_encoding(part)
        if encoding not in _TRANSFER_ENCODINGS:
            self.defect(
                f"{where} has the unknown transfer encoding {encoding!r}; kept as raw bytes"
            )
        estimated = _estimated_size(part, encoding)
        if self.max_part_bytes is not None and estimated > self.max_part_bytes:
            name = _part_name(filename, content_type, part, len(self.result.parts) + 1)
            self.defect(f"attachment {name} is larger than {self._cap()}; it was not kept")
            self.result.parts.append(
                Part(name, content_type, _content_id(part), disposition == "inline", b"", estimated)
            )
            return
        data = _decoded_payload(part)
        if content_type == "text/rfc822-headers":
            text, _ = decode_bytes(data, None)
            self._original_headers(text)
        if is_body:
            charset = _param(part, "charset")
            text, used = decode_bytes(data, charset)
            if used:
                self.defect(f"{where} is not valid {charset}; it was read as {used}")
            text = clean_text(text).replace("\r\n", "\n").replace("\r", "\n")
            (self.body.plain if content_type == "text/plain" else self.body.html).append(text)
            return
        self._add_part(part, content_type, disposition, filename, data)

    def _add_part(
        self,
        part: Message,
        content_type: str,
        disposition: str | None,
        filename: str,
        data: bytes,
    ) -> None:
        content_id = _content_id(part)
        inline = disposition == "inline" or (disposition is None and content_id is not None)
        name = _part_name(filename, content_type, part, len(self.result.parts) + 1)
        self._append(Part(name, content_type, content_id, inline, data, len(data)))

    def _append(self, part: Part) -> None:
        """Keep a decoded part, or only its name and size when it exceeds the cap.

        The cap is checked on the declared size before decoding where possible; this is
        the check on what decoding really produced (uuencoded blocks, lying sizes).
        """
        if self.max_part_bytes is not None and part.size > self.max_part_bytes:
            self.defect(f"attachment {part.filename} is larger than {self._cap()}; it was not kept")
            part.payload = b""
        self.result.parts.append(part)

    def _cap(self) -> str:
        megabytes = f"{(self.max_part_bytes or 0) / (1024 * 1024):.1f}".removesuffix(".0")
        return f"{megabytes} MB"

    def _message_part(self, part: Message, content_type: str) -> None:
        """message/rfc822 becomes an .eml attachment; report parts are read for the report."""
        payload = _safe_payload(part)
        enclosed = (
            [item for item in payload if isinstance(item, Message)]
            if isinstance(payload, list)
            else []
        )
        if content_type in ("message/delivery-status", "message/disposition-notification"):
            self._status_blocks(enclosed, part)
            return
        if not enclosed:
            data = _decoded_payload(part)
            self._add_part(part, content_type, _disposition(part), _filename(part), data)
            return
        inner = enclosed[0]
        message_id = self._first(inner, "message-id")
        normalized = normalize_message_id(clean_text(message_id)) if message_id else None
        if normalized:
            self.report_ids.append(normalized)
        data = _as_bytes(inner)
        filename = _filename(part)
        if not filename:
            subject = decode_header_text((self._first(inner, "subject") or "")[:1000])
            filename = f"{subject[:80] or 'message'}.eml"
        if self.max_part_bytes is not None and len(data) > self.max_part_bytes:
            name = _safe_filename(filename) or "message.eml"
            self.defect(f"attachment {name} is larger than {self._cap()}; it was not kept")
            self.result.parts.append(
                Part(name, "message/rfc822", _content_id(part), False, b"", len(data))
            )
            return
        self._add_part(part, "message/rfc822", _disposition(part), filename, data)

    def _status_blocks(self, blocks: list[Message], part: Message) -> None:
        if not blocks:  # not split into blocks by the parser: read the text ourselves
            text, _ = decode_bytes(_decoded_payload(part), None)
            blocks = [
                HeaderParser(policy=email_policy.compat32).parsestr(chunk.strip() + "\n")
                for chunk in re.split(r"\r?\n[ \t]*\r?\n", text)[:MAX_ADDRESSES]
                if chunk.strip()
            ]
        report = self._ensure_report(_content_type(part).split("/", 1)[1])
        for block in blocks[:MAX_ADDRESSES]:
            fields = {
                clean_text(k).lower(): decode_header_text(v[:MAX_HEADER_CHARS])
                for k, v in block.raw_items()
            }
            original = fields.get("original-message-id")
            normalized = normalize_message_id(original) if original else None
            if normalized:
                self.report_ids.append(normalized)
            recipient = fields.get("final-recipient") or fields.get("original-recipient")
            if recipient or "action" in fields or "disposition" in fields:
                address = (recipient or "").split(";", 1)[-1].strip()
                report.recipients.append(
                    RecipientStatus(
                        recipient=address,
                        action=(fields.get("action") or fields.get("disposition") or "").lower(),
                        status=fields.get("status", ""),
                        diagnostic=fields.get("diagnostic-code", ""),
                    )
                )

    def _original_headers(self, text: str) -> None:
        try:
            headers = HeaderParser(policy=email_policy.compat32).parsestr(text, headersonly=True)
            value = headers.get("message-id")
        except Exception:
            value = None
        normalized = normalize_message_id(clean_text(str(value))) if value else None
        if normalized:
            self.report_ids.append(normalized)

    def _ensure_report(self, report_type: str) -> DeliveryReport:
        if self.result.report is None:
            self.result.report = DeliveryReport(report_type=report_type, original_message_id=None)
        return self.result.report

    # -- body and report --

    def _finish_body(self) -> None:
        result = self.result
        plain = "\n\n".join(text.strip("\n") for text in self.body.plain if text.strip())
        html_source = "\n".join(self.body.html)
        if plain and "begin " in plain:
            plain = self._uudecode(plain)
        if html_source.strip() and _html_depth(html_source) > MAX_HTML_DEPTH:
            self.defect(
                f"the HTML body is nested more than {MAX_HTML_DEPTH} levels deep; "
                "only its text is kept"
            )
            if not plain:
                plain = _strip_tags(html_source)
            html_source = ""
        result.html = sanitize_mail_html(html_source) if html_source.strip() else None
        if plain:
            result.text = plain
        elif len(html_source) > MAX_HTML_TO_TEXT_CHARS:
            result.text = _strip_tags(html_source)
        elif html_source.strip():
            result.text = html_to_text(html_source)
        result.visible_text, result.quoted_text = split_reply(result.text, result.html)

    def _uudecode(self, text: str) -> str:
        kept, blocks = _extract_uuencoded(text)
        for name, data, complete in blocks:
            if not complete:
                self.defect(f"the uuencoded file {name} has no end line; it may be cut short")
            filename = _safe_filename(name)
            part_type = _MIME_TYPES.guess_type(filename)[0] or "application/octet-stream"
            self._add_part_plain(filename, part_type, data)
        return kept

    def _add_part_plain(self, filename: str, content_type: str, data: bytes) -> None:
        index = len(self.result.parts) + 1
        name = filename or f"attachment-{index}.bin"
        self._append(Part(name, content_type, None, False, data, len(data)))

    def _report(self, message: Message) -> None:
        result = self.result
        report_type = _param(message, "report-type") if result.is_report else None
        if result.is_report:
            report = self._ensure_report((report_type or "").lower())
            if report_type:
                report.report_type = report_type.lower()
        elif self.report_ids and _from_mail_system(result):
            self._ensure_report("")  # a classic bounce with the original attached
        if result.report is None:
            return
        original = self.report_ids[0] if self.report_ids else None
        for name in ("original-message-id", "x-original-message-id"):
            value = result.header(name)
            if original is None and value:
                original = normalize_message_id(value)
        result.report.original_message_id = original


def _header_end(raw: bytes, start: int) -> int:
    """Where the header starting at `start` ends: after its last continuation line."""
    end = raw.find(b"\n", start)
    while end != -1 and raw[end + 1 : end + 2] in (b" ", b"\t"):
        end = raw.find(b"\n", end + 1)
    return len(raw) if end == -1 else end + 1


def _html_depth(html: str) -> int:
    """How deeply the HTML's elements nest, counted cheaply from its tags."""
    depth = deepest = 0
    for closing, tag, self_closing in _HTML_TAG.findall(html):
        if tag.lower() in _FLAT_ELEMENTS or self_closing:
            continue
        if closing:
            depth = max(0, depth - 1)
        else:
            depth += 1
            deepest = max(deepest, depth)
    return deepest


def _strip_tags(html: str) -> str:
    """Plain text of HTML too deep to sanitize: tags removed, entities decoded."""
    text = re.sub(r"<[^>]*>", " ", re.sub(r"(?is)<(script|style)\b.*?</\1\s*>", " ", html))
    lines = (" ".join(line.split()) for line in html_lib.unescape(text).splitlines())
    return "\n".join(line for line in lines if line)


def _best_alternatives(children: list[Message]) -> list[Message]:
    """Of the versions in a multipart/alternative, the last (richest) plain text and HTML ones.

    Other kinds of parts beside them (a calendar invitation, an image) are kept as they are.
    """
    last: dict[str, int] = {}
    for index, child in enumerate(children):
        content_type = _content_type(child)
        if isinstance(_safe_payload(child), list):
            last["container"] = index
        elif content_type in ("text/plain", "text/html"):
            last[content_type] = index
        elif content_type.startswith("text/"):
            last.setdefault("other-text", index)
    keep = set(last.values())
    return [
        child
        for index, child in enumerate(children)
        if index in keep
        or not (isinstance(_safe_payload(child), list) or _content_type(child).startswith("text/"))
    ]


def _from_mail_system(result: ParsedMessage) -> bool:
    sender = result.from_.email if result.from_ else ""
    return sender.split("@", 1)[0].lower() in _REPORT_SENDERS or result.return_path == ""


# --- per-part helpers: each falls back instead of raising -----------------------------------


def _defects_of(part: Message) -> Iterator[str]:
    for defect in getattr(part, "defects", [])[:MAX_DEFECTS]:
        yield _describe_defect(defect)


def _describe_defect(defect: email_errors.MessageDefect | Exception) -> str:
    doc = (type(defect).__doc__ or type(defect).__name__).strip().splitlines()[0]
    detail = str(defect).strip()
    return f"{doc.rstrip('.')} ({detail[:200]})" if detail and detail != doc else doc.rstrip(".")


def _safe_payload(part: Message) -> object:
    try:
        return part.get_payload()
    except Exception:
        return None


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type().lower()
    except Exception:
        return "text/plain"


def _raw_header(part: Message, name: str) -> str | None:
    for key, value in part.raw_items():
        if key.lower() == name:
            return value
    return None


def _param(part: Message, name: str, header: str = "content-type") -> str | None:
    """A parameter of a structured header; raw 8-bit bytes in the header are decoded first."""
    value: object = None
    try:
        raw = _raw_header(part, header)
        if raw is None:
            return None
        source = part
        if _SURROGATES.search(raw):  # compat32 would turn the 8-bit bytes into U+FFFD
            source = Message()
            source[header] = clean_text(raw)
        value = source.get_param(name, header=header)
    except Exception:
        value = None
    if isinstance(value, tuple):  # an RFC 2231 value: (charset, language, percent-decoded)
        charset, _, text = value
        data = str(text).encode("latin-1", "surrogateescape") if text else b""
        value, _ = decode_bytes(data, charset or "utf-8")
    return clean_text(str(value)).strip() if value is not None else None


def _disposition(part: Message) -> str | None:
    try:
        value = part.get_content_disposition()
    except Exception:
        raw = _raw_header(part, "content-disposition")
        value = raw.split(";", 1)[0].strip().lower() if raw else None
    return value or None


def _filename(part: Message) -> str:
    """Content-Disposition's filename, else Content-Type's name (RFC 2231 and RFC 2047 decoded)."""
    name = _param(part, "filename", "content-disposition") or _param(part, "name")
    if not name:
        return ""
    if "=?" in name:
        name = decode_header_text(name[:MAX_HEADER_CHARS])
    return _safe_filename(name)


def _safe_filename(name: str) -> str:
    """The last path component, without control or reserved characters, at most 200 bytes."""
    name = clean_text(name).replace("\\", "/").rsplit("/", 1)[-1]
    name = _one_line(_FILENAME_FORBIDDEN.sub("_", name)).strip(" .")
    if len(name.encode("utf-8")) > MAX_FILENAME_BYTES:
        stem, dot, extension = name.rpartition(".")
        extension = extension if dot and len(extension) <= 10 else ""
        stem = stem if extension else name
        room = MAX_FILENAME_BYTES - len(extension.encode("utf-8")) - 1
        stem = stem.encode("utf-8")[:room].decode("utf-8", "ignore")
        name = f"{stem}.{extension}" if extension else stem
    return name


def _part_name(filename: str, content_type: str, part: Message, index: int) -> str:
    if filename:
        return filename
    if content_type in _TNEF_TYPES:
        return "winmail.dat"
    fallback = ".txt" if content_type.startswith("text/") else ".bin"
    extension = _MIME_TYPES.guess_extension(content_type) or fallback
    if content_type == "message/rfc822":
        extension = ".eml"
    return f"attachment-{index}{extension}"


def _content_id(part: Message) -> str | None:
    try:
        raw = _raw_header(part, "content-id")
    except Exception:
        return None
    if not raw:
        return None
    value = _one_line(clean_text(raw)).strip().strip("<>").strip()
    return value[:998] or None


def _transfer_encoding(part: Message) -> str:
    try:
        raw = _raw_header(part, "content-transfer-encoding")
    except Exception:
        return ""
    return _one_line(clean_text(raw or "")).lower().strip('"')


def _estimated_size(part: Message, encoding: str) -> int:
    payload = _safe_payload(part)
    if not isinstance(payload, str):
        return 0
    if encoding == "base64":
        return len(payload) * 3 // 4 - len(payload) // 76  # minus the line breaks
    return len(payload)


def _decoded_payload(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        payload = _safe_payload(part)
        data = payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""
    return data if isinstance(data, bytes) else b""


def _as_bytes(message: Message) -> bytes:
    try:
        return message.as_bytes(policy=email_policy.compat32)
    except Exception:
        try:
            return str(message).encode("utf-8", "surrogateescape")
        except Exception:
            return b""


def simple_address(value: str) -> Address | None:
    """The one plain address `value` holds (see _SIMPLE_ADDRESS), None for anything else."""
    if "=?" in value:  # an encoded word is an atom too: the full parser decodes it
        return None
    found = _SIMPLE_ADDRESS.fullmatch(value) or _BARE_ADDRESS.fullmatch(value)
    if found is None:
        return None
    display = found.groupdict().get("name") or ""
    return Address(name=_one_line(display), email=_email(found["local"], found["domain"]))


def _email(local: str | None, domain: str | None) -> str:
    local = clean_text(local or "").strip()
    domain = clean_text(domain or "").strip().lower()
    if not local or not domain or any(ch.isspace() for ch in local + domain):
        return ""
    return f"{local}@{domain}"


def _extract_uuencoded(text: str) -> tuple[str, list[tuple[str, bytes, bool]]]:
    """The text without its `begin 644 name` ... `end` blocks, and the files they held."""
    lines = text.split("\n")
    kept: list[str] = []
    blocks: list[tuple[str, bytes, bool]] = []
    index = 0
    while index < len(lines):
        match = _UU_BEGIN.match(lines[index])
        if not match:
            kept.append(lines[index])
            index += 1
            continue
        chunks: list[bytes] = []
        index += 1
        complete = False
        while index < len(lines):
            line = lines[index].rstrip("\r")
            index += 1
            if line.strip() == "end":
                complete = True
                break
            chunks.append(_uu_line(line))
        blocks.append((match.group(1), b"".join(chunks), complete))
    return "\n".join(kept).strip("\n"), blocks


def _uu_line(line: str) -> bytes:
    if not line or line == "`":
        return b""
    try:
        return binascii.a2b_uu(line)
    except (binascii.Error, ValueError):
        # Lines padded or cut by mailers: decode only as many characters as the length says.
        try:
            count = (((ord(line[0]) - 32) & 63) * 4 + 5) // 3
            return binascii.a2b_uu(line[:count])
        except (binascii.Error, ValueError):
            return b""


def _unreadable(raw: bytes, exc: BaseException) -> ParsedMessage:
    """What is left when the parser itself failed: the id, the size and the bytes as text."""
    head, _, body = raw.partition(b"\n\n")
    if not body:
        head, _, body = raw.partition(b"\r\n\r\n")
    text = clean_text(decode_bytes(body or head, None)[0]).replace("\r\n", "\n")
    return ParsedMessage(
        message_id=generated_message_id(raw),
        generated_message_id=True,
        text=text,
        visible_text=text,
        size=len(raw),
        defects=[
            f"the message could not be parsed ({type(exc).__name__}: {str(exc)[:200]}); "
            "its raw bytes are kept"
        ],
    )
