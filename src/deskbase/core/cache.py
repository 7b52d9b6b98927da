"""Versioned, tenant-scoped cache entries that never outlive a committed write.

Each named entry (`organization_settings`, `sla_policies` ...) of an organization
lives under a key holding that organization's *version* of the name:

    <prefix>:v:<name>:<org>          -> 4711            (the version)
    <prefix>:d:<name>:<org>:4711     -> the cached value

A write that changes what an entry holds calls `invalidate_on_commit(org, name)`
inside its transaction: after the commit the version is bumped, so every reader
from then on misses and reloads. A reader reads the version *before* the database,
so a value loaded from a snapshot older than the bump can only be stored under
the old version, which nobody reads any more. Until its commit, the writing
transaction itself bypasses the entries it invalidated (it must see its own
writes; nobody else may see them), and a rollback drops the pending bump with
Django's on-commit list. Tenant B's entries have their own keys and versions: a
write in tenant A neither invalidates nor serves them.

The cache is an accelerator, never a dependency: any error of the backend (Redis
gone away) is logged, the cache is bypassed for CACHE_RETRY_SECONDS, and the
value is read from the database.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import connections

from deskbase.core.tenancy import tenant

logger = logging.getLogger("deskbase.cache")
_MISSING = object()
# Counted per entry name: hit, miss, bypass (own pending write), error.
_stats: Counter[tuple[str, str]] = Counter()
_lock = threading.Lock()
_state = {"down_until": 0.0, "flushed": 0.0}
FLUSH_SECONDS = 5.0

try:  # the errors of a Redis that went away (the redis package is only there with Redis)
    from redis.exceptions import RedisError

    BACKEND_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)
except ImportError:  # pragma: no cover
    BACKEND_ERRORS = (OSError,)


def version_key(name: str, organization_id: int) -> str:
    return f"v:{name}:{organization_id}"


def data_key(name: str, organization_id: int, version: int) -> str:
    return f"d:{name}:{organization_id}:{version}"


# ------------------------------------------------------------------ backend health
def available() -> bool:
    return time.monotonic() >= _state["down_until"]


def _failed(action: str, error: BaseException) -> None:
    """Log once per outage and bypass the cache for a while."""
    was_up = available()
    _state["down_until"] = time.monotonic() + settings.CACHE_RETRY_SECONDS
    if was_up:
        logger.warning(
            "cache unavailable (%s: %s); serving uncached for %ss",
            action,
            error,
            settings.CACHE_RETRY_SECONDS,
        )


def reset_health() -> None:
    _state["down_until"] = 0.0


# ------------------------------------------------------------------ counters
def _count(name: str, kind: str) -> None:
    with _lock:
        _stats[(name, kind)] += 1
    if time.monotonic() - _state["flushed"] >= FLUSH_SECONDS:
        flush_stats()


def local_stats() -> dict[str, dict[str, int]]:
    """This process's counters since it started: {name: {hit, miss, bypass, error}}."""
    with _lock:
        items = list(_stats.items())
    table: dict[str, dict[str, int]] = {}
    for (name, kind), value in items:
        table.setdefault(name, {"hit": 0, "miss": 0, "bypass": 0, "error": 0})[kind] = value
    return table


def stats_dir() -> Path:
    return Path(settings.VAR_DIR) / "cache-stats"


def flush_stats() -> None:
    """Write this process's counters to var/cache-stats/<pid>.json for `dbreport`."""
    _state["flushed"] = time.monotonic()
    try:
        folder = stats_dir()
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{os.getpid()}.json"
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(local_stats()))
        tmp.replace(target)
    except OSError as error:  # counters are best effort: never fail a request for them
        logger.debug("cannot write cache counters: %s", error)


def collected_stats() -> dict[str, dict[str, int]]:
    """Counters of every process that flushed since the last reset, added up."""
    flush_stats()
    total: dict[str, dict[str, int]] = {}
    for path in sorted(stats_dir().glob("*.json")):
        try:
            table = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        for name, counts in table.items():
            row = total.setdefault(name, {"hit": 0, "miss": 0, "bypass": 0, "error": 0})
            for kind, value in counts.items():
                row[kind] = row.get(kind, 0) + int(value)
    return total


