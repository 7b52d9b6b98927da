"""Global search for staff: suggestions as one types, the result page, opened results.

The views call `deskbase.search` the way the search API does (src/deskbase/api/search.py):
`query.clean` the text, `selectors.search`, log the first page of a search with
`services.search_log`, and report the result that was opened with
`services.search_opened`. Snippets and highlighted subjects come escaped from
`selectors.html_snippet` (everything escaped, then `<mark>` put in); the templates
mark only those fields safe.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any
from urllib.parse import urlencode

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from deskbase.accounts.models import User
from deskbase.accounts.requests import AuthedRequest
from deskbase.core.errors import DomainError
from deskbase.search import query, selectors, services
from deskbase.web.views.common import MANAGERS, error_text, staff_required

PAGE_SIZE = 10
TITLES = {
    "tickets": gettext_lazy("Tickets"),
    "comments": gettext_lazy("Replies and notes"),
    "canned_responses": gettext_lazy("Canned responses"),
    "users": gettext_lazy("People"),
    "attachments": gettext_lazy("Files"),
    "organizations": gettext_lazy("Organization"),
    "articles": gettext_lazy("Knowledge base articles"),
}
# The search log's name of each group's results (services.OPENED_TYPES); articles are
# not reported (the help center's own search and views measure them).
OPENED_TYPE = {
    "tickets": "ticket", "comments": "comment", "canned_responses": "canned_response",
    "users": "user", "attachments": "attachment", "organizations": "organization",
}  # fmt: skip
SUGGESTION_LABELS = {
    "subject": gettext_lazy("ticket"),
    "canned_response": gettext_lazy("canned response"),
}


def _target(kind: str, item: dict[str, Any], manager: bool) -> str | None:
    """Where a result leads (None: nowhere to go, it is shown only)."""
    if kind == "tickets":
        return reverse("web:ticket", args=[item["number"]])
    if kind in ("comments", "attachments"):
        return reverse("web:ticket", args=[item["ticket_number"]])
    if kind == "canned_responses":
        return reverse("web:manage_canned")
    if kind == "users" and manager:
        return reverse("web:manage_person", args=[item["id"]])
    if kind == "articles":
        return reverse("web:manage_kb_article", args=[item["id"], item["language"]])
    return None


def _opened(search_id: int | None, kind: str, item_id: int) -> dict[str, Any] | None:
    """What the page's script POSTs when the result is opened (app.js), or None when the
    search was not logged. The link itself goes straight to the result: reporting it is
    a write, so it is never a GET."""
    if search_id is None or kind not in OPENED_TYPE:
        return None
    return {"url": reverse("web:search_opened", args=[search_id]), "type": OPENED_TYPE[kind],
            "id": item_id}  # fmt: skip


@staff_required
@require_GET
def search_page(request: AuthedRequest) -> HttpResponse:
    """Grouped results with highlighted snippets; `#1234` goes straight to the ticket."""
    user = request.user
    context: dict[str, Any] = {"q": request.GET.get("q", "")[: query.MAX_QUERY], "groups": []}
    try:
        text = query.clean(request.GET.get("q"))
        kind = request.GET.get("type")
        cursor = None
        if request.GET.get("cursor") and kind in selectors.STAFF_TYPES:
            cursor = query.decode_cursor(request.GET["cursor"])
    except DomainError as error:
        context["error"] = error_text(error)
        return render(request, "web/desk/search.html", context, status=400)
    context["q"] = text
    if not text:
        return render(request, "web/desk/search.html", context)
    started = time.perf_counter()
    # prefix: the box suggests completions of the last word as one types; Enter must find
    # what they showed ("webho" finds "webhook"), not only the whole word "webho".
    found = selectors.search(user=user, text=text, cursor=cursor, limit=PAGE_SIZE,
                             types=[kind] if cursor and kind else None, prefix=True)  # fmt: skip
    latency = (time.perf_counter() - started) * 1000
    search_id = None
    if cursor is None:
        search_id = services.search_log(user=user, text=text, types=list(found.groups),
                                        result_count=found.count, latency_ms=latency)  # fmt: skip
    if found.direct is not None:
        if search_id is not None:
            _report(user, search_id, "ticket", found.direct["id"])
        return redirect("web:ticket", number=found.direct["number"])
    manager = user.role in MANAGERS
    groups = []
    for name, group in found.groups.items():
        if not group.items:
            continue
        items = []
        for item in group.items:
            target = _target(name, item, manager)
            opened = _opened(search_id, name, item["id"]) if target else None
            items.append({**item, "link": target, "opened": opened})
        more = None
        if group.next_cursor:
            more = "?" + urlencode({"q": text, "type": name, "cursor": group.next_cursor})
        groups.append({"kind": name, "title": str(TITLES[name]), "items": items, "more": more})
    context.update(groups=groups, did_you_mean=found.did_you_mean, count=found.count,
                   paged=cursor is not None)  # fmt: skip
    return render(request, "web/desk/search.html", context)


def _report(user: User, search_id: int, opened_type: str, opened_id: int) -> None:
    # Not the caller's recent search: nothing is marked, the result opens all the same.
    with contextlib.suppress(DomainError):
        services.search_opened(user=user, search_id=search_id, opened_type=opened_type,
                               opened_id=opened_id)  # fmt: skip


@staff_required
@require_POST
def search_opened(request: AuthedRequest, search_id: int) -> HttpResponse:
    """Record which result of the caller's search was opened (a POST with the CSRF token,
    sent by app.js as the result's link is followed); 204 whatever happened to it."""
    opened_type, raw_id = request.POST.get("type", ""), request.POST.get("id", "")
    if opened_type in services.OPENED_TYPES and raw_id.isdigit() and len(raw_id) < 19:
        _report(request.user, search_id, opened_type, int(raw_id))
    return HttpResponse(status=204)


@staff_required
@require_GET
def suggest(request: AuthedRequest) -> HttpResponse:
    """Completions of what is typed in the header's search box (an htmx fragment)."""
    try:
        text = query.clean(request.GET.get("q"))
    except DomainError:
        text = ""
    found = selectors.suggest(user=request.user, text=text) if text else []
    page = reverse("web:search") + "?"
    items = [{**s, "link": page + urlencode({"q": s["text"]}),
              "label": SUGGESTION_LABELS.get(s["type"], s["type"])} for s in found]  # fmt: skip
    return render(request, "web/parts/suggestions.html", {"suggestions": items})
