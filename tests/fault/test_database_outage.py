"""PostgreSQL killed with -9 under a running `deskbase up`, then restarted: the server
answers 503 at once while the database is gone, and the service and its job worker
come back by themselves. Real processes on a throw-away cluster of this test."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest

from tests.fault.processes import (
    HANG_SECONDS,
    database_env,
    owner_query,
    request,
    run,
    start_up,
    wait_until,
)
from tests.helpers import stop_process

pytestmark = pytest.mark.slow


def worker_alive(env: dict[str, str]) -> bool:
    return run(env, "jobs", "status", timeout=60).returncode == 0


def kill_postmaster(server) -> None:
    pid = server.status().pid
    assert pid
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_postgresql_killed_and_restarted_under_a_running_server(make_cluster, workdir):
    # Given `deskbase up` serving from a PostgreSQL of its own, with its job worker alive
    server = make_cluster(workdir / "server")
    server.start()
    server.ensure_database()
    env = database_env(server, workdir / "var", DESKBASE_WEB_WORKERS="2")
    assert run(env, "migrate").returncode == 0
    process, port = start_up(env, "--no-demo")
    try:
        wait_until(lambda: _answers(port, "/health") == 200, 90, "the server answering")
        wait_until(lambda: worker_alive(env), 90, "the job worker's first heartbeat", 2)
        assert request(port, "/api/v1/tickets").status == 401

        # When the postmaster is killed with -9
        kill_postmaster(server)
        assert not server.status().running

        # Then every kind of request is answered 503 at once, again and again
        for _ in range(3):
            health = request(port, "/health")
            assert health.status == 503
            assert health.seconds < HANG_SECONDS
            assert health.json()["database"]["reachable"] is False
            api = request(port, "/api/v1/tickets")
            assert api.status == 503, api.body
            assert api.content_type == "application/problem+json"
            assert api.json()["status"] == 503
            assert api.seconds < HANG_SECONDS
            page = request(port, "/login/")
            assert page.status == 503, page.body
            assert page.content_type.startswith("text/html")
            assert "database" in page.body.lower()
            assert page.seconds < HANG_SECONDS
            print(f"outage answers: health {health.seconds:.3f} s, api {api.seconds:.3f} s,"
                  f" page {page.seconds:.3f} s")  # fmt: skip
            time.sleep(1)

        # When PostgreSQL is started again
        restarted_at = owner_started(server)
        # Then the server recovers without a restart of its own
        wait_until(lambda: _answers(port, "/health") == 200, 60, "/health back to 200")
        assert request(port, "/api/v1/tickets").status == 401
        assert request(port, "/login/").status == 200
        # And a job worker is alive again, and runs a job deferred now
        wait_until(lambda: worker_alive(env), 120, "a live job worker after the outage", 2)
        deferred = run(
            env, "procrastinate", "defer", "-i", "deskbase.mark_sla_breaches", '{"timestamp": 0}'
        )
        assert deferred.returncode == 0, deferred.stderr
        wait_until(
            lambda: owner_query(
                server,
                "SELECT count(*) FROM dbtools_jobrun WHERE ok AND started_at > %s",
                [restarted_at],
            )[0][0],
            60,
            "a job run after the restart",
        )
    finally:
        output = stop_process(process)
    # And `up` reaped the worker that lost its database, said why, and started another
    assert re.search(r"job worker exited with code [1-9]\d* after \d+ s \(.+\)", output), output
    assert output.count("job worker started") >= 2, output
    assert process.returncode == 0, output


def owner_started(server):
    server.start()
    return owner_query(server, "SELECT now()")[0][0]


def _answers(port: int, path: str) -> int | None:
    try:
        return request(port, path, timeout=5).status
    except OSError:
        return None
