"""One POST to a webhook receiver, SSRF-safe (deskbase.core.netguard).

The host is resolved once and refused if any of its addresses is internal; the
connection goes to exactly the address checked, with the name kept for the Host
header and for TLS (SNI and certificate verification), so DNS rebinding gains
nothing. Redirects are never followed (a 3xx is a failure), the connection and the
whole exchange have time limits, and at most `WEBHOOKS_RESPONSE_LIMIT` bytes of the
answer are read.

Connections are kept alive, per thread, keyed by the address checked (with the scheme,
port and name): a message reuses one only when its host resolved, again, to that same
address — so the worker's batch to one receiver costs one TCP (and TLS) handshake
instead of one per message, and a name that now answers another address gets a new
connection to the new, checked, address. A connection idle for `IDLE_SECONDS` is
closed before it would be reused, at most `KEPT_POOLS` are kept per thread (the least
recently used closed first), and one whose answer was not read to its end (cut at the
limit, timed out, failed) is closed, never reused.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import urllib3
from django.conf import settings

from deskbase.core import netguard

# Settings read at each use, with these defaults (docs/webhooks.md, "Settings").
DEFAULTS: dict[str, Any] = {
    "WEBHOOKS_CONNECT_TIMEOUT": 5.0,  # seconds to connect (TCP and TLS)
    "WEBHOOKS_TIMEOUT": 15.0,  # seconds for the whole exchange
    "WEBHOOKS_RESPONSE_LIMIT": 64 * 1024,  # bytes of the answer read at most
}
USER_AGENT = "deskbase-webhooks/1"
KEPT_POOLS = 16  # receivers' addresses a thread keeps a connection to
IDLE_SECONDS = 30.0  # below the usual servers' keep-alive timeouts (nginx 75 s, Go 180 s)
SETTING = "DESKBASE_WEBHOOKS_ALLOW_PRIVATE_HOSTS"


def setting(name: str) -> Any:
    return getattr(settings, name, DEFAULTS[name])


def allow_private() -> bool:
    return bool(getattr(settings, "WEBHOOKS_ALLOW_PRIVATE_HOSTS", False))


@dataclass
class Answer:
    status: int | None
    body: bytes
    duration_ms: int
    error: str  # "" when the receiver answered (whatever its status)
    address: str  # the address connected to ("" when none was)


def check_address(url: str, *, resolver: netguard.Resolver | None = None) -> str:
    """The one address `url`'s host resolves to; HostRefused (naming `url`) if internal."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return netguard.resolve(
        parts.hostname or "", port, field="url", allow_private=allow_private(), setting=SETTING,
        what="webhook receivers", resolver=resolver,
    )  # fmt: skip


def post(
    url: str, body: bytes, headers: dict[str, str], *, resolver: netguard.Resolver | None = None
) -> Answer:
    """POST `body` to `url`; never raises for the receiver's faults (they are in `error`).

    HostRefused (the URL's host is internal) propagates.
    """
    started = time.monotonic()
    parts = urlsplit(url)
    address = ""
    try:
        address = check_address(url, resolver=resolver)
    except OSError as exc:
        return Answer(None, b"", _ms(started), f"cannot resolve {parts.hostname}: {exc}", "")
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    timeout = urllib3.Timeout(
        connect=setting("WEBHOOKS_CONNECT_TIMEOUT"), read=setting("WEBHOOKS_TIMEOUT")
    )
    key = (https, address, port, parts.hostname or "")
    pool = _pools.take(key)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    sent = {
        "Host": parts.netloc.rsplit("@", 1)[-1],
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **headers,
    }
    reusable = False
    try:
        response = pool.urlopen(
            "POST", path, body=body, headers=sent, redirect=False, retries=False,
            preload_content=False, assert_same_host=False, timeout=timeout,
        )  # fmt: skip
        try:
            data, error = _read(response, started)
        finally:
            # Back to the pool only when the answer was read to its end without fault.
            reusable = not error and response.closed  # read to its end
            if reusable:
                response.release_conn()
            else:
                response.close()
        return Answer(response.status, data, _ms(started), error, address)
    except urllib3.exceptions.HTTPError as exc:
        return Answer(None, b"", _ms(started), _describe(exc), address)
    except OSError as exc:
        return Answer(None, b"", _ms(started), f"{type(exc).__name__}: {exc}", address)
    finally:
        _pools.give_back(key, pool, reusable=reusable)


class _Pools(threading.local):
    """This thread's connection pools (one connection each), least recently used first."""

    def __init__(self) -> None:
        self.kept: OrderedDict[tuple[bool, str, int, str], tuple[Any, float]] = OrderedDict()

    def take(self, key: tuple[bool, str, int, str]) -> urllib3.HTTPConnectionPool:
        """The kept pool to exactly this checked address, unless idle too long; or a new one."""
        now = time.monotonic()
        for other, (pool, used) in list(self.kept.items()):
            if now - used > IDLE_SECONDS:
                del self.kept[other]
                pool.close()
        if key in self.kept:
            return self.kept.pop(key)[0]
        https, address, port, hostname = key
        host = f"[{address}]" if ":" in address else address
        if https:
            return urllib3.HTTPSConnectionPool(
                host, port, retries=False, maxsize=1, server_hostname=hostname,
                assert_hostname=hostname, cert_reqs="CERT_REQUIRED",
            )  # fmt: skip
        return urllib3.HTTPConnectionPool(host, port, retries=False, maxsize=1)

    def give_back(self, key: tuple[bool, str, int, str], pool: Any, *, reusable: bool) -> None:
        if not reusable:
            pool.close()
            return
        self.kept[key] = (pool, time.monotonic())
        while len(self.kept) > KEPT_POOLS:
            pool, _ = self.kept.popitem(last=False)[1]
            pool.close()

    def close_all(self) -> None:
        while self.kept:
            self.kept.popitem()[1][0].close()


_pools = _Pools()


def close_connections() -> None:
    """Close the connections this thread keeps alive (tests, and a worker stopping)."""
    _pools.close_all()


def _read(response: Any, started: float) -> tuple[bytes, str]:
    """Up to the limit of the answer, within the total time; (bytes, error)."""
    limit = setting("WEBHOOKS_RESPONSE_LIMIT")
    deadline = started + setting("WEBHOOKS_TIMEOUT")
    data = b""
    while len(data) < limit:
        if time.monotonic() > deadline:
            return data, "the answer took longer than the time limit"
        try:
            chunk = response.read(min(8192, limit - len(data)))
        except urllib3.exceptions.HTTPError as exc:
            return data, _describe(exc)
        if not chunk:
            break
        data += chunk
    return data, ""


def _describe(exc: Exception) -> str:
    if isinstance(exc, urllib3.exceptions.ConnectTimeoutError):
        return "timed out connecting to the receiver"
    if isinstance(exc, urllib3.exceptions.ReadTimeoutError):
        return "timed out waiting for the receiver's answer"
    if isinstance(exc, urllib3.exceptions.SSLError):
        return f"TLS failed: {exc}"
    return f"{type(exc).__name__}: {exc}"


def _ms(started: float) -> int:
    return max(0, round((time.monotonic() - started) * 1000))
