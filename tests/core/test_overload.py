"""The admission gate: a bounded wait for the application's slots, then a fast 503.

Real threads, no timing thresholds: a request is held in the application by an
event the test sets, and the test waits for the gate's own counters to say where
each request is."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

import pytest

from deskbase.core import overload
from deskbase.core.overload import Gate, Overloaded
from deskbase.core.request_buffer import BufferedRequests


def wait_for(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30  # a hang, not a measurement
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.005)


class HeldApp:
    """A WSGI application whose answers wait until `release` is set."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = 0

    def __call__(self, environ, start_response):
        self.entered += 1
        if environ["PATH_INFO"] != "/health":
            assert self.release.wait(30), "never released"
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]


def call(app, path: str) -> tuple[str, dict[str, str], bytes]:
    """One request, in a thread of its own as a server's (with no database connection
    of this test's to give back)."""
    answer: dict = {}

    def start_response(status, headers):
        answer["status"], answer["headers"] = status, dict(headers)

    def run() -> None:
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "wsgi.input": None}
        answer["body"] = b"".join(app(environ, start_response))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(30)
    return answer["status"], answer["headers"], answer["body"]


def in_thread(app, path: str, answers: list) -> threading.Thread:
    thread = threading.Thread(target=lambda: answers.append(call(app, path)[0]), daemon=True)
    # (call's own thread does the request; this one waits for it)
    thread.start()
    return thread


def test_past_the_slots_and_the_queue_a_request_is_refused_and_the_gate_recovers():
    # Given one slot taken and one request waiting for it (a queue of one)
    gate = Gate(slots=1, queue=1, wait_seconds=60)
    gate.enter()
    got_in: list[bool] = []
    waiter = threading.Thread(target=lambda: (gate.enter(), got_in.append(True), gate.leave()))
    waiter.start()
    wait_for(lambda: gate.report()["waiting"] == 1, "the second request waiting")
    # When a third comes
    # Then it is refused at once, and counted
    with pytest.raises(Overloaded, match="queue is full"):
        gate.enter()
    assert gate.report() == {"slots": 1, "in_flight": 1, "queue": 1, "waiting": 1,
                             "refused": 1, "queue_wait_ms": 60000}  # fmt: skip
    # When the first leaves, the waiting one gets the slot
    gate.leave()
    waiter.join(30)
    assert got_in == [True]
    # And once the load is gone a request gets in again
    with gate.admitted():
        assert gate.report()["in_flight"] == 1
    assert gate.report()["in_flight"] == 0


def test_a_request_that_waited_its_whole_wait_is_refused():
    # Given the only slot taken, and a wait of a few milliseconds
    gate = Gate(slots=1, queue=5, wait_seconds=0.01)
    gate.enter()
    # When another request comes, then it waits and is refused, not queued for ever
    with pytest.raises(Overloaded, match="no slot within the wait"):
        gate.enter()
    assert gate.report()["waiting"] == 0
    gate.leave()


@pytest.mark.parametrize(
    ("path", "content_type", "text"),
    [
        ("/api/v1/tickets", "application/problem+json", "overloaded"),
        ("/tickets/", "text/html; charset=utf-8", "Too busy"),
    ],
)
def test_the_refusal_is_a_fast_503_in_the_form_of_the_path(path, content_type, text):
    # Given a server process with one slot, taken, and no room to wait
    app = HeldApp()
    served = BufferedRequests(app, slots=1, read_timeout=1, queue=0, queue_wait=60)
    first: list = []
    holder = in_thread(served, "/tickets/", first)
    wait_for(lambda: served.gate.report()["in_flight"] == 1, "the first request in")
    # When another request comes
    status, headers, body = call(served, path)
    # Then a 503 with Retry-After, a problem under /api/ and a page elsewhere
    assert status.startswith("503 ")
    assert headers["Retry-After"] == str(overload.RETRY_AFTER_SECONDS)
    assert headers["Content-Type"] == content_type
    assert text in body.decode()
    if path.startswith("/api/"):
        assert json.loads(body)["status"] == 503
    # And /health is answered, not gated
    assert call(served, "/health")[0] == "200 OK"
    # And when the load is gone the server answers again
    app.release.set()
    holder.join(30)
    assert first == ["200 OK"]
    assert call(served, path)[0] == "200 OK"
    assert served.gate.report()["refused"] == 1
