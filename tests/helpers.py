"""Helpers for tests that drive `deskbase` processes and their HTTP servers, and for
raw SQL that the database must refuse."""

from __future__ import annotations

import http.cookiejar
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, transaction

DESKBASE = str(Path(sys.executable).with_name("deskbase"))


@dataclass
class Http:
    status: int
    headers: dict[str, str]
    body: str


def http_get(url: str, opener: urllib.request.OpenerDirector | None = None) -> Http:
    opener = opener or urllib.request.build_opener()
    try:
        with opener.open(url, timeout=10) as response:
            return Http(response.status, dict(response.headers), response.read().decode())
    except urllib.error.HTTPError as error:
        return Http(error.code, dict(error.headers), error.read().decode())


def wait_for_http(url: str, process: subprocess.Popen, timeout: float = 240) -> Http:
    # A hang check, not a speed test: a first `deskbase up` (initdb, migrate, demo) takes
    # about a minute and a half on a busy 2-core machine.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise AssertionError(f"server exited with {process.returncode}:\n{output}")
        try:
            return http_get(url)
        except (urllib.error.URLError, OSError):
            time.sleep(0.25)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def session_opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )


def deskbase_env(**overrides: str) -> dict[str, str]:
    """The environment of a child `deskbase` process, without the suite's database."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "DESKBASE_", "DJANGO_"))
    }
    env.update(overrides)
    return env


def stop_process(process: subprocess.Popen, timeout: float = 60) -> str:
    if process.poll() is None:
        process.terminate()
    output, _ = process.communicate(timeout=timeout)
    return output or ""


def assert_sql_refused(error: type[Exception], match: str, sql: str, params: Any) -> None:
    """Raw SQL, past every service, that PostgreSQL must refuse with `error` whose message
    matches `match`; run in a savepoint, so the test's transaction stays usable."""
    with pytest.raises(error, match=match), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


# A 1x1 PNG: what the sniffer recognizes, whatever the client claims.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8ffff3f0005fe02fea7d6a4e60000000049454e44ae426082"
)


def make_ticket(world: Any, customer: Any = None) -> Any:
    """A ticket of `world`'s organization (for its customer, or `customer`), written
    directly: for tests of what comes after a ticket exists, not of its creation."""
    from deskbase.core.tenancy import tenant
    from deskbase.tickets.models import Ticket

    with tenant(world.org):
        ticket = Ticket.objects.create(
            organization=world.org, subject="Printer on fire", customer=customer or world.customer
        )
        ticket.refresh_from_db(fields=["number"])
    return ticket
