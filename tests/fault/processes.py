"""Helpers of the fault tests: a `deskbase up` against a throw-away PostgreSQL, and
HTTP requests that report how long they took (to tell an answer from a hang)."""

from __future__ import annotations

import http.client
import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from deskbase.embedded.cluster import APP_ROLE, OWNER_ROLE, Cluster
from deskbase.testing.plugin import free_port
from tests.helpers import DESKBASE, deskbase_env

# A request that takes longer than this is hanging, not answering (generous: the
# machine is shared; a healthy answer, even a 503, takes milliseconds).
HANG_SECONDS = 10


@dataclass
class Answer:
    status: int
    content_type: str
    body: str
    seconds: float

    def json(self) -> dict:
        return json.loads(self.body)


def request(port: int, path: str, *, method: str = "GET", timeout: float = 30) -> Answer:
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, headers={"Accept": "text/html,application/json"})
        response = conn.getresponse()
        body = response.read().decode(errors="replace")
        return Answer(
            response.status,
            response.getheader("Content-Type", ""),
            body,
            time.monotonic() - started,
        )
    finally:
        conn.close()


def database_env(server: Cluster, var: Path, **extra: str) -> dict[str, str]:
    return deskbase_env(
        DATABASE_URL=server.url(OWNER_ROLE),
        DATABASE_APP_URL=server.url(APP_ROLE),
        DESKBASE_VAR_DIR=str(var),
        **extra,
    )


def run(env: dict[str, str], *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [DESKBASE, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def start_up(env: dict[str, str], *args: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    process = subprocess.Popen(
        [DESKBASE, "up", "--port", str(port), *args],
        env=env | {"PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return process, port


def wait_until(predicate, timeout: float, what: str, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout} s")


def owner_query(server: Cluster, sql: str, params: list | None = None) -> list[tuple]:
    with psycopg.connect(server.url(OWNER_ROLE), connect_timeout=5) as conn:
        return conn.execute(sql, params or []).fetchall()
