"""Untrusted text and HTML in, safe HTML and readable text out.

Rich bodies (ticket descriptions, comments, emails) arrive as HTML from browsers
and mail clients we do not control. `clean_html` keeps a small allowlist and drops
the rest; `text_to_html` turns plain text into HTML that is safe by construction;
`html_to_text` gives the plain text of a body for search and for email.

Typical use for a body given as HTML:  html = clean_html(body); text = html_to_text(html)
and for plain text:                    text = body;             html = text_to_html(body)
Store both; render only the HTML produced here, never the input.
"""

from __future__ import annotations

import html as html_lib
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import nh3

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "strong", "em", "b", "i", "u", "s", "code", "pre", "blockquote",
        "ul", "ol", "li", "a", "h1", "h2", "h3", "h4",
        "table", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip
# Tags whose content goes too: scripts and styles are code, not text, and SVG/MathML
# have their own parsing rules that have been used to smuggle markup past sanitizers.
DROPPED_WITH_CONTENT = frozenset(
    {"script", "style", "svg", "math", "iframe", "object", "embed", "noscript", "textarea"}
)
LINK_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"
# The only images a body may show: files of our own attachment store, by their
# authenticated download path (the web's `web:download`), e.g. the inline (cid:) images
# of an incoming mail. No other source: no tracking pixels, no data: URLs.
ATTACHMENT_IMAGE_SRC = re.compile(r"/files/[0-9]{1,19}/")
_IMAGE_WITHOUT_SOURCE = re.compile(r"<img(?![^>]*\ssrc=)[^>]*>")


def _safe_href(tag: str, attribute: str, value: str) -> str | None:
    """Only absolute http(s)/mailto links: relative ones would point into the app itself.
    Images only from our own attachments (ATTACHMENT_IMAGE_SRC)."""
    if tag == "img" and attribute == "src":
        return value if ATTACHMENT_IMAGE_SRC.fullmatch(value) else None
    if tag != "a" or attribute != "href":
        return value
    # urlsplit drops tabs and newlines like browsers do, so "java\tscript:" is seen as javascript.
    scheme = urlsplit(value.strip()).scheme.lower()
    return value if scheme in LINK_SCHEMES else None


def clean_html(html: str) -> str:
    """The allowlisted subset of `html`: no scripts, styles, event handlers or unsafe URLs."""
    if not html:
        return ""
    cleaned = nh3.clean(
        html,
        tags=set(ALLOWED_TAGS) | {"img"},
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        # "*": nothing generic; nh3 would otherwise keep `lang` and `title` everywhere.
        attributes={"*": set(), "a": {"href", "title"}, "img": {"src", "alt"}},
        attribute_filter=_safe_href,
        url_schemes=set(LINK_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )
    # An image whose source was refused goes entirely (nh3 leaves the bare tag).
    return _IMAGE_WITHOUT_SOURCE.sub("", cleaned) if "<img" in cleaned else cleaned


def text_to_html(text: str) -> str:
    """Plain text as paragraphs (blank lines) and line breaks; every character escaped."""
    normalized = (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if not normalized:
        return ""
    paragraphs = re.split(r"\n[ \t]*\n+", normalized)
    return "".join(
        "<p>" + "<br>".join(html_lib.escape(line, quote=True) for line in p.split("\n")) + "</p>"
        for p in paragraphs
        if p.strip()
    )


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML body: blocks become lines, links keep their address.

    The input is sanitized first, so the text never contains script or style content.
    """
    parser = _TextExtractor()
    parser.feed(clean_html(html))
    parser.close()
    return parser.text()


_BLOCKS = frozenset({"p", "pre", "blockquote", "ul", "ol", "h1", "h2", "h3", "h4", "table"})


class _TextExtractor(HTMLParser):
    """Walks the (already sanitized) tags and writes text the way a reader would see it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._out: list[list[str]] = [[]]  # a stack: blockquotes collect their own lines
        self._lists: list[list[int]] = []  # per open list: [next number] or [] when unordered
        self._pre = 0
        self._href: str | None = None
        self._link_text: list[str] = []
        self._first_cell = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS or tag == "li":
            self._break(2 if tag in _BLOCKS and not self._lists else 1)
        if tag == "blockquote":
            self._out.append([])
        elif tag == "pre":
            self._pre += 1
        elif tag in ("ul", "ol"):
            self._lists.append([1] if tag == "ol" else [])
        elif tag == "li":
            self._start_item()
        elif tag == "br":
            self._emit("\n")
        elif tag == "tr":
            self._break(1)
            self._first_cell = True
        elif tag in ("td", "th"):
            if not self._first_cell:
                self._emit(" | ")
            self._first_cell = False
        elif tag == "a":
            self._href = dict(attrs).get("href")
            self._link_text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "blockquote" and len(self._out) > 1:
            quoted = "".join(self._out.pop()).strip("\n")
            self._break(2)
            self._emit("\n".join(f"> {line}".rstrip() for line in quoted.split("\n")))
        elif tag == "pre":
            self._pre = max(0, self._pre - 1)
        elif tag in ("ul", "ol") and self._lists:
            self._lists.pop()
        elif tag == "a":
            self._end_link()
        if tag in _BLOCKS or tag == "li":
            self._break(2 if tag in _BLOCKS and not self._lists else 1)

    def handle_data(self, data: str) -> None:
        if not self._pre:
            data = re.sub(r"\s+", " ", data)
            if self._after_space():  # HTML collapses whitespace across tags too
                data = data.lstrip(" ")
        if self._href is not None:
            self._link_text.append(data)
        self._emit(data)

    def _start_item(self) -> None:
        if self._lists and self._lists[-1]:
            number = self._lists[-1][0]
            self._lists[-1][0] += 1
            self._emit(f"{'  ' * (len(self._lists) - 1)}{number}. ")
        else:
            self._emit(f"{'  ' * max(0, len(self._lists) - 1)}- ")

    def _end_link(self) -> None:
        text = "".join(self._link_text).strip()
        href = self._href or ""
        address = href.removeprefix("mailto:")
        # A reader of plain text cannot click: show where the link goes unless the text says it.
        if href and address not in text:
            self._emit(f" ({address})" if text else address)
        self._href = None

    def _emit(self, chunk: str) -> None:
        self._out[-1].append(chunk)

    def _after_space(self) -> bool:
        """At the start of the text or a line, or right after a space."""
        for chunk in reversed(self._out[-1]):
            if chunk:
                return chunk[-1] in " \n"
        return True

    def _break(self, newlines: int) -> None:
        """End the current line with at least `newlines` line feeds (none at the very start)."""
        buffer, trailing = self._out[-1], 0
        while buffer:  # only the tail is inspected: the text so far is never re-joined
            chunk = buffer.pop()
            kept = chunk.rstrip(" \n")
            trailing += chunk[len(kept) :].count("\n")
            if kept:
                buffer.append(kept)
                break
        if buffer:
            buffer.append("\n" * max(newlines, min(trailing, 2)))

    def text(self) -> str:
        while len(self._out) > 1:  # an unclosed blockquote: keep its text
            inner = self._out.pop()
            self._out[-1].extend(inner)
        lines = [line.rstrip() for line in "".join(self._out[0]).split("\n")]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n").rstrip()
