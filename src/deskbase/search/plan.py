"""How many rows can a query match? An upper bound from per-lexeme estimates.

The planner's estimate for a whole tsquery multiplies the selectivities of its
words as if they were independent; "credit card" or "invoice not loading" are
anything but, and were under-estimated 20 to 50 times on the generated data.
The bound here assumes the opposite (words of an AND or a phrase always occur
together): AND and phrase take the smallest of their parts, OR adds them up, a
negation bounds nothing. Over-estimating costs little (the recent walk is
bounded), under-estimating would rank every match of a common word.

Per-lexeme estimates come from `search_estimates()` (EXPLAIN of `@@ 'lexeme'`
per lexeme, since pg_stats hides the statistics of tables under row-level
security) and are cached per process for a few minutes: statistics change with
ANALYZE, not with every write.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass

from django.db import connection

CACHE_SECONDS = 300
CACHE_SIZE = 20_000
TOKEN = re.compile(r"\s*(?:('(?:[^']|'')*'(?::[*A-D]+)?)|(<->|<\d+>|[&|!()])|(T)\b)")

_cache: dict[tuple[int, str], tuple[float, float, float]] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Estimate:
    """Upper bounds of the matches in one tenant, and the tenant's sizes."""

    documents: float
    comments: float
    tenant_documents: float
    tenant_comments: float
    # A phrase: the GIN index finds the rows with all its words, and every one of them
    # is read to check their order, so the index plan costs the AND's matches.
    phrase: bool = False


def tokens(tree: str) -> list[str]:
    """The tokens of querytree()'s output: quoted lexemes, operators, parentheses."""
    found, position = [], 0
    while position < len(tree):
        match = TOKEN.match(tree, position)
        if match is None or match.end() == position:
            if tree[position:].strip():
                raise ValueError(f"unexpected querytree text at {position}: {tree!r}")
            break
        found.append(next(g for g in match.groups() if g is not None))
        position = match.end()
    return found


class _Parser:
    """Precedence as in tsquery: ! binds tightest, then <->, then &, then |."""

    LEVELS = (("|",), ("&",), ("<->",))

    def __init__(self, items: list[str], bound) -> None:
        self.items, self.at, self.bound = items, 0, bound

    def peek(self) -> str | None:
        return self.items[self.at] if self.at < len(self.items) else None

    def take(self) -> str:
        self.at += 1
        return self.items[self.at - 1]

    def expression(self, level: int = 0) -> tuple[float, float]:
        if level == len(self.LEVELS):
            return self.unary()
        left = self.expression(level + 1)
        while (op := self.peek()) is not None and _op(op) in self.LEVELS[level]:
            self.take()
            right = self.expression(level + 1)
            if _op(op) == "|":
                left = (left[0] + right[0], left[1] + right[1])
            else:
                left = (min(left[0], right[0]), min(left[1], right[1]))
        return left

    def unary(self) -> tuple[float, float]:
        item = self.take()
        if item == "!":
            self.unary()
            return self.bound("")  # a negation alone may match the whole tenant
        if item == "(":
            value = self.expression()
            if self.peek() == ")":
                self.take()
            return value
        if item == "T":
            return self.bound("")
        return self.bound(item)


def _op(item: str) -> str:
    return "<->" if item.startswith("<") else item


def lexemes(tree: str) -> list[str]:
    return sorted({t for t in tokens(tree) if t.startswith("'")})


def estimate(org: int, tree: str) -> Estimate:
    """Upper bounds of the documents and comments of `org` matching querytree `tree`."""
    try:
        needed = ["", *lexemes(tree)]
    except ValueError:
        needed = [""]
    known = _known(org, needed)
    missing = [lexeme for lexeme in needed if lexeme not in known]
    if missing:
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM search_estimates(%s, %s::text[])", [org, missing])
            fetched = {row[0]: (row[1], row[2]) for row in cursor.fetchall()}
        _remember(org, fetched)
        known.update(fetched)
    total = known[""]

    def bound(lexeme: str) -> tuple[float, float]:
        found = known.get(lexeme)
        # A prefix, or a lexeme without an estimate: as many as the tenant has.
        if lexeme.endswith(":*") or found is None or None in found:
            return total
        return found

    try:
        items = tokens(tree)
    except ValueError:  # not expected from querytree(); assume the worst, never fail
        return Estimate(total[0], total[1], total[0], total[1], True)
    documents, comments = _Parser(items, bound).expression() if items else total
    phrase = any(_op(item) == "<->" for item in items)
    return Estimate(min(documents, total[0]), min(comments, total[1]), total[0], total[1], phrase)


def _known(org: int, needed: list[str]) -> dict[str, tuple[float, float]]:
    now = time.monotonic()
    found = {}
    with _lock:
        for lexeme in needed:
            entry = _cache.get((org, lexeme))
            if entry is not None and entry[0] > now:
                found[lexeme] = (entry[1], entry[2])
    return found


def _remember(org: int, fetched: dict[str, tuple[float, float]]) -> None:
    expires = time.monotonic() + CACHE_SECONDS
    with _lock:
        if len(_cache) > CACHE_SIZE:
            _cache.clear()
        for lexeme, (documents, comments) in fetched.items():
            _cache[(org, lexeme)] = (expires, documents, comments)


def forget() -> None:
    """Drop the cached estimates (tests; after a bulk load in this process)."""
    with _lock:
        _cache.clear()
