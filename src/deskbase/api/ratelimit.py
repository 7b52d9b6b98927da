"""API rate limits: per caller (token or signed-in user) and per organization.

A sliding window of one minute, approximated the usual way (Cloudflare's "sliding
window counter"): each key keeps the hits of the current minute and of the one
before, and the count is `previous * (1 - elapsed / 60) + current`. One statement
counts a request against both of its keys (`api_ratecounter`, an UNLOGGED table:
no WAL is written for it, and a crash merely forgets the counts).

The statement runs on a connection of the limiter's, in autocommit, not in the request's
transaction: there the row lock on the organization's counter would be held until
the request commits, and every API request of the organization would wait for the
one before it. So it holds the lock for the statement only (microseconds). A process
keeps DESKBASE_API_RATE_LIMIT_CONNECTIONS such connections (default: its application
slots, DESKBASE_WEB_THREADS, as only requests in a slot run it).

Keys are the caller's token digest or user id and the organization id, so one
tenant's traffic never spends another's budget. A refused request is taken back
out of the counts: a client over its limit does not keep the organization's budget
spent by being refused. The limiter fails open: if its statement fails (the
database went away), the request goes on and meets the outage handling
(deskbase.core.outage) like any other.

Limits: DESKBASE_API_RATE_LIMIT (per organization, requests a minute; an admin may
set the organization's own in `api_rate_limit`, read by the same statement: the
limiter's connection sets the tenant for it, row-level security applies) and
DESKBASE_API_RATE_LIMIT_CALLER (per token or signed-in user; never more than the
organization's). Headers on every
authenticated API answer: `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`
(seconds) and `RateLimit-Policy` of the tighter of the two budgets (the IETF
httpapi draft's fields), plus `Retry-After` on a 429. docs/api.md, "Rate limits".
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse

from deskbase.accounts.throttle import Throttled

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60
_ATTRIBUTE = "_deskbase_rate_limit"
_STATE = {"down_until": 0.0}
# How long a limiter that could not reach the database stays out of the way.
RETRY_CONNECT_SECONDS = 1.0

# The organization whose row the next statement reads (row-level security), set on the
# limiter's own connection for its session; sent in the same round trip.
_TENANT = "SELECT set_config('deskbase.org_id', %s, false)"
# Counts one hit against each key; answers each key's hits this minute and the last,
# and the organization's own limit (NULL: the default).
_HIT = (
    "INSERT INTO api_ratecounter AS r (key, slot, hits, previous_hits)"
    " SELECT k, %(slot)s, 1, 0 FROM unnest(%(keys)s::text[]) AS k"
    " ON CONFLICT (key) DO UPDATE SET"
    " previous_hits = CASE WHEN r.slot = excluded.slot THEN r.previous_hits"
    "   WHEN r.slot = excluded.slot - 1 THEN r.hits ELSE 0 END,"
    " hits = CASE WHEN r.slot = excluded.slot THEN r.hits + 1 ELSE 1 END,"
    " slot = excluded.slot"
    " RETURNING key, hits, previous_hits,"
    " (SELECT api_rate_limit FROM organizations_organization WHERE id = %(org)s)"
)
# Takes a refused hit back.
_UNDO = (
    "UPDATE api_ratecounter SET hits = greatest(hits - 1, 0)"
    " WHERE key = ANY(%(keys)s::text[]) AND slot = %(slot)s"
)


class RateLimited(Throttled):
    """Over a rate limit: a 429 with Retry-After and the RateLimit fields."""

    @property
    def message(self) -> str:
        return f"Too many {self.what}; try again in {self.retry_after} seconds."


@dataclass(frozen=True)
class Budget:
    """One key's state after a request: what the RateLimit fields report."""

    limit: int
    remaining: int
    reset: int  # seconds until the window has room again (remaining > 0) or the minute ends
    allowed: bool

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
            "RateLimit-Policy": f"{self.limit};w={WINDOW_SECONDS}",
        }


def budget(limit: int, hits: int, previous: int, elapsed: float) -> Budget:
    """The state of one key with `hits` this minute (this request's included),
    `previous` the minute before, `elapsed` seconds into this minute."""
    weight = 1 - elapsed / WINDOW_SECONDS
    used = previous * weight + hits
    allowed = used <= limit
    remaining = max(0, math.floor(limit - used))
    # Seconds until one more request fits: the previous minute's hits fade linearly,
    # this minute's count from the next minute on as the previous one.
    room = limit - 1 - (hits if allowed else hits - 1)
    if room >= 0 and previous > 0 and previous * weight > room:
        wait = WINDOW_SECONDS * (1 - room / previous) - elapsed
    elif room >= 0:
        wait = WINDOW_SECONDS - elapsed
    else:
        counted = hits if allowed else hits - 1
        wait = WINDOW_SECONDS - elapsed + WINDOW_SECONDS * (1 - (limit - 1) / max(counted, 1))
    return Budget(limit, remaining, max(1, math.ceil(wait)), allowed)


