"""Ticket lookups, uploads and downloads shared by the workspace and the portal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET

from deskbase.accounts.models import User
from deskbase.accounts.requests import AuthedRequest
from deskbase.core.downloads import PREVIEW_TYPES, download_response, preview_response
from deskbase.core.errors import Conflict, ValidationFailed
from deskbase.tickets.access import access_row, access_ticket_by_number, caller_organization
from deskbase.tickets.attachments import attachment_add, attachment_open, size_limit_message
from deskbase.tickets.models import Ticket, TicketComment
from deskbase.web.views.common import domain_errors

MAX_FILES = 10


def reference(model: type, user: User, raw: Any, field: str) -> Any:
    """A row of the caller's organization by id from a form; empty is None."""
    if raw in (None, ""):
        return None
    if not str(raw).isdigit():
        raise ValidationFailed.one(
            field, gettext("Choose a %(field)s from the list.") % {"field": field}
        )
    return access_row(model, user, int(raw), field=field)


def ticket_url(ticket: Ticket) -> str:
    return reverse("web:ticket", args=[ticket.number])


def check_files(request: AuthedRequest) -> list:
    """The request's files, refused up front when too many or too large, so a ticket
    or reply is not written before its files turn out to be unacceptable."""
    files = request.FILES.getlist("files")
    if len(files) > MAX_FILES:
        raise ValidationFailed.one(
            "files",
            gettext("Attach at most %(max_files)s files at once.") % {"max_files": MAX_FILES},
        )
    for upload in files:
        if (upload.size or 0) > settings.MAX_ATTACHMENT_BYTES:
            message = size_limit_message(settings.MAX_ATTACHMENT_BYTES)
            raise ValidationFailed.one(
                "files",
                gettext("%(name)s: %(message)s") % {"name": upload.name, "message": message},
            )
        if upload.size == 0:
            raise ValidationFailed.one(
                "files", gettext("%(name)s: The file is empty.") % {"name": upload.name}
            )
    return files


def upload_files(request: AuthedRequest, ticket: Ticket, comment: TicketComment | None) -> int:
    """Store the request's files on the ticket (and comment); the service checks who may."""
    files = check_files(request)
    for upload in files:
        try:
            attachment_add(
                organization=caller_organization(request.user), actor=request.user, ticket=ticket,
                stream=upload, file_name=upload.name or "", comment=comment,
            )  # fmt: skip
        finally:
            upload.close()
    return len(files)


@login_required
@require_GET
@domain_errors
def download(request: AuthedRequest, attachment_id: int) -> HttpResponseBase:
    """An attachment's bytes, always as a download, never rendered by the browser.

    The service decides visibility (a customer: own tickets, not internal notes'
    files); anything else is a 404 like an id that does not exist.
    """
    user = request.user
    attachment, handle = attachment_open(
        organization=caller_organization(user), actor=user, attachment_id=attachment_id
    )
    return download_response(
        handle, content_type=attachment.content_type, file_name=attachment.file_name
    )


@xframe_options_sameorigin  # the ticket page shows a PDF in a frame
@login_required
@require_GET
@domain_errors
def preview(request: AuthedRequest, attachment_id: int) -> HttpResponseBase:
    """An image or PDF attachment shown inline (a thumbnail, a sandboxed frame); the same
    visibility as a download. Any other type is not previewed: 404."""
    user = request.user
    attachment, handle = attachment_open(
        organization=caller_organization(user), actor=user, attachment_id=attachment_id
    )
    if attachment.content_type not in PREVIEW_TYPES:
        handle.close()
        raise Http404("no preview of this type")
    return preview_response(
        handle, content_type=attachment.content_type, file_name=attachment.file_name
    )


class Done:
    """What a ticket action tells the user (flash messages, at one level) and where it
    sends them next: the ticket's page unless `to` says otherwise."""

    def __init__(self, *texts: str, level: int = messages.SUCCESS, to: str | None = None):
        self.texts, self.level, self.to = texts, level, to


Attempted = dict[str, Any]
ConflictPage = Callable[[AuthedRequest, int, Conflict, Attempted], HttpResponse]


def ticket_action(
    request: AuthedRequest,
    number: int,
    act: Callable[[User, Ticket, Attempted], Done],
    *,
    page: Callable[[Ticket], str] = ticket_url,
    conflict_page: ConflictPage | None = None,
    stale_only: bool = False,
    only_deleted: bool = False,
) -> HttpResponse:
    """The shape of every form posted from a ticket's page: the caller's ticket (absent:
    404), `act` on it (a service call), its messages, then a redirect to `page`.

    With `conflict_page`, a Conflict (with `stale_only`, only a stale version) shows the
    ticket again with status 409 and what `act` put in `attempted` beside the newer
    values; without it, a Conflict is a refusal like any other (domain_errors).
    """
    user = request.user
    ticket = access_ticket_by_number(user, number, only_deleted=only_deleted)
    attempted: Attempted = {}
    try:
        done = act(user, ticket, attempted)
    except Conflict as error:
        if conflict_page is None or (stale_only and error.field != "version"):
            raise
        return conflict_page(request, number, error, attempted)
    for text in done.texts:
        messages.add_message(request, done.level, text)
    return redirect(done.to or page(ticket))
