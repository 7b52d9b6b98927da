"""Problem documents (RFC 9457): the shape of every error under /api/.

Here in core, not in the API package, because two answers are written before any
view runs: the database outage's 503 (deskbase.core.outage) and the refusal of a
request body (deskbase.core.request_buffer). The API's handlers build theirs with
the same functions (deskbase.api.errors).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
from django.http import HttpResponse
from django.utils.functional import Promise

PROBLEM_TYPE = "application/problem+json"
TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    408: "Request timeout",
    409: "Conflict",
    413: "Too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    500: "Server error",
    503: "Service unavailable",
}


def problem_body(
    status: int, detail: str, errors: list[dict[str, str]] | None = None, **extra: Any
) -> dict[str, Any]:
    title = TITLES.get(status, "Error")
    return {
        "type": f"https://deskbase.dev/problems/{title.lower().replace(' ', '-')}",
        "title": title,
        "status": status,
        "detail": detail,
        "errors": errors or [],
        **extra,
    }


def _default(value: Any) -> Any:
    # A lazy translation or a Decimal in a message or an extra member: its text.
    if isinstance(value, (Promise, Decimal)):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def problem_response(
    status: int, detail: str, errors: list[dict[str, str]] | None = None, **extra: Any
) -> HttpResponse:
    """A problem document, also for errors raised outside the API's handlers."""
    return HttpResponse(
        orjson.dumps(problem_body(status, detail, errors, **extra), default=_default),
        status=status,
        content_type=PROBLEM_TYPE,
    )
