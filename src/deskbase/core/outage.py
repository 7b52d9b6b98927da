"""A database outage answered as one: 503 at once, problem+json under /api/, a plain
HTML page elsewhere, instead of requests hanging for the pool's timeout and then
failing as 500s (docs/operations.md, "When PostgreSQL goes away").

DatabaseOutageMiddleware stands outside every middleware that touches the database
(the session, the tenant's transaction). While the last connection attempt failed
within the last second, and a fresh one fails too, it answers before any of them
runs; otherwise it lets the request through and turns the 500 of a request that
lost its database into a 503. Such a request failed inside an inner middleware or
a view, where Django turned the exception into a 500 response already:
got_request_exception marks the request then.

/health and the static files are left alone: /health reports the outage itself
(deskbase.core.health), and static files need no database.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.conf import settings
from django.core.signals import got_request_exception
from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from deskbase.core.db.base import DatabaseUnavailable
from deskbase.core.db.pool import REACHABILITY
from deskbase.core.problems import problem_response

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
_MARK = "_deskbase_database_outage"

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Service unavailable</title></head>
<body>
<h1>Service unavailable</h1>
<p>deskbase cannot reach its database right now. Nothing you did caused this;
please try again in a moment.</p>
</body>
</html>
"""


def is_outage(exc: BaseException | None) -> bool:
    """A database error that means the database is gone, not that a statement failed."""
    if isinstance(exc, DatabaseUnavailable):
        return True
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    # A server that died mid-request leaves the connection broken or closed; a failed
    # statement (a lock timeout, a serialization failure) leaves it usable.
    for conn in connections.all(initialized_only=True):
        raw = conn.connection
        if raw is not None and (raw.closed or getattr(raw, "broken", False)):
            return True
    return False


@receiver(got_request_exception)
def _mark_outage(sender: object, request: HttpRequest | None = None, **kwargs: object) -> None:
    if request is not None and is_outage(sys.exc_info()[1]):
        setattr(request, _MARK, True)


def unavailable(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        response = problem_response(503, "The database is unreachable; try again shortly.")
    else:
        # Inline, not a template: nothing on this path may need the database.
        response = HttpResponse(PAGE, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    # Expected while the database is away, and logged once here rather than as an
    # error line per request by Django's request log.
    # (django.utils.log.log_response skips a response carrying this private mark, which
    # django-stubs does not declare)
    setattr(response, "_has_been_logged", True)  # noqa: B010
    return response


class DatabaseOutageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/health" or request.path.startswith(settings.STATIC_URL):
            return self.get_response(request)
        if REACHABILITY.down():
            return unavailable(request)
        try:
            response = self.get_response(request)
        except DatabaseError as exc:  # raised past Django's own handling (a 500 page failed)
            if not is_outage(exc):
                raise
            logger.warning("database unavailable: %s %s: %s", request.method, request.path, exc)
            return unavailable(request)
        if response.status_code >= 500 and getattr(request, _MARK, False):
            logger.warning("database unavailable: %s %s answered 503", request.method, request.path)
            return unavailable(request)
        return response
