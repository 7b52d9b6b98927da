"""Error pages Django does not render from a template by itself."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form refused for its CSRF token: the styled 403, saying what to do."""
    message = gettext(
        "This form could not be accepted: it had expired or was not sent from this site. "
        "Reload the page and try again."
    )
    return render(request, "403.html", {"message": message}, status=403)
