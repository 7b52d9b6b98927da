"""The shapes administration pages share.

- `form_page`: parse the form, call one service, and on a refusal show the form again
  (422) with what was typed and each error beside its input.
- `action`: a button that changes one thing (remove, restore, add a member): the view
  calls the service and returns what it did, shown on the page it goes back to.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from deskbase.accounts.models import User
from deskbase.accounts.requests import AuthedRequest
from deskbase.core.errors import NotFound, ValidationFailed
from deskbase.web import selectors
from deskbase.web.views.common import domain_errors, manager_required

Action = Callable[..., str]


def form_page(
    request: AuthedRequest,
    template: str,
    *,
    page: Callable[[], dict[str, Any]],
    save: Callable[[], str],
    refused: Callable[[ValidationFailed], dict[str, Any]],
    done: str,
    **done_kwargs: Any,
) -> HttpResponse:
    """GET: the page, its context from `page()`. POST: `save()` (parse and call the
    service; returns the success message), then a redirect to the URL named `done`. When
    `save` raises ValidationFailed: the page again, status 422, with `refused(error)` over
    `page()` (which holds the values as typed). Absent (404) and forbidden (403) are left
    to `domain_errors`; the page is read only when it is shown."""
    extra: dict[str, Any] = {}
    status = 200
    if request.method == "POST":
        try:
            message = save()
        except ValidationFailed as failed:
            extra, status = refused(failed), 422
        else:
            messages.success(request, message)
            return redirect(f"web:{done}", **done_kwargs)
    return render(request, template, {**page(), **extra}, status=status)


def owned(model: type, user: User, pk: int, what: str) -> Any:
    """A row of the caller's organization named in the address; any other id is a 404."""
    found = selectors.owned_row(model, actor=user, pk=pk)
    if found is None:
        raise NotFound(gettext("no such %(what)s") % {"what": what})
    return found


def action(
    to: str, *, guard: Callable[[Callable[..., Any]], Any] = manager_required
) -> Callable[[Action], Callable[..., HttpResponse]]:
    """A POST-only view behind `guard` (managers by default) whose function acts and
    returns the message to show; then the page named `web:<to>`. A refusal is handled by
    `domain_errors` like on every page (404, 403, or back with the field's message)."""

    def wrap(view: Action) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def act(request: AuthedRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            messages.success(request, view(request, *args, **kwargs))
            return redirect(f"web:{to}")

        return guard(require_POST(domain_errors(act)))

    return wrap
