"""What one request sends to the database: the slow-statement log and the N+1 detector.

`RequestQueries` is the execute wrapper that ServerTimingMiddleware installs on
every connection for the length of a request (one wrapper does the timing, the
log and the detector). It

- logs each statement slower than SLOW_QUERY_MS (`deskbase.slow`, WARNING) with
  the request's method and path, the duration and the statement (never its
  parameters: they hold customers' data);
- when NPLUSONE_DETECT is on (development and tests by default), counts the
  statements by *shape* (the SQL with literals, parameter lists and savepoint
  names normalized) and fails the request with `RepeatedStatement` once a shape
  runs more than NPLUSONE_MAX times: the mark of a loop querying row by row.

A loop that must repeat a statement (a bulk action calling a service per ticket)
says so with `allow_repeats()`.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import re
import time
import traceback
from collections import Counter
from collections.abc import Iterator

from django.conf import settings

logger = logging.getLogger("deskbase.slow")

_allowed: contextvars.ContextVar[bool] = contextvars.ContextVar("allow_repeats", default=False)

_STRING = re.compile(r"'(?:[^']|'')*'")
_NUMBER = re.compile(r"(?<![\w.\"])-?\d+(?:\.\d+)?\b")
_SAVEPOINT = re.compile(r'"s\d+_x\d+"')
_IN_LIST = re.compile(r"\bIN \((?:%s|\?)(?:\s*,\s*(?:%s|\?))*\)", re.IGNORECASE)
_PARAM_LIST = re.compile(r"(?:%s|\?)(?:\s*,\s*(?:%s|\?))+")
_VALUES_ROWS = re.compile(r"\((?:%s|\?)(?:, (?:%s|\?))*\)(?:, \((?:%s|\?)(?:, (?:%s|\?))*\))+")
_SPACE = re.compile(r"\s+")
# Bookkeeping, not data access: a transaction per service call is not an N+1.
_BOOKKEEPING = re.compile(r"^(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT|SELECT set_config)")


def shape(sql: str) -> str:
    """The statement with its literals and parameter lists normalized."""
    text = _SAVEPOINT.sub('"sp"', sql)
    text = _STRING.sub("?", text)
    text = _NUMBER.sub("?", text)
    text = _VALUES_ROWS.sub("(...)", text)
    text = _IN_LIST.sub("IN (...)", text)
    text = _PARAM_LIST.sub("...", text)
    return _SPACE.sub(" ", text).strip()


class RepeatedStatement(RuntimeError):
    """A request ran one statement shape more often than NPLUSONE_MAX (an N+1)."""


@contextlib.contextmanager
def allow_repeats() -> Iterator[None]:
    """Inside this block, repeated statements are expected (batch work): not an N+1."""
    token = _allowed.set(True)
    try:
        yield
    finally:
        _allowed.reset(token)


def _caller() -> str:
    """The innermost frame of the project's code (not Django's, not this module's)."""
    skipped = ("/core/querylog", "/core/middleware", "/core/tenant_middleware",
               "site-packages", "/lib/python")  # fmt: skip
    for frame in reversed(traceback.extract_stack()[:-3]):
        if not any(part in frame.filename for part in skipped):
            return f"{os.path.relpath(frame.filename)}:{frame.lineno} in {frame.name}"
    return "unknown"


class RequestQueries:
    """Execute wrapper for one request: counts, times, logs slow statements, finds N+1s."""

    def __init__(self, method: str = "", path: str = "") -> None:
        self.count = 0
        self.seconds = 0.0
        self.method = method
        self.path = path
        self.slow_ms = settings.SLOW_QUERY_MS
        self.detect = settings.NPLUSONE_DETECT
        self.limit = settings.NPLUSONE_MAX
        self.shapes: Counter[str] = Counter()
        self.repeated: tuple[str, int, str] | None = None  # shape, count, where

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = time.perf_counter() - start
            self.seconds += elapsed
            self.count += 1
            if elapsed * 1000 >= self.slow_ms:
                self._log_slow(sql, elapsed)
            if self.detect and not _allowed.get():
                self._count_shape(sql)

    def _log_slow(self, sql: str, elapsed: float) -> None:
        logger.warning(
            "slow statement in %s %s: %.1f ms: %s",
            self.method,
            self.path,
            elapsed * 1000,
            _SPACE.sub(" ", sql)[:2000],
        )

    def _count_shape(self, sql: str) -> None:
        key = shape(sql)
        if _BOOKKEEPING.match(key):
            return
        self.shapes[key] += 1
        if self.shapes[key] > self.limit and self.repeated is None:
            self.repeated = (key, self.shapes[key], _caller())

    def check(self) -> None:
        """Raise RepeatedStatement if a shape ran more than NPLUSONE_MAX times."""
        if self.repeated is None:
            return
        key, _, where = self.repeated
        raise RepeatedStatement(
            f"N+1 queries in {self.method} {self.path}: one statement ran "
            f"{self.shapes[key]} times (more than DESKBASE_NPLUSONE_MAX={self.limit}); "
            f"the {self.limit + 1}th from {where}. Load the rows in one query "
            f"(select_related / prefetch_related / __in). Statement: {key[:500]}"
        )
