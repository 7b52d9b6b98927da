"""Running one prepared scenario: K client threads, warm-up, timed samples, errors."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, connections

from deskbase.benchmarks.httpclient import HttpResult
from deskbase.benchmarks.registry import Prepared
from deskbase.core.middleware import QueryTimer

MAX_ERROR_MESSAGES = 5


@dataclass(frozen=True)
class Observation:
    """What one call reports besides its latency (None when unknown)."""

    queries: int | None = None
    db_ms: float | None = None
    server_ms: float | None = None


Call = Callable[[], Observation]
OpenWorker = Callable[[int], AbstractContextManager[Call]]


@dataclass
class Measurement:
    latencies_ms: list[float] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    errors: int = 0
    error_messages: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0

    def record(self, call: Call) -> None:
        start = time.perf_counter()
        try:
            observation = call()
        except Exception as error:  # a failed request is a result of the run, not a crash
            self.errors += 1
            message = f"{type(error).__name__}: {error}".strip()[:300]
            if message not in self.error_messages and len(self.error_messages) < MAX_ERROR_MESSAGES:
                self.error_messages.append(message)
            return
        # list.append is atomic: the threads share these lists without a lock.
        self.latencies_ms.append((time.perf_counter() - start) * 1000)
        self.observations.append(observation)


def drive(open_worker: OpenWorker, *, samples: int, warmup: int, concurrency: int) -> Measurement:
    """Warm up each of `concurrency` threads, release them together, take `samples` calls.

    The threads share one quota, so the total is `samples` whatever K is; the
    wall time runs from the release to the last thread's end (throughput).
    """
    measurement = Measurement()
    barrier = threading.Barrier(concurrency + 1)
    failures: list[BaseException] = []
    lock, taken = threading.Lock(), 0

    def take() -> bool:
        nonlocal taken
        with lock:
            taken += 1
            return taken <= samples

    def body(index: int) -> None:
        try:
            with open_worker(index) as call:
                for _ in range(warmup):
                    call()
                barrier.wait()
                while take():
                    measurement.record(call)
        except threading.BrokenBarrierError:
            pass  # another thread failed to start: its error is the one reported
        except BaseException as error:  # reported as the scenario's failure
            failures.append(error)
            barrier.abort()

    threads = [threading.Thread(target=body, args=(i,), name=f"bench-{i}", daemon=True)
               for i in range(concurrency)]  # fmt: skip
    for thread in threads:
        thread.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    measurement.wall_seconds = time.perf_counter() - start
    if failures:
        raise failures[0]
    return measurement


def inprocess_worker(prepared: Prepared) -> OpenWorker:
    """Threads with their own Django connection; queries counted like the server counts them."""

    @contextlib.contextmanager
    def open_worker(index: int) -> Iterator[Call]:
        try:
            function = prepared.worker(index)
            timer = QueryTimer()  # the execute wrapper behind the Server-Timing header

            def call() -> Observation:
                timer.count, timer.seconds = 0, 0.0
                function()
                return Observation(queries=timer.count, db_ms=timer.seconds * 1000)

            with connection.execute_wrapper(timer):
                yield call
        finally:
            connections.close_all()  # this thread's connections only

    return open_worker


def http_worker(prepared: Prepared) -> OpenWorker:
    """Threads with their own HTTP client; queries and db time from Server-Timing."""

    @contextlib.contextmanager
    def open_worker(index: int) -> Iterator[Call]:
        try:
            request = prepared.worker(index)  # may use the database (a session to sign in)

            def call() -> Observation:
                result: Any = request()
                timing = result.timing if isinstance(result, HttpResult) else None
                if timing is None:
                    return Observation()
                return Observation(queries=timing.queries, db_ms=timing.db_ms,
                                   server_ms=timing.total_ms)  # fmt: skip

            yield call
        finally:
            connections.close_all()  # this thread's connections only

    return open_worker
