"""One POST to a webhook receiver, SSRF-safe (deskbase.core.netguard).

The host is resolved once and refused if any of its addresses is internal; the
connection goes to exactly the address checked, with the name kept for the Host
header and for TLS (SNI and certificate verification), so DNS rebinding gains
nothing. Redirects are never followed (a 3xx is a failure), the connection and the
whole exchange have time limits, and at most `WEBHOOKS_RESPONSE_LIMIT` bytes of the
answer are read.
"""

from __future__ import annotations

import time
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
    pool_host = f"[{address}]" if ":" in address else address
    timeout = urllib3.Timeout(
        connect=setting("WEBHOOKS_CONNECT_TIMEOUT"), read=setting("WEBHOOKS_TIMEOUT")
    )
    pool: urllib3.HTTPConnectionPool
    if https:
        pool = urllib3.HTTPSConnectionPool(
            pool_host, port, timeout=timeout, retries=False, maxsize=1,
            server_hostname=parts.hostname, assert_hostname=parts.hostname,
            cert_reqs="CERT_REQUIRED",
        )  # fmt: skip
    else:
        pool = urllib3.HTTPConnectionPool(pool_host, port, timeout=timeout, retries=False)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    sent = {
        "Host": parts.netloc.rsplit("@", 1)[-1],
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **headers,
    }
    try:
        response = pool.urlopen(
            "POST", path, body=body, headers=sent, redirect=False, retries=False,
            preload_content=False, assert_same_host=False,
        )  # fmt: skip
        try:
            data, error = _read(response, started)
        finally:
            response.release_conn()
        return Answer(response.status, data, _ms(started), error, address)
    except urllib3.exceptions.HTTPError as exc:
        return Answer(None, b"", _ms(started), _describe(exc), address)
    except OSError as exc:
        return Answer(None, b"", _ms(started), f"{type(exc).__name__}: {exc}", address)
    finally:
        pool.close()


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
