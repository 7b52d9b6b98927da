"""Markdown source to safe HTML: markdown-it-py (CommonMark, tables, no raw HTML), then the
project's nh3 allowlist (deskbase.core.sanitize), so an article is never a way in for
markup that a ticket body could not carry.

One addition for articles: their own files. `![alt](attachment:12)` shows the article's
attachment 12 as an image, `[manual](attachment:13)` links to it. The reference becomes
the file's help center address; the sanitizer then lets an `<img>` through only when
its source is such an address (never another site, never `data:`), and a relative link
only when it is one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import nh3
from django.utils.text import slugify
from markdown_it import MarkdownIt
from markdown_it.token import Token

from deskbase.core.sanitize import (
    ALLOWED_TAGS,
    DROPPED_WITH_CONTENT,
    LINK_REL,
    LINK_SCHEMES,
    html_to_text,
)

# html=False: raw HTML in the source is shown as text, not passed to the sanitizer.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table").enable("strikethrough")
REFERENCE = re.compile(r"^attachment:(\d{1,18})$")
# What a reference becomes (deskbase.web.urls: help_attachment); nothing else may be an
# image source or a relative link.
FILE_PATH = re.compile(r"^/help/[a-z0-9-]+/files/\d{1,18}/[^/?#\s]+$")
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


@dataclass(frozen=True)
class FileLink:
    """What the renderer needs of one attachment of the article."""

    url: str
    content_type: str

    @property
    def image(self) -> bool:
        return self.content_type in IMAGE_TYPES


@dataclass(frozen=True)
class Reference:
    attachment_id: int
    image: bool  # ![...](attachment:N), else a link


def _tokens(tokens: list[Token]) -> Iterator[Token]:
    for token in tokens:
        yield token
        if token.children:
            yield from _tokens(token.children)


def _target(token: Token) -> str | None:
    if token.type == "image":
        return str(token.attrGet("src") or "")
    if token.type == "link_open":
        return str(token.attrGet("href") or "")
    return None


def references(source: str) -> list[Reference]:
    """Every `attachment:<id>` the Markdown refers to, in order."""
    found = []
    for token in _tokens(_MARKDOWN.parse(source or "")):
        match = REFERENCE.match(_target(token) or "")
        if match:
            found.append(Reference(int(match[1]), token.type == "image"))
    return found


def render_markdown(source: str, files: Mapping[int, FileLink] | None = None) -> str:
    """The HTML readers see: rendered, references to `files` resolved, then sanitized.
    An image that is not one of `files` (another site's, an unknown id, a file that is
    not an image) becomes its alt text; a link to an unknown file, its text."""
    tokens = _MARKDOWN.parse(source or "")
    for token in _tokens(tokens):
        target = _target(token)
        if target is None:
            continue
        match = REFERENCE.match(target)
        file = (files or {}).get(int(match[1])) if match else None
        if token.type == "image":
            if file is not None and file.image:
                token.attrSet("src", file.url)
            else:  # another site's image, or not one of the article's: its alt text
                token.type, token.tag, token.children, token.attrs = "text", "", None, {}
        elif match:
            token.attrSet("href", file.url if file is not None else "")
    html = _MARKDOWN.renderer.render(tokens, _MARKDOWN.options, {})
    return _clean(html)


def _safe_url(tag: str, attribute: str, value: str) -> str | None:
    """Images only from the article's files; links absolute (as in ticket bodies) or to
    the article's files."""
    if tag == "img" and attribute == "src":
        return value if FILE_PATH.match(value) else None
    if tag == "a" and attribute == "href":
        # urlsplit drops tabs and newlines like browsers do ("java\tscript:" is javascript).
        absolute = urlsplit(value.strip()).scheme.lower() in LINK_SCHEMES
        return value if absolute or FILE_PATH.match(value) else None
    return value


def _clean(html: str) -> str:
    if not html:
        return ""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS) | {"img"},
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={"*": set(), "a": {"href", "title"}, "img": {"src", "alt", "title"}},
        attribute_filter=_safe_url,
        url_schemes=set(LINK_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )


def markdown_text(source: str) -> str:
    """The plain text of a Markdown body (snippets, search)."""
    return html_to_text(render_markdown(source))


def slug_of(title: str) -> str:
    """A URL slug from a title: ASCII words joined by hyphens; "article" when none."""
    slug = re.sub(r"-{2,}", "-", slugify(title or "")).strip("-")[:80].strip("-")
    return slug or "article"
