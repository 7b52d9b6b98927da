"""Markdown source to safe HTML: markdown-it-py (CommonMark, tables, no raw HTML), then the
project's nh3 allowlist (deskbase.core.sanitize), so an article is never a way in for
markup that a ticket body could not carry."""

from __future__ import annotations

import re

from django.utils.text import slugify
from markdown_it import MarkdownIt

from deskbase.core.sanitize import clean_html, html_to_text

# html=False: raw HTML in the source is shown as text, not passed to the sanitizer.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table").enable("strikethrough")


def render_markdown(source: str) -> str:
    """The HTML readers see: rendered, then sanitized."""
    return clean_html(_MARKDOWN.render(source or ""))


def markdown_text(source: str) -> str:
    """The plain text of a Markdown body (snippets, search)."""
    return html_to_text(render_markdown(source))


def slug_of(title: str) -> str:
    """A URL slug from a title: ASCII words joined by hyphens; "article" when none."""
    slug = re.sub(r"-{2,}", "-", slugify(title or "")).strip("-")[:80].strip("-")
    return slug or "article"
