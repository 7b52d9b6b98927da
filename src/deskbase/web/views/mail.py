"""The desk's mail pages: suspended mail (the review queue) and a message's raw .eml.

Staff only. What each action does (accept = process again, assign to a ticket, discard)
is deskbase.mail.review's; another tenant's message is a 404.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from deskbase.accounts.requests import AuthedRequest
from deskbase.core.downloads import download_response
from deskbase.core.errors import ValidationFailed
from deskbase.mail import review, selectors
from deskbase.mail.models import InboundMessage, ReviewCause
from deskbase.tickets.access import access_ticket_reference, caller_organization
from deskbase.web.views.common import domain_errors, staff_required

PAGE_SIZE = 50


@staff_required
@require_GET
@domain_errors
def review_queue(request: AuthedRequest) -> HttpResponse:
    """Messages waiting for review, oldest first, each with its cause; filter by cause."""
    user = request.user
    cause = request.GET.get("cause") or None
    if cause not in ReviewCause.values:
        cause = None
    raw_after = request.GET.get("after", "")
    page = selectors.review_queue(
        organization=caller_organization(user), actor=user, cause=cause,
        after=int(raw_after) if raw_after.isdigit() and len(raw_after) < 19 else 0,
        limit=PAGE_SIZE,
    )  # fmt: skip
    return render(request, "web/desk/mail_review.html", {
        "items": page.items, "next_cursor": page.next_cursor, "cause": cause or "",
        "causes": ReviewCause.choices, "review_days": settings.MAIL_REVIEW_DAYS,
    })  # fmt: skip


def _message(request: AuthedRequest, message_id: int) -> InboundMessage:
    user = request.user
    return selectors.inbound_of(
        organization=caller_organization(user), actor=user, message_id=message_id
    )


def _back(request: AuthedRequest) -> HttpResponse:
    return redirect("web:mail_review")


@staff_required
@require_POST
@domain_errors
def review_accept(request: AuthedRequest, message_id: int) -> HttpResponse:
    """Process the message again, vouched for by the agent; say what became of it."""
    user = request.user
    done = review.review_accept(organization=caller_organization(user), actor=user,
                                message=_message(request, message_id))  # fmt: skip
    messages.success(request, gettext("Accepted: %(decision)s") % {"decision": done.decision})
    return _back(request)


@staff_required
@require_POST
@domain_errors
def review_assign(request: AuthedRequest, message_id: int) -> HttpResponse:
    """Add the message to the ticket whose number was typed, as the sender's reply."""
    user = request.user
    message = _message(request, message_id)  # another tenant's: a 404 whatever was typed
    typed = request.POST.get("ticket", "").strip()
    if not typed:
        raise ValidationFailed.one(
            "ticket", gettext("Type the number of the ticket it belongs to.")
        )
    ticket = access_ticket_reference(user, typed, field="ticket")
    done = review.review_assign(organization=caller_organization(user), actor=user,
                                message=message, ticket=ticket)  # fmt: skip
    messages.success(request, done.decision)
    return _back(request)


@staff_required
@require_POST
@domain_errors
def review_discard(request: AuthedRequest, message_id: int) -> HttpResponse:
    user = request.user
    review.review_discard(organization=caller_organization(user), actor=user,
                          message=_message(request, message_id))  # fmt: skip
    messages.success(request, gettext("Message discarded."))
    return _back(request)


@staff_required
@require_GET
@domain_errors
def raw_message(request: AuthedRequest, message_id: int) -> HttpResponseBase:
    """The message as it arrived, as a download (never rendered)."""
    message = _message(request, message_id)
    return download_response(selectors.raw_open(message), content_type="message/rfc822",
                             file_name=f"message-{message.pk}.eml")  # fmt: skip
