"""/api/v1/tickets/{number}/attachments and /api/v1/attachments/{id}/download.

Uploads are multipart (`file`, optional `comment_id`) and are streamed into the
content-addressed store by `attachment_add`, chunk by chunk; the stored type is
sniffed from the bytes, never taken from the client. Downloads are always sent
as attachments (never rendered inline), with `nosniff` and a sandboxing CSP.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpResponseBase
from ninja import File, Form, Router, Status
from ninja.decorators import decorate_view
from ninja.errors import HttpError
from ninja.files import UploadedFile

from deskbase.accounts.requests import ApiRequest
from deskbase.api.schemas import ERRORS, AttachmentOut, Problem
from deskbase.core.downloads import download_response
from deskbase.core.errors import ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.tickets.access import (
    access_ticket_by_number,
    caller_organization,
    visible_attachments,
)
from deskbase.tickets.attachments import attachment_add, attachment_open, size_limit_message
from deskbase.tickets.models import TicketComment

router = Router(tags=["attachments"])

# Room for the multipart framing around the file: boundaries, part headers (a long
# file name), the comment_id field. A body larger than the limit plus this cannot
# hold an acceptable file, so it is refused before a byte of it is read.
MULTIPART_OVERHEAD = 64 * 1024


class AttachmentDetailOut(AttachmentOut):
    comment_id: int | None
    uploaded_by_id: int | None
    download_count: int


# ------------------------------------------------------------------ helpers
def reject_oversized_bodies(run: Callable[..., HttpResponseBase]) -> Callable[..., Any]:
    """Wraps the operation before authentication and body parsing: a Content-Length
    beyond any acceptable upload is a 413 problem, and the body is never read."""
    operation = run.__self__  # type: ignore[attr-defined]  # run is a bound Operation.run

    @functools.wraps(run)
    def checked(request: ApiRequest, **kwargs: Any) -> HttpResponseBase:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Django reads such a body as empty
        limit = settings.MAX_ATTACHMENT_BYTES
        if length > limit + MULTIPART_OVERHEAD:
            error = HttpError(413, size_limit_message(limit))
            return operation.api.on_exception(request, error)
        return run(request, **kwargs)

    return checked


# ------------------------------------------------------------------ endpoints
@router.get("/tickets/{number}/attachments", response={200: list[AttachmentDetailOut], **ERRORS})
def list_attachments(request: ApiRequest, number: int):
    """The ticket's files, oldest first. Customers: their own tickets' files, without
    those of internal notes (or of deleted comments)."""
    user = request.auth
    ticket = access_ticket_by_number(user, number)
    with tenant(user.organization_id, user, savepoint=False):
        return list(visible_attachments(user).filter(ticket_id=ticket.id).order_by("id"))


@router.post(
    "/tickets/{number}/attachments",
    response={201: AttachmentDetailOut, 413: Problem, **ERRORS},
)
@decorate_view(reject_oversized_bodies)
def upload_attachment(
    request: ApiRequest,
    number: int,
    file: File[UploadedFile],
    comment_id: Form[int | None] = None,
):
    """Attach a file (at most MAX_ATTACHMENT_BYTES) to the ticket or one of its comments.

    Customers may attach to their own tickets and to comments they wrote. The file
    is refused (422, field `file`) when empty or too large; a request body far over
    the limit is refused before it is read (413).
    """
    user = request.auth
    ticket = access_ticket_by_number(user, number)
    # Only the id: the service looks the comment up on this ticket (and checks its author).
    comment = TicketComment(pk=comment_id) if comment_id is not None else None
    try:
        attachment = attachment_add(
            organization=caller_organization(user), actor=user, ticket=ticket, stream=file,
            file_name=file.name or "", comment=comment,
        )  # fmt: skip
    except ValidationFailed as error:
        if "comment" not in error.errors:
            raise
        raise ValidationFailed({"comment_id": error.errors["comment"]}) from None
    finally:
        file.close()
    return Status(201, attachment)


@router.get(
    "/attachments/{attachment_id}/download",
    response={200: None, **ERRORS},
    openapi_extra={
        "responses": {
            200: {
                "description": "The file, as an attachment, in its stored (sniffed) type.",
                "content": {"application/octet-stream": {"schema": {"type": "string",
                                                                    "format": "binary"}}},
            }
        }
    },
)  # fmt: skip
def download_attachment(request: ApiRequest, attachment_id: int):
    """The file's bytes, streamed. Whoever may see the attachment may download it;
    anything else (another tenant's, an internal note's for a customer) is a 404."""
    user = request.auth
    attachment, handle = attachment_open(
        organization=caller_organization(user), actor=user, attachment_id=attachment_id
    )
    return download_response(
        handle, content_type=attachment.content_type, file_name=attachment.file_name
    )
