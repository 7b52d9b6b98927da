"""Overload: more concurrent slow requests than a server process takes get fast 503s
with Retry-After, /health still answers, and the server recovers by itself.

Real `deskbase up` (gunicorn, one process, two application slots, a queue of two).
The requests are made slow by PostgreSQL itself: the test holds a lock on the
session table, so every request that carries a session cookie waits on it. No
timing thresholds: the server's own counters (/health) say where each request is."""

from __future__ import annotations

import http.client
import json
import threading

import psycopg
import pytest

from deskbase.embedded.cluster import OWNER_ROLE
from tests.fault.processes import database_env, run, start_up, wait_until
from tests.helpers import stop_process

pytestmark = pytest.mark.slow

SLOTS, QUEUE = 2, 2
COOKIE = "sessionid=" + "x" * 32  # no such session: reading it is what waits


def get(port: int, path: str, cookie: str | None = None) -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = conn.getresponse()
        body = response.read().decode(errors="replace")
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        conn.close()


def gate(port: int) -> dict:
    try:
        return json.loads(get(port, "/health")[2]).get("server") or {}
    except (OSError, ValueError):
        return {}


def test_more_slow_requests_than_slots_and_queue_get_fast_503s_then_it_recovers(
    make_cluster, workdir
):
    # Given `deskbase up` with one process of 2 slots and a queue of 2 (a long wait)
    server = make_cluster(workdir / "server")
    server.start()
    server.ensure_database()
    env = database_env(
        server, workdir / "var", DESKBASE_WEB_WORKERS="1", DESKBASE_WEB_THREADS=str(SLOTS),
        DESKBASE_WEB_QUEUE=str(QUEUE), DESKBASE_WEB_QUEUE_WAIT_MS="120000",
    )  # fmt: skip
    assert run(env, "migrate").returncode == 0
    process, port = start_up(env, "--no-demo", "--no-worker")
    slow: list[int] = []
    threads: list[threading.Thread] = []
    lock = psycopg.connect(server.url(OWNER_ROLE), autocommit=False)
    try:
        wait_until(lambda: gate(port).get("slots") == SLOTS, 180, "the server answering")
        # When the session table is locked and four requests with a session cookie come
        lock.execute("LOCK TABLE django_session IN ACCESS EXCLUSIVE MODE")
        threads = [
            threading.Thread(target=lambda: slow.append(get(port, "/login/", COOKIE)[0]))
            for _ in range(SLOTS + QUEUE)
        ]
        for thread in threads:
            thread.start()
        wait_until(
            lambda: (g := gate(port)).get("in_flight") == SLOTS and g.get("waiting") == QUEUE,
            60, "two requests in the slots and two waiting", 0.1,
        )  # fmt: skip

        # Then one more is refused at once: a problem under /api/, a page elsewhere
        status, headers, body = get(port, "/api/v1/me")
        assert status == 503
        assert headers["retry-after"] == "2"
        assert headers["content-type"] == "application/problem+json"
        assert json.loads(body)["status"] == 503
        status, headers, body = get(port, "/login/")
        assert (status, headers["retry-after"]) == (503, "2")
        assert headers["content-type"].startswith("text/html")
        assert "Too busy" in body
        # And /health answers, saying so
        report = gate(port)
        assert report["refused"] == 2
        assert (report["in_flight"], report["waiting"]) == (SLOTS, QUEUE)

        # When the load goes away (the lock is released)
        lock.rollback()
        for thread in threads:
            thread.join(60)
        # Then every request that was let in or waited is answered normally
        assert sorted(slow) == [200] * (SLOTS + QUEUE)
        # And new requests are served again: the server recovered by itself
        assert get(port, "/login/")[0] == 200
        assert get(port, "/api/v1/me")[0] == 401
        assert gate(port)["in_flight"] == 0
    finally:
        lock.close()
        for thread in threads:
            thread.join(10)
        output = stop_process(process)
    assert process.returncode == 0, output
