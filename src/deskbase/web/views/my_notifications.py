"""An agent's notifications: the bell in the header, the list, the settings grid
(docs/notifications.md).

The bell is refreshed by htmx polling of `bell` (one query on the partial index): under
gunicorn's sync workers a server-sent-events stream would hold a worker per open tab.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from deskbase.accounts.requests import AuthedRequest
from deskbase.core.errors import ValidationFailed
from deskbase.notifications import selectors
from deskbase.notifications import services as notifications
from deskbase.notifications.models import Scope
from deskbase.tickets.access import caller_organization
from deskbase.web.views.common import domain_errors, staff_required

PAGE = 50


def poll_seconds() -> int:
    return int(getattr(settings, "NOTIFICATIONS_POLL_SECONDS", 15))


def bell_context(user) -> dict:
    count = selectors.unread_count(organization_id=user.tenant_id, user=user)
    shown = f"{selectors.COUNT_CAP}+" if count > selectors.COUNT_CAP else str(count)
    return {"unread": count, "unread_shown": shown, "poll_seconds": poll_seconds()}


@staff_required
@require_GET
def bell(request: AuthedRequest) -> HttpResponse:
    """The header's bell with the unread count (the fragment htmx polls)."""
    return render(request, "web/parts/bell.html", bell_context(request.user))


@staff_required
@require_GET
def notification_list(request: AuthedRequest) -> HttpResponse:
    user = request.user
    unread_only = request.GET.get("unread") == "1"
    before = request.GET.get("before", "")
    rows = list(
        selectors.notification_list(
            organization_id=user.tenant_id, user=user, unread_only=unread_only,
            before=int(before) if before.isdigit() else None, limit=PAGE,
        )
    )  # fmt: skip
    return render(request, "web/desk/notifications.html", {
        "rows": rows, "unread_only": unread_only,
        "next_before": rows[-1].id if len(rows) == PAGE else None,
    })  # fmt: skip


@staff_required
@require_POST
@domain_errors
def mark_read(request: AuthedRequest, notification_id: int) -> HttpResponse:
    user = request.user
    notifications.notification_mark_read(
        organization=caller_organization(user), actor=user, notification_id=notification_id
    )
    return redirect(request.POST.get("next") or "web:notifications")


@staff_required
@require_POST
@domain_errors
def mark_all_read(request: AuthedRequest) -> HttpResponse:
    user = request.user
    marked = notifications.notification_mark_all_read(
        organization=caller_organization(user), actor=user
    )
    messages.success(
        request,
        ngettext(
            "%(marked)s notification marked read.", "%(marked)s notifications marked read.", marked
        )
        % {"marked": marked},
    )
    return redirect("web:notifications")


@staff_required
@require_http_methods(["GET", "POST"])
def notification_settings(request: AuthedRequest) -> HttpResponse:
    user = request.user
    rows = selectors.preferences_for(organization_id=user.tenant_id, user=user)
    error = ""
    if request.method == "POST":
        posted = [
            {"reason": row.reason, "scope": request.POST.get(f"{row.reason}-scope", row.scope),
             "in_app": f"{row.reason}-in_app" in request.POST,
             "mail": f"{row.reason}-mail" in request.POST}
            for row in rows
        ]  # fmt: skip
        try:
            notifications.preferences_save(
                organization=caller_organization(user), actor=user, rows=posted
            )
        except ValidationFailed as failed:
            error = "; ".join(f"{k}: {' '.join(v)}" for k, v in failed.errors.items())
        else:
            messages.success(request, gettext("Notification settings saved."))
            return redirect("web:notification_settings")
    return render(request, "web/desk/notification_settings.html",
                  {"rows": rows, "scopes": Scope.choices, "error": error},
                  status=422 if error else 200)  # fmt: skip