def reset_stats() -> None:
    with _lock:
        _stats.clear()
    for path in stats_dir().glob("*.json"):
        path.unlink(missing_ok=True)


# ------------------------------------------------------------------ invalidation
class _Bump:
    """An on-commit callback bumping versions; its presence marks them pending."""

    def __init__(self, organization_id: int, names: frozenset[str]) -> None:
        self.organization_id = organization_id
        self.names = names

    def __call__(self) -> None:
        for name in sorted(self.names):
            bump(name, self.organization_id)


def bump(name: str, organization_id: int) -> None:
    """A new version of `name` for the organization: every reader misses from now on."""
    key = version_key(name, organization_id)
    try:
        try:
            cache.incr(key)
        except ValueError:  # no version yet (or evicted): any fresh number will do
            cache.set(key, _fresh_version(), None)
    except BACKEND_ERRORS as error:
        # The entry may now be stale until it expires: say so loudly.
        logger.error("cache: could not invalidate %s of organization %s: %s",
                     name, organization_id, error)  # fmt: skip
        _failed("bump", error)


def invalidate_on_commit(organization_id: int | None, *names: str, using: str = "default") -> None:
    """Bump the versions of `names` once the current transaction commits (now without one)."""
    if organization_id is None or not names:
        return
    connections[using].on_commit(_Bump(int(organization_id), frozenset(names)), robust=True)


def _pending(name: str, organization_id: int, using: str = "default") -> bool:
    connection = connections[using]
    if not connection.in_atomic_block:
        return False
    # Django drops the callbacks of rolled-back savepoints and transactions from
    # this list, so a write that was undone stops bypassing the cache.
    return any(
        isinstance(callback, _Bump)
        and callback.organization_id == organization_id
        and name in callback.names
        # (savepoint ids, callback, robust): django-stubs still declares pairs
        for callback in (entry[1] for entry in connection.run_on_commit)
    )


def _fresh_version() -> int:
    # Random, not 1: after an eviction or a restart of the cache, an old entry
    # under a reused number must not come back.
    return secrets.randbelow(2**40) + 1


# ------------------------------------------------------------------ reading
def _current_version(name: str, organization_id: int) -> int:
    key = version_key(name, organization_id)
    version = cache.get(key)
    if version is None:
        cache.add(key, _fresh_version(), None)
        version = cache.get(key)
    return int(version)


_bypassed: contextvars.ContextVar[bool] = contextvars.ContextVar("cache_bypassed", default=False)


@contextlib.contextmanager
def bypass() -> Iterator[None]:
    """Read from the database inside this block (the benchmark's uncached side)."""
    token = _bypassed.set(True)
    try:
        yield
    finally:
        _bypassed.reset(token)


def cached[T](name: str, organization_id: int, load: Callable[[], T]) -> T:
    """The organization's entry `name`, loaded with `load()` when missing or stale."""
    if _bypassed.get() or _pending(name, organization_id):
        _count(name, "bypass")
        return load()
    if not available():
        _count(name, "error")
        return load()
    try:
        version = _current_version(name, organization_id)
        value = cache.get(data_key(name, organization_id, version), _MISSING)
    except BACKEND_ERRORS as error:
        _failed("get", error)
        _count(name, "error")
        return load()
    if value is not _MISSING:
        _count(name, "hit")
        return value
    _count(name, "miss")
    value = load()
    try:
        cache.set(data_key(name, organization_id, version), value)
    except BACKEND_ERRORS as error:
        _failed("set", error)
    return value


def cached_read[T](
    name: str, organization_id: int, query: Callable[[], T], *, actor_id: int | None = None
) -> T:
    """`cached`, loading with `query()` under the organization's tenant, as `actor_id`:
    pass the actor the caller's transaction has set (an event's), so that a load inside
    a write sets nothing. A loader never sees (or caches) another tenant's rows."""

    def load() -> T:
        with tenant(organization_id, actor_id, savepoint=False):
            return query()

    return cached(name, organization_id, load)


def forget(names: Iterable[str], organization_id: int) -> None:
    """Invalidate now (operator commands, tests): same as a committed write."""
    for name in names:
        bump(name, organization_id)


def backend_name() -> str:
    return "redis" if settings.REDIS_URL else "local-memory"
