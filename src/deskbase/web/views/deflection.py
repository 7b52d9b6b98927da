"""Articles that answer before a ticket is opened, and beside a ticket for the agent.

Portal: while a customer types a new ticket, the form asks (htmx, debounced) for the
most relevant articles of what is typed; each suggestion shown, opened, "this solved
it" and a ticket "sent anyway" is recorded once per form (its `attempt` token), which
gives the deflection rate (docs/knowledge-base.md).

Desk: the ticket page loads the articles most relevant to the ticket's subject and
description beside it; "insert link" appends the article's address to the reply.
"""

from __future__ import annotations

import contextlib

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from deskbase import cached
from deskbase.accounts.requests import AuthedRequest
from deskbase.core.errors import DomainError, ValidationFailed
from deskbase.knowledge import selectors, services
from deskbase.tickets.access import access_ticket_by_number, caller_organization
from deskbase.tickets.models import Ticket
from deskbase.web.views.common import customer_required, domain_errors, staff_required

SUGGESTED = 5


def _articles(request: AuthedRequest, text: str) -> list[dict]:
    """The readable articles most relevant to `text` (any of its words, best first)."""
    try:
        found = selectors.search(
            selectors.reader_of(request.user), text[:500], limit=SUGGESTED, any_word=True,
            log=False, language=request.GET.get("lang") or None,
        )  # fmt: skip
    except DomainError:
        return []
    return found.items


def _org_slug(request: AuthedRequest) -> str:
    return cached.organization_settings(request.user.tenant_id).slug


@customer_required
@require_GET
@domain_errors
def portal_suggest(request: AuthedRequest) -> HttpResponse:
    """The suggestions for the new-ticket form; each one shown is recorded."""
    attempt = request.GET.get("attempt", "")
    text = f"{request.GET.get('subject', '')} {request.GET.get('description', '')}".strip()
    rows = _articles(request, text) if len(text) >= 3 else []
    # A form without its token (opened before an upgrade): shown, uncounted.
    if rows:
        with contextlib.suppress(ValidationFailed):
            services.deflection_record(
                organization=caller_organization(request.user), actor=request.user,
                attempt=attempt, event="shown", article_ids=[row["article_id"] for row in rows],
            )  # fmt: skip
    return render(request, "web/portal/deflection.html", {"rows": rows, "attempt": attempt})


@customer_required
@require_GET
@domain_errors
def portal_open(request: AuthedRequest, article_id: int) -> HttpResponse:
    """Record that a suggested article was opened, then show it."""
    user = request.user
    read = selectors.readable_article(selectors.reader_of(user), article_id)
    services.deflection_record(
        organization=caller_organization(user), actor=user,
        attempt=request.GET.get("attempt", ""), event="clicked", article_ids=[article_id],
    )  # fmt: skip
    return redirect("web:help_article", _org_slug(request), article_id, read.slug)


@customer_required
@require_POST
@domain_errors
def portal_solved(request: AuthedRequest) -> HttpResponse:
    """ "This solved it": no ticket is opened."""
    user = request.user
    services.deflection_record(
        organization=caller_organization(user), actor=user,
        attempt=request.POST.get("attempt", ""), event="solved",
    )  # fmt: skip
    messages.success(request, gettext("Glad that helped. No ticket was opened."))
    return redirect("web:portal")


def record_sent_anyway(request: AuthedRequest, ticket: Ticket) -> None:
    """After a new ticket: "sent anyway" when its form had shown suggestions."""
    attempt = request.POST.get("attempt", "")
    organization = caller_organization(request.user)
    try:
        if attempt and services.attempt_was_shown(organization=organization, attempt=attempt):
            services.deflection_record(
                organization=organization, actor=request.user, attempt=attempt,
                event="sent_anyway", ticket_id=ticket.pk,
            )  # fmt: skip
    except ValidationFailed:
        pass  # a form with a forged attempt still opens its ticket, uncounted


@staff_required
@require_GET
@domain_errors
def ticket_articles(request: AuthedRequest, number: int) -> HttpResponse:
    """Beside a ticket: the articles most relevant to its subject and description."""
    ticket = access_ticket_by_number(request.user, number)
    rows = _articles(request, f"{ticket.subject} {ticket.description[:300]}")
    return render(request, "web/desk/articles.html", {"rows": rows, "ticket": ticket})


@staff_required
@require_GET
@domain_errors
def ticket_article_link(request: AuthedRequest, number: int, article_id: int) -> HttpResponse:
    """The reply box with the article's address appended to what is written."""
    access_ticket_by_number(request.user, number)
    read = selectors.readable_article(selectors.reader_of(request.user), article_id)
    address = request.build_absolute_uri(
        reverse("web:help_article", args=[_org_slug(request), article_id, read.slug])
    )
    body = request.GET.get("body", "").rstrip()
    link = f"{read.revision.title}: {address}"
    body = f"{body}\n\n{link}" if body else link
    return render(request, "web/parts/reply_body.html", {"body": body})
