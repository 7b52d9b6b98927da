"""Slow clients (slowloris): many connections that send their headers, then trickle
their body at 2 bytes a second, must not keep a probe client from being served by
the default `deskbase up`. Real gunicorn, real sockets, on this machine only."""

from __future__ import annotations

import socket
import statistics
import threading
import time

import pytest

from tests.fault.processes import (
    HANG_SECONDS,
    database_env,
    request,
    run,
    start_up,
    wait_until,
)
from tests.helpers import stop_process

pytestmark = pytest.mark.slow

SLOW_CLIENTS = 64
BODY = b"organization=demo&username=slow%40x.test&password=trickle-trickle"  # 66 bytes
TRICKLE_SECONDS = 0.5  # 2 bytes a second, one byte each half second
PROBES = 20


def slow_client(port: int, stop: threading.Event, opened: list) -> None:
    """Headers at once, then the body a byte at a time, until told to stop (bounded)."""
    try:
        conn = socket.create_connection(("127.0.0.1", port), timeout=5)
    except OSError:
        return
    opened.append(1)
    try:
        conn.sendall(
            b"POST /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: " + str(len(BODY)).encode() + b"\r\n\r\n"
        )
        for byte in BODY:
            if stop.wait(TRICKLE_SECONDS):
                break
            conn.sendall(bytes([byte]))
    except OSError:
        pass  # the server may end a connection that is too slow: that is its right
    finally:
        conn.close()


def silent_client(port: int, answers: list) -> None:
    """Headers, a few bytes of the body, then silence: the server must give up on it."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as conn:
        conn.sendall(
            b"POST /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 100\r\n\r\norganization"
        )
        answers.append(conn.recv(200).split(b"\r\n")[0])


def probe(port: int, count: int) -> list[float]:
    """`count` ordinary requests one after the other; each must be answered."""
    seconds = []
    for index in range(count):
        path = "/login/" if index % 2 else "/health"
        answer = request(port, path, timeout=HANG_SECONDS * 3)
        assert answer.status == 200, (path, answer.status, answer.body[:200])
        assert answer.seconds < HANG_SECONDS, (path, answer.seconds)
        seconds.append(answer.seconds)
    return seconds


def test_sixty_four_slow_clients_do_not_freeze_the_server(make_cluster, workdir):
    # Given the default `deskbase up` (its own database, default web settings)
    server = make_cluster(workdir / "server")
    server.start()
    server.ensure_database()
    env = database_env(server, workdir / "var")
    assert run(env, "migrate").returncode == 0
    process, port = start_up(env, "--no-demo", "--no-worker")
    stop = threading.Event()
    threads: list[threading.Thread] = []
    try:
        wait_until(lambda: _status(port) == 200, 90, "the server answering")
        quiet = probe(port, PROBES)

        # When 64 clients open connections and trickle their bodies
        opened: list = []
        threads = [
            threading.Thread(target=slow_client, args=(port, stop, opened), daemon=True)
            for _ in range(SLOW_CLIENTS)
        ]
        silent: list = []
        threads.append(threading.Thread(target=silent_client, args=(port, silent), daemon=True))
        for thread in threads:
            thread.start()
        wait_until(lambda: len(opened) == SLOW_CLIENTS, 30, "the slow clients connected", 0.1)
        time.sleep(3)  # they are all mid-body now

        # Then a probe client's ordinary requests are all answered
        loaded = probe(port, PROBES)
        assert all(thread.is_alive() for thread in threads[:8]), "slow clients were still slow"
        # And a client that stopped sending is answered 408 and let go (the read timeout)
        wait_until(lambda: silent, 60, "an answer to the silent client")
        assert silent == [b"HTTP/1.1 408 Request Timeout"]
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        output = stop_process(process)
    assert process.returncode == 0, output
    print(
        f"probe latency, median / max: quiet {statistics.median(quiet) * 1000:.1f} ms /"
        f" {max(quiet) * 1000:.1f} ms; with {SLOW_CLIENTS} slow clients"
        f" {statistics.median(loaded) * 1000:.1f} ms / {max(loaded) * 1000:.1f} ms"
    )


def _status(port: int) -> int | None:
    try:
        return request(port, "/health", timeout=5).status
    except OSError:
        return None
