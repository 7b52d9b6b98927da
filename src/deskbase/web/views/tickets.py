"""Ticket lookups, uploads and downloads shared by the workspace and the portal."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from deskbase.accounts.models import User
from deskbase.api.attachments import content_disposition
from deskbase.core.errors import NotFound, ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.tickets.attachments import attachment_add, attachment_open, size_limit_message
from deskbase.tickets.models import Ticket, TicketComment
from deskbase.tickets.permissions import can_view_ticket
from deskbase.web.views.common import domain_errors, organization_of

MAX_FILES = 10


def find_ticket(user: User, number: int, *, deleted: bool = False) -> Ticket:
    """The caller's ticket by number; another tenant's or another customer's is absent."""
    manager = Ticket.all_objects if deleted else Ticket.objects
    with tenant(user.organization_id, user, savepoint=False):
        ticket = manager.filter(organization_id=user.organization_id, number=number)
        if deleted:
            ticket = ticket.filter(deleted_at__isnull=False)
        found = ticket.first()
    if found is None or not can_view_ticket(user, found):
        raise NotFound(f"no ticket #{number}", field="number")
    return found


def reference(model: type, user: User, raw: Any, field: str) -> Any:
    """A row of the caller's organization by id from a form; empty is None."""
    if raw in (None, ""):
        return None
    if not str(raw).isdigit():
        raise ValidationFailed.one(field, f"Choose a {field} from the list.")
    with tenant(user.organization_id, user, savepoint=False):
        found = model.objects.filter(organization_id=user.organization_id, pk=int(raw)).first()
    if found is None:
        raise ValidationFailed.one(field, f"No such {field} here.")
    return found


def ticket_url(ticket: Ticket) -> str:
    return reverse("web:ticket", args=[ticket.number])


def check_files(request: HttpRequest) -> list:
    """The request's files, refused up front when too many or too large, so a ticket
    or reply is not written before its files turn out to be unacceptable."""
    files = request.FILES.getlist("files")
    if len(files) > MAX_FILES:
        raise ValidationFailed.one("files", f"Attach at most {MAX_FILES} files at once.")
    for upload in files:
        if upload.size > settings.MAX_ATTACHMENT_BYTES:
            message = size_limit_message(settings.MAX_ATTACHMENT_BYTES)
            raise ValidationFailed.one("files", f"{upload.name}: {message}")
        if upload.size == 0:
            raise ValidationFailed.one("files", f"{upload.name}: The file is empty.")
    return files


def upload_files(request: HttpRequest, ticket: Ticket, comment: TicketComment | None) -> int:
    """Store the request's files on the ticket (and comment); the service checks who may."""
    files = check_files(request)
    for upload in files:
        try:
            attachment_add(
                organization=organization_of(request.user), actor=request.user, ticket=ticket,
                stream=upload, file_name=upload.name or "", comment=comment,
            )  # fmt: skip
        finally:
            upload.close()
    return len(files)


@login_required
@require_GET
@domain_errors
def download(request: HttpRequest, attachment_id: int) -> HttpResponse:
    """An attachment's bytes, always as a download, never rendered by the browser.

    The service decides visibility (a customer: own tickets, not internal notes'
    files); anything else is a 404 like an id that does not exist.
    """
    user = request.user
    attachment, handle = attachment_open(
        organization=organization_of(user), actor=user, attachment_id=attachment_id
    )
    response = FileResponse(handle, content_type=attachment.content_type)
    response["Content-Disposition"] = content_disposition(attachment.file_name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
