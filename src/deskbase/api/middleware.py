"""Under /api/, every error is a problem document, also the ones Django answers itself.

The API's own errors are problems already (deskbase.api.errors). Some never reach
it: an unknown path (Django's 404 page), a method the operation lacks (a bare
405), a Host header outside ALLOWED_HOSTS or another malformed request (Django's
400 page), a server error (Django's 500 page). This middleware, outside all the
others, turns each such answer into `application/problem+json` with the same
status and headers, so an API client parses every error the same way.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from deskbase.core.problems import PROBLEM_TYPE, problem_response

PREFIX = "/api/"
DETAILS = {
    400: "The request is malformed.",
    403: "Forbidden.",
    404: "No such endpoint.",
    405: "This endpoint does not take that method.",
    413: "The body is too large.",
    500: "The server failed to answer; the error is logged.",
}
KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate", "Server-Timing")


class ApiProblemMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code < 400 or not request.path.startswith(PREFIX):
            return response
        if response.get("Content-Type", "").startswith(PROBLEM_TYPE):
            return response
        status = response.status_code
        detail = DETAILS.get(status, "The request failed.")
        if status == 404:
            detail = f"No such endpoint: {request.method} {request.path[:200]}."
        elif status == 405:
            detail = f"{request.path[:200]} does not take {request.method}."
        problem = problem_response(status, detail)
        for header in KEPT_HEADERS:
            if header in response:
                problem[header] = response[header]
        return problem
