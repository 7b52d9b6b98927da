"""Per-request timing: the Server-Timing header, the slow-request and slow-statement logs,
and (in development and tests) the N+1 detector of deskbase.core.querylog."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import ExitStack

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse

from deskbase.core.querylog import RequestQueries

logger = logging.getLogger("deskbase.slow")


class QueryTimer:
    """Execute wrapper that counts queries and adds up their time on every connection."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - start
            self.count += 1


class ServerTimingMiddleware:
    """Adds `Server-Timing: total, db (with the query count), app` and logs slow requests."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.get_full_path()[:200]
        timer = RequestQueries(request.method or "", path)
        start = time.perf_counter()
        with ExitStack() as stack:
            for connection in connections.all():
                stack.enter_context(connection.execute_wrapper(timer))
            response = self.get_response(request)
        total_ms = (time.perf_counter() - start) * 1000
        db_ms = timer.seconds * 1000
        if settings.SERVER_TIMING:
            noun = "query" if timer.count == 1 else "queries"
            response["Server-Timing"] = (
                f'total;dur={total_ms:.1f}, db;dur={db_ms:.1f};desc="{timer.count} {noun}", '
                f"app;dur={max(total_ms - db_ms, 0):.1f}"
            )
        if total_ms >= settings.SLOW_REQUEST_MS:
            logger.warning(
                "slow request %s %s -> %s in %.1f ms (%d queries, %.1f ms in the database)",
                request.method,
                path,
                response.status_code,
                total_ms,
                timer.count,
                db_ms,
            )
        # After the response is made, so the error names the whole count; it
        # propagates (a 500, re-raised by the test client) in development and tests.
        timer.check()
        return response
