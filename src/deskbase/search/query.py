"""Parsing and checking what a caller typed into a search box; paging cursors."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.translation import gettext

from deskbase.core.errors import DomainError

MAX_QUERY = 500  # characters; a search box needs no more, and a tsquery of 10 kB is a DoS
TICKET_NUMBER = re.compile(r"^\s*#?\s*(\d{1,9})\s*$")
# Private-use characters mark highlights inside ts_headline's output: the text around
# them is HTML-escaped in Python, then they become <mark> and </mark>.
START, STOP = "\ue000", "\ue001"


class BadQuery(DomainError):
    """The search text cannot be searched (too long, NUL): a 400 naming the field."""

    status = 400


def clean(q: str | None, *, field: str = "q") -> str:
    """The text to search: refused when it cannot be, else stripped (may be empty)."""
    text = q or ""
    if "\x00" in text:
        raise BadQuery(gettext("The search text cannot contain NUL characters."), field=field)
    if len(text) > MAX_QUERY:
        raise BadQuery(
            gettext("The search text is limited to %(max_query)s characters.")
            % {"max_query": MAX_QUERY},
            field=field,
        )
    # Our highlight markers cannot come from the caller.
    return text.replace(START, " ").replace(STOP, " ").strip()


# An HTML tag as the text parser reads one (`<b>`, `</b>`, `<a href="x">`): indexed text
# drops tags, but websearch_to_tsquery would keep `b` and `/b` as words that no document
# holds, so a pasted subject like "Printer <b>offline</b>" would find nothing.
TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")


def without_tags(text: str) -> str:
    """The text to parse into a tsquery: tags dropped as the indexed documents drop them."""
    return TAG.sub(" ", text)


def prefix_last(text: str) -> bool:
    """Whether the last word of `text` may be searched as a prefix (`webho` finds
    `webhook`): a plain word at the end, not quoted, negated (`-word`) or `OR`."""
    stripped = text.rstrip()
    if not stripped or stripped.count('"') % 2:
        return False  # empty, or the end is inside a phrase
    last = stripped.split()[-1]
    if last.startswith("-") or '"' in last or last.lower() == "or":
        return False
    return re.search(r"[^\W_]$", last) is not None


def normalized(text: str) -> str:
    """What the search log keeps and groups by: lower case, single spaces."""
    return " ".join(text.lower().split())[:MAX_QUERY]


def ticket_number(text: str) -> int | None:
    """`#1234` or a bare `1234`: the number of the ticket to go straight to."""
    found = TICKET_NUMBER.match(text)
    return int(found.group(1)) if found else None


def words(text: str, limit: int = 6) -> list[str]:
    """The words of a query, for "did you mean" (operators and quotes dropped)."""
    found = [w.lower() for w in re.findall(r"[^\W_]+", text) if w.lower() not in ("or", "and")]
    return found[:limit]


def like_pattern(text: str) -> str:
    """`text` as a literal inside an ILIKE pattern."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# ------------------------------------------------------------------ cursors
@dataclass(frozen=True)
class Cursor:
    """Where the next page of one group starts: after (score, id), scored at `now`."""

    type: str
    score: float
    id: int
    now: datetime


def encode_cursor(cursor: Cursor) -> str:
    raw = json.dumps(
        {"t": cursor.type, "s": cursor.score, "i": cursor.id, "n": cursor.now.isoformat()}
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(value: str) -> Cursor:
    try:
        raw: Any = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
        cursor = Cursor(
            str(raw["t"]), float(raw["s"]), int(raw["i"]), datetime.fromisoformat(raw["n"])
        )
    except (ValueError, KeyError, TypeError) as error:
        raise BadQuery(gettext("Not a cursor of this search."), field="cursor") from error
    if cursor.now.tzinfo is None:
        raise BadQuery(gettext("Not a cursor of this search."), field="cursor")
    return cursor
