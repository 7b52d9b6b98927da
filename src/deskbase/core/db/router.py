"""Read-only selectors on a streaming replica, everything else on the primary
(docs/scaling.md, "Reads: replicas").

- `ReplicaRouter` (settings.DATABASE_ROUTERS) sends a read to the alias of the
  selector running now (`replica_read`), every other read and every write to
  `default`. It never falls back on an instance's own database: an object read on
  a replica and then followed (`ticket.comments`) or saved goes to the primary.
- `replica_read` marks a read-only selector. It runs on a replica only inside a
  request that `ReplicaMiddleware` allows (GET/HEAD/OPTIONS), never inside a
  service's transaction, a job or a command. On the replica it opens a transaction
  and sets the tenant and actor with SET LOCAL there (row-level security holds on
  the replica as on the primary: `deskbase.core.tenancy`), then runs the selector.
- A request that has sent the primary a statement that may write (anything but a
  SELECT without row locks, SAVEPOINT, RELEASE, ...) reads from the primary from then on.
- Read-your-writes: after a request with another method (a write), the middleware
  puts the primary's WAL insert position in a cookie (`deskbase_lsn`); that
  browser's reads use a replica only once it has replayed that position
  (`pg_last_wal_replay_lsn()`), the primary meanwhile.
- A replica that is down, that is not a standby, or whose replay lags more than
  `DESKBASE_REPLICA_MAX_LAG` seconds is skipped. Each process looks at each replica
  at most once per `DESKBASE_REPLICA_CHECK_SECONDS` (and once more when a browser's
  position is newer than what it saw); a replica that failed is tried again after
  `DOWN_RETRY_SECONDS`.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import itertools
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse

from deskbase.core.tenancy import tenant

logger = logging.getLogger(__name__)

COOKIE = "deskbase_lsn"
# How long the cookie lives: far longer than any tolerated lag.
COOKIE_SECONDS = 600
DOWN_RETRY_SECONDS = 5.0
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

LAG_SQL = (
    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text,"
    " CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn()"
    "      THEN 0"
    "      ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0)"
    " END::float8"
)


def lsn_number(lsn: str | None) -> int:
    """'16/B374D848' as a number (0 for None or garbage: a cookie is user input)."""
    if not lsn:
        return 0
    try:
        high, low = lsn.split("/")
        return (int(high, 16) << 32) | int(low, 16)
    except ValueError:
        return 0


def replicas() -> list[str]:
    return list(getattr(settings, "DESKBASE_REPLICAS", []))


# ----------------------------------------------------------------- replica state
@dataclass
class ReplicaState:
    alias: str
    checked_at: float = float("-inf")
    up: bool = False
    replay_lsn: str | None = None
    lag_seconds: float | None = None
    reason: str = "not checked yet"

    def report(self) -> dict[str, Any]:
        return {
            "alias": self.alias,
            "up": self.up,
            "replay_lsn": self.replay_lsn,
            "lag_seconds": self.lag_seconds,
            "usable": self.usable(),
            **({} if self.up else {"reason": self.reason}),
        }

    def usable(self) -> bool:
        return (
            self.up
            and self.lag_seconds is not None
            and self.lag_seconds <= settings.DESKBASE_REPLICA_MAX_LAG
        )


_states: dict[str, ReplicaState] = {}
_states_lock = threading.Lock()


def probe(alias: str) -> ReplicaState:
    """Ask the replica where it is (a round trip on this thread's connection to it)."""
    state = ReplicaState(alias, checked_at=time.monotonic())
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute(LAG_SQL)
            standby, lsn, lag = cursor.fetchone()
        if standby:
            state.up, state.replay_lsn, state.lag_seconds = True, lsn, round(lag, 3)
            state.reason = ""
        else:
            state.reason = "not a standby (promoted?): not used for reads"
    except (OperationalError, InterfaceError) as exc:
        state.reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        connections[alias].close()
    with _states_lock:
        _states[alias] = state
    return state


def state_of(alias: str) -> ReplicaState:
    """The last look at `alias`, looked at again when older than the check interval."""
    with _states_lock:
        state = _states.get(alias)
    age = time.monotonic() - state.checked_at if state else float("inf")
    interval = settings.DESKBASE_REPLICA_CHECK_SECONDS if state and state.up else DOWN_RETRY_SECONDS
    if state is None or age >= interval:
        state = probe(alias)
    return state


def mark_down(alias: str, exc: BaseException) -> None:
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    logger.warning("replica %s failed, reads go to the primary: %s", alias, reason)
    with _states_lock:
        _states[alias] = ReplicaState(alias, checked_at=time.monotonic(), reason=reason)
    with contextlib.suppress(Exception):
        connections[alias].close()


def forget() -> None:
    """Drop what this process knows of its replicas (tests; a changed configuration)."""
    with _states_lock:
        _states.clear()


def report() -> list[dict[str, Any]]:
    """Each replica as `/health` shows it (freshly looked at)."""
    return [probe(alias).report() for alias in replicas()]


# ------------------------------------------------------------------ the scope
@dataclass
class Scope:
    """What the current request allows: replica reads at all, and from which WAL
    position on (the browser's last write). `wrote`: the request has sent the primary
    a statement that may write; its transaction's own changes are on the primary only,
    so its later reads stay there."""

    min_lsn: int = 0
    wrote: bool = False


# Statements that change nothing: anything else sent to the primary in a request (an
# INSERT, a CTE, a row lock) keeps the rest of that request's reads on the primary.
_READ_ONLY = re.compile(r"\s*(SELECT|SAVEPOINT|RELEASE|ROLLBACK|SET|SHOW|BEGIN|COMMIT)\b", re.I)
_LOCKS = re.compile(r"\bFOR\s+(UPDATE|NO\s+KEY\s+UPDATE|SHARE|KEY\s+SHARE)\b", re.I)


def _may_write(sql: str) -> bool:
    return not _READ_ONLY.match(sql) or bool(_LOCKS.search(sql))


def _watch_writes(execute, sql, params, many, context):
    scope = _scope.get()
    if scope is not None and not scope.wrote and _reading.get() is None and _may_write(sql):
        scope.wrote = True
    return execute(sql, params, many, context)


_scope: contextvars.ContextVar[Scope | None] = contextvars.ContextVar("replica_scope", default=None)
_reading: contextvars.ContextVar[str | None] = contextvars.ContextVar("replica_alias", default=None)
_rotation = itertools.count()


@contextlib.contextmanager
def replica_reads(min_lsn: str | None = None) -> Iterator[None]:
    """Let `replica_read` selectors use a replica that has replayed `min_lsn`, until
    something that may write is sent to the primary."""
    token = _scope.set(Scope(lsn_number(min_lsn)))
    try:
        with connections[DEFAULT_DB_ALIAS].execute_wrapper(_watch_writes):
            yield
    finally:
        _scope.reset(token)


def choose() -> str | None:
    """The replica for a read now, or None for the primary."""
    scope = _scope.get()
    if scope is None or scope.wrote:
        return None
    names = replicas()
    if not names:
        return None
    start = next(_rotation) % len(names)
    for alias in names[start:] + names[:start]:
        state = state_of(alias)
        if state.usable() and lsn_number(state.replay_lsn) < scope.min_lsn:
            state = probe(alias)  # it may have caught up since it was last asked
        if state.usable() and lsn_number(state.replay_lsn) >= scope.min_lsn:
            return alias
    return None


def reading() -> str | None:
    """The replica alias the current selector reads from, if any."""
    return _reading.get()


def read_connection() -> Any:
    """The connection for a selector's raw SQL: its replica's, else the primary's."""
    return connections[_reading.get() or DEFAULT_DB_ALIAS]


def _tenant_of(kwargs: dict[str, Any]) -> tuple[Any, Any]:
    if "organization" in kwargs:
        return kwargs["organization"], kwargs.get("actor")
    user = kwargs.get("user") or kwargs.get("actor")
    if user is not None:
        return user.organization_id, user
    raise TypeError("replica_read needs an organization= or user= keyword argument")


def replica_read[F: Callable[..., Any]](func: F) -> F:
    """Mark a read-only selector (keyword arguments `organization` and `actor`, or
    `user`) that may run on a replica."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if _reading.get() is not None:
            return func(*args, **kwargs)
        alias = choose()
        if alias is None:
            return func(*args, **kwargs)
        organization, actor = _tenant_of(kwargs)
        token = _reading.set(alias)
        try:
            with tenant(organization, actor, using=alias, savepoint=False):
                return func(*args, **kwargs)
        except (OperationalError, InterfaceError) as exc:
            mark_down(alias, exc)
            raise
        finally:
            _reading.reset(token)

    return wrapper  # type: ignore[return-value]  # functools.wraps keeps the signature F


class ReplicaRouter:
    """settings.DATABASE_ROUTERS: a replica for the selector reading now, else the primary."""

    def db_for_read(self, model: type, **hints: Any) -> str:
        return _reading.get() or DEFAULT_DB_ALIAS

    def db_for_write(self, model: type, **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS


class ReplicaMiddleware:
    """Allows replica reads in requests that write nothing (GET, HEAD, OPTIONS) of a
    browser whose last write a replica has replayed; after any other request, records
    the primary's WAL position in the `deskbase_lsn` cookie. Stands outside the
    tenant's transaction, so the position read is past the request's commit."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not replicas():
            return self.get_response(request)
        if request.method in SAFE_METHODS:
            with replica_reads(request.COOKIES.get(COOKIE)):
                return self.get_response(request)
        response = self.get_response(request)
        try:
            with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
                cursor.execute("SELECT pg_current_wal_flush_lsn()::text")
                (lsn,) = cursor.fetchone()
        except (OperationalError, InterfaceError):
            return response  # the primary is gone: no read will find a replica newer
        if lsn_number(lsn) > lsn_number(request.COOKIES.get(COOKIE)):
            response.set_cookie(
                COOKIE,
                lsn,
                max_age=COOKIE_SECONDS,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response
