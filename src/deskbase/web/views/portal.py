"""The customer portal: my tickets, opening one, the public conversation, rating it."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from deskbase.accounts.models import User
from deskbase.accounts.requests import AuthedRequest
from deskbase.core.errors import ValidationFailed
from deskbase.knowledge import services as knowledge
from deskbase.tickets import selectors, services
from deskbase.tickets.access import caller_organization
from deskbase.tickets.models import Status, Ticket
from deskbase.tickets.permissions import ticket_actions
from deskbase.web.views.common import customer_required, domain_errors
from deskbase.web.views.deflection import record_sent_anyway
from deskbase.web.views.tickets import (
    Attempted,
    Done,
    check_files,
    ticket_action,
    upload_files,
)

PAGE_SIZE = 25


def _url(number: int) -> str:
    return reverse("web:portal_ticket", args=[number])


@customer_required
@require_GET
@domain_errors
def my_tickets(request: AuthedRequest) -> HttpResponse:
    """The customer's tickets, most recently changed first, a keyset page at a time."""
    user = request.user
    page = selectors.ticket_list(
        organization=caller_organization(user), actor=user, sort="updated",
        after=request.GET.get("cursor") or None, limit=PAGE_SIZE,
    )  # fmt: skip
    return render(
        request, "web/portal/list.html", {"tickets": page.items, "next_cursor": page.next_cursor}
    )


@customer_required
@require_http_methods(["GET", "POST"])
@domain_errors
def new_ticket(request: AuthedRequest) -> HttpResponse:
    """Open a ticket for oneself, with files; the description is plain text."""
    user = request.user
    if request.method == "GET":
        return render(request, "web/portal/new.html", {
            "subject": "", "description": "", "attempt": knowledge.new_attempt(),
        })  # fmt: skip
    subject = request.POST.get("subject", "").strip()
    description = request.POST.get("description", "")
    if not subject:
        messages.error(request, gettext("subject: A ticket needs a subject."))
        return render(
            request, "web/portal/new.html", {"subject": subject, "description": description,
                                             "attempt": request.POST.get("attempt", "")},
            status=422,
        )  # fmt: skip
    check_files(request)
    ticket = services.ticket_create(
        organization=caller_organization(user), actor=user, subject=subject[:300],
        description=description, channel="portal",
    )  # fmt: skip
    upload_files(request, ticket, None)
    record_sent_anyway(request, ticket)
    messages.success(
        request,
        gettext("Ticket #%(number)s opened. We will answer soon.") % {"number": ticket.number},
    )
    return redirect(_url(ticket.number))


@customer_required
@require_GET
@domain_errors
def ticket_page(request: AuthedRequest, number: int) -> HttpResponse:
    """The public conversation (no internal notes, no history) and what the customer may do."""
    user = request.user
    detail = selectors.ticket_detail(
        organization=caller_organization(user), actor=user, number=number
    )
    ticket = detail.ticket
    files: dict[int | None, list] = {}
    for attachment in detail.attachments:
        files.setdefault(attachment.comment_id, []).append(attachment)
    entries = [(comment, files.get(comment.id, [])) for comment in detail.comments]
    return render(request, "web/portal/ticket.html", {
        "ticket": ticket, "entries": entries, "ticket_files": files.get(None, []),
        # What the services would accept from the customer now, asked of the same rules.
        "may": ticket_actions(user, ticket),
    })  # fmt: skip


def _page(ticket: Ticket) -> str:
    return _url(ticket.number)


@customer_required
@require_POST
@domain_errors
def reply(request: AuthedRequest, number: int) -> HttpResponse:
    def act(user: User, ticket: Ticket, attempted: Attempted) -> Done:
        body = request.POST.get("body", "")
        if not body.strip():
            raise ValidationFailed.one("body", gettext("Write something first."))
        check_files(request)
        comment = services.comment_add(
            organization=caller_organization(user), actor=user, ticket=ticket, body=body,
            kind="public",
        )  # fmt: skip
        upload_files(request, ticket, comment)
        return Done(gettext("Reply sent."))

    return ticket_action(request, number, act, page=_page)


@customer_required
@require_POST
@domain_errors
def close(request: AuthedRequest, number: int) -> HttpResponse:
    def act(user: User, ticket: Ticket, attempted: Attempted) -> Done:
        services.ticket_change_status(
            organization=caller_organization(user), actor=user, ticket=ticket,
            status=Status.CLOSED, reason="closed by the customer",
        )  # fmt: skip
        return Done(gettext("Ticket #%(number)s closed.") % {"number": number})

    return ticket_action(request, number, act, page=_page)


@customer_required
@require_POST
@domain_errors
def rate(request: AuthedRequest, number: int) -> HttpResponse:
    """CSAT: the ticket's customer rates it once, after it is resolved."""
    raw = request.POST.get("rating", "")
    if not raw.isdigit():
        raise ValidationFailed.one("rating", gettext("Choose a rating from 1 to 5."))

    def act(user: User, ticket: Ticket, attempted: Attempted) -> Done:
        services.csat_record(
            organization=caller_organization(user), actor=user, ticket=ticket,
            rating=int(raw), comment=request.POST.get("comment", "")[:5000],
        )  # fmt: skip
        return Done(gettext("Thank you for your rating."))

    return ticket_action(request, number, act, page=_page)
