"""What every web view shares: who may enter, and how domain errors reach the page."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.functional import Promise
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext, gettext_lazy

from deskbase.accounts.models import Role, User
from deskbase.accounts.requests import AuthedRequest
from deskbase.core.errors import (
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from deskbase.tickets.permissions import is_staff_member

MANAGERS = (Role.ADMIN, Role.MANAGER)


def forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "403.html", {"message": message}, status=403)


def _guard(test: Callable[[User], bool], message: str | Promise) -> Callable:
    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @functools.wraps(view)
        def wrapped(request: AuthedRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not test(request.user):
                return forbidden(request, str(message))
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


staff_required = _guard(
    is_staff_member, gettext_lazy("This page is for agents, managers and admins.")
)
manager_required = _guard(
    lambda u: u.role in MANAGERS, gettext_lazy("This page is for admins and managers.")
)
customer_required = _guard(
    lambda u: not is_staff_member(u), gettext_lazy("The portal is for customers.")
)


def back(request: HttpRequest, fallback: str) -> HttpResponse:
    """Redirect to the form's `next` when it is a local address, else to `fallback`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if not target and request.method == "POST":
        target = request.headers.get("Referer", "")  # the page whose form was sent
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(fallback)


def page_of(path: str) -> str:
    """The page an action's form lives on: /desk/tickets/7/assign -> /desk/tickets/7/,
    /manage/people/3/remove -> /manage/people/; a page is itself."""
    if path.endswith("/"):
        return path
    parts = path.strip("/").split("/")
    if parts[0] == "manage":
        return f"/manage/{parts[1]}/" if len(parts) > 1 else "/manage/"
    return "/" + "/".join(parts[:-1]) + "/"


def error_text(error: DomainError) -> str:
    if isinstance(error, Conflict) and error.field == "version":
        # The service names the versions (API clients compare them); people just reload.
        return gettext(
            "Someone else changed this since you opened it: reload the page and try again."
        )
    if isinstance(error, ValidationFailed):
        return "; ".join(
            f"{field.replace('_', ' ')}: {' '.join(texts)}"
            if field != "__all__"
            else " ".join(texts)
            for field, texts in error.errors.items()
        )
    return error.message[:1].upper() + error.message[1:]


def domain_errors(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Absent is a 404 page, forbidden a 403 page; any other refusal (bad input, a
    state that forbids the act) goes back to the page as a message naming the field."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404("not found") from None
        except PermissionDenied as error:
            return forbidden(request, error_text(error))
        except DomainError as error:
            messages.error(request, error_text(error))
            return back(request, page_of(request.path))

    return wrapped