# ------------------------------------------------------------------ the connections
def _connect() -> psycopg.Connection:
    params: dict[str, Any] = dict(connections["default"].get_connection_params())
    for key in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(key, None)
    params.setdefault("connect_timeout", 2)
    return psycopg.connect(**params, autocommit=True)


class Connections:
    """The limiter's own connections in this process: at most `size`, kept open.

    Only a request inside one of the process's application slots runs the limiter
    (deskbase.core.request_buffer), so as many connections as slots never make one
    wait; a thread that still finds none free within a second passes unlimited."""

    def __init__(self, size: int) -> None:
        self.pid = os.getpid()
        self._free = threading.BoundedSemaphore(max(1, size))
        self._lock = threading.Lock()
        self._idle: list[psycopg.Connection] = []
        self._all: weakref.WeakSet[psycopg.Connection] = weakref.WeakSet()

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        if not self._free.acquire(timeout=1.0):
            raise psycopg.OperationalError("no rate-limiter connection free within 1 s")
        conn: psycopg.Connection | None = None
        try:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None or conn.closed or conn.broken:
                conn = _connect()
                self._all.add(conn)
            yield conn
        except BaseException:
            if conn is not None:
                conn.close()
            conn = None
            raise
        finally:
            if conn is not None:
                with self._lock:
                    self._idle.append(conn)
            self._free.release()

    def close(self) -> None:
        for conn in list(self._all):
            conn.close()
        with self._lock:
            self._idle.clear()


_POOL: list[Connections] = []
_POOL_LOCK = threading.Lock()


def _pool() -> Connections:
    # Made in the process that uses it: a server process forked from another makes its own.
    with _POOL_LOCK:
        if not _POOL or _POOL[0].pid != os.getpid():
            _POOL[:] = [Connections(settings.API_RATE_LIMIT_CONNECTIONS)]
        return _POOL[0]


def _run(
    statement: str,
    params: dict[str, Any],
    organization_id: int | None = None,
    pool: Connections | None = None,
) -> list[tuple[Any, ...]] | None:
    """Run on one of the limiter's connections, under `organization_id` when given;
    None (and the limiter out of the way a while) on failure."""
    if time.monotonic() < _STATE["down_until"]:
        return None
    try:
        with (pool or _pool()).connection() as conn, conn.cursor() as cursor:
            with conn.pipeline():  # one round trip for both statements
                if organization_id is not None:
                    cursor.execute(_TENANT, [str(organization_id)])
                cursor.execute(statement, params)
            return cursor.fetchall() if cursor.description else []
    except psycopg.Error as error:
        logger.warning("rate limiter unavailable, requests pass unlimited: %s", error)
        _STATE["down_until"] = time.monotonic() + RETRY_CONNECT_SECONDS
        return None


def close_all() -> None:
    """Close the limiter's connections (before a test database is dropped)."""
    with _POOL_LOCK:
        for pool in _POOL:
            pool.close()
        _POOL.clear()
    _STATE["down_until"] = 0.0


# ------------------------------------------------------------------ the check
def check(request: HttpRequest, *, organization_id: int, caller: str) -> None:
    """Count the request against its caller and organization; RateLimited when over either.

    `caller` names the token (its digest) or the signed-in user. The tighter budget is
    kept on the request for the RateLimit fields (RateLimitHeadersMiddleware)."""
    if settings.API_RATE_LIMITS:
        count(request, organization_id=organization_id, caller=caller,
              default_limit=settings.API_RATE_LIMIT,
              caller_limit=settings.API_RATE_LIMIT_CALLER)  # fmt: skip


def count(
    request: HttpRequest,
    *,
    organization_id: int,
    caller: str,
    default_limit: int,
    caller_limit: int,
    pool: Connections | None = None,
) -> None:
    """`check` with its limits given (and its connections, for the bench)."""
    keys = [f"o:{organization_id}", f"c:{organization_id}:{caller}"]
    slot, elapsed = divmod(time.time(), WINDOW_SECONDS)
    params = {"slot": int(slot), "keys": keys, "org": organization_id}
    rows = _run(_HIT, params, organization_id, pool)
    if not rows:
        return
    org_limit = rows[0][3] or default_limit
    limits = {keys[0]: org_limit, keys[1]: min(caller_limit, org_limit)}
    budgets = [budget(limits[key], hits, previous, elapsed) for key, hits, previous, _ in rows]
    refused = [b for b in budgets if not b.allowed]
    if refused:
        _run(_UNDO, params, None, pool)
        tightest = max(refused, key=lambda b: b.reset)
        setattr(request, _ATTRIBUTE, tightest)
        raise RateLimited(retry_after=tightest.reset, what="API requests")
    setattr(request, _ATTRIBUTE, min(budgets, key=lambda b: (b.remaining, -b.reset)))


class RateLimitHeadersMiddleware:
    """Adds the RateLimit fields of the request's tighter budget to its answer."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        found: Budget | None = getattr(request, _ATTRIBUTE, None)
        if found is not None:
            for name, value in found.headers().items():
                response[name] = value
        return response
