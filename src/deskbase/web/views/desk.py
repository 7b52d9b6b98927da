"""The agent workspace: queues, the ticket page and its actions.

Views are thin: they parse the form, call a selector or a service with the same
arguments the API passes, and render. Who may do what is decided by the services
(docs/permissions.md); the views only keep customers out of the workspace.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from deskbase.accounts.models import Availability, Role, Team, User
from deskbase.accounts.requests import AuthedRequest
from deskbase.accounts.services import user_update
from deskbase.automation import selectors as rule_selectors
from deskbase.bulk.models import Action as BulkAction
from deskbase.core.errors import Conflict, ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.mail import selectors as mail_selectors
from deskbase.savedviews import selectors as view_selectors
from deskbase.tickets import canned, selectors, services
from deskbase.tickets.access import (
    access_ticket_by_number,
    access_ticket_reference,
    caller_organization,
)
from deskbase.tickets.models import Category, Priority, Status, Ticket
from deskbase.web import queues, timeline
from deskbase.web import selectors as web_selectors
from deskbase.web.views import bulk as bulk_views
from deskbase.web.views.common import back, domain_errors, staff_required
from deskbase.web.views.customers import ticket_work
from deskbase.web.views.ticket_panel import panel_context
from deskbase.web.views.tickets import (
    Attempted,
    Done,
    check_files,
    reference,
    ticket_action,
    ticket_url,
    upload_files,
)

PAGE_SIZE = 25


def editor_labels() -> str:
    """The reply editor's words (web/static/web/editor.js), in the request's language."""
    return json.dumps({
        "toolbar": gettext("Formatting"), "message": gettext("Message"), "bold": gettext("Bold"),
        "italic": gettext("Italic"), "insertUnorderedList": gettext("Bulleted list"),
        "insertOrderedList": gettext("Numbered list"), "link": gettext("Link"),
        "code": gettext("Inline code"),
        "pre": gettext("Code block"), "linkPrompt": gettext("Link address (https://…)"),
    })  # fmt: skip


SORTS = {"updated": gettext_lazy("Last change"), "created": gettext_lazy("Newest"),
         "priority": gettext_lazy("Priority"), "sla_due": gettext_lazy("SLA due")}  # fmt: skip


# ------------------------------------------------------------------ queues
def _sidebar(request: AuthedRequest, slug: str | None) -> dict[str, Any]:
    """Every queue's count, the saved views with theirs, and what the bulk bar offers."""
    user = request.user
    organization = caller_organization(user)
    team_ids = web_selectors.team_ids_of(organization=organization, actor=user)
    counts = web_selectors.queue_counts(organization=organization, actor=user, team_ids=team_ids)
    saved = view_selectors.views_for(organization=organization, actor=user)
    view_counts = view_selectors.view_counts(organization=organization, actor=user, views=saved)
    with tenant(organization, user, savepoint=False):
        teams = list(Team.objects.filter(organization_id=user.tenant_id).order_by("name"))
    return {
        "queues": [(q, counts.get(q.slug)) for q in queues.QUEUES.values()], "slug": slug,
        "views": [(v, view_counts[v.id]) for v in saved], "count_cap": view_selectors.COUNT_CAP,
        "statuses": Status.choices, "priorities": Priority.choices, "sorts": SORTS,
        "availabilities": Availability.choices, "bulk_actions": BulkAction.choices,
        "agents": web_selectors.staff_names(organization=organization, actor=user),
        "teams": teams, "may_share": user.role in (Role.ADMIN, Role.MANAGER),
        "team_ids": team_ids,
    }  # fmt: skip


def _listing(
    request: AuthedRequest, context: dict[str, Any], filters: Any, sort: str
) -> HttpResponse:
    user = request.user
    page = selectors.ticket_list(
        organization=caller_organization(user), actor=user, filters=filters, sort=sort,
        after=request.GET.get("cursor") or None, limit=PAGE_SIZE,
    )  # fmt: skip
    params = request.GET.copy()
    params.pop("cursor", None)
    custom = dict(filters.custom)
    context.update(
        tickets=page.items, next_cursor=page.next_cursor, params=params.urlencode(),
        chosen={"status": request.GET.get("status") or "", "sort": sort,
                "priority": request.GET.get("priority") or "",
                "tag": (request.GET.get("tag") or "").strip()[:50],
                "cf_name": next(iter(custom), ""), "cf_value": next(iter(custom.values()), "")},
    )  # fmt: skip
    return render(request, "web/desk/queue.html", context)


@staff_required
@require_GET
@domain_errors
def queue(request: AuthedRequest, slug: str = "mine") -> HttpResponse:
    """One queue, filtered and sorted, a keyset page at a time, with every queue's count
    and the saved views with theirs."""
    user = request.user
    context = _sidebar(request, slug)
    if slug == queues.TRASH:
        tickets = selectors.ticket_trash(organization=caller_organization(user), actor=user)
        context.update(title="Trash", tickets=tickets, next_cursor=None, trash=True)
        return render(request, "web/desk/queue.html", context)
    team_ids = context["team_ids"]
    filters, sort = bulk_views.page_filters(user, slug, request.GET, team_ids=team_ids)
    context.update(title=queues.QUEUES[slug].title, no_team=slug == "team" and not team_ids)
    return _listing(request, context, filters, sort)


@staff_required
@require_GET
@domain_errors
def saved_view(request: AuthedRequest, view_id: int) -> HttpResponse:
    """A saved view's tickets, in its sort, with the same sidebar and bulk bar."""
    user = request.user
    view, filters, sort = bulk_views.view_page_filters(user, view_id)
    context = _sidebar(request, None)
    context.update(title=view.name, view=view,
                   may_change=bulk_views.may_change_view(user, view))  # fmt: skip
    return _listing(request, context, filters, sort)


@staff_required
@require_GET
@domain_errors
def next_ticket(request: AuthedRequest) -> HttpResponse:
    """The most urgent ticket of mine (then unassigned) other than the one just seen."""
    user = request.user
    skip = request.GET.get("after", "")
    for slug in ("mine", "unassigned"):
        page = selectors.ticket_list(
            organization=caller_organization(user), actor=user,
            filters=queues.QUEUES[slug].filters, sort="sla_due", limit=2,
        )  # fmt: skip
        for ticket in page.items:
            if str(ticket.number) != skip:
                return redirect(ticket_url(ticket))
    messages.info(request, gettext("No other ticket is waiting for you."))
    return redirect("web:queue", slug="mine")


# ------------------------------------------------------------------ the ticket page
def page_context(request: AuthedRequest, number: int) -> dict[str, Any]:
    user = request.user
    organization = caller_organization(user)
    detail = selectors.ticket_detail(organization=organization, actor=user, number=number)
    ticket = detail.ticket
    agents = web_selectors.agents_with_load(organization=organization, actor=user)
    with tenant(organization, user, savepoint=False):
        teams = list(Team.objects.filter(organization_id=user.tenant_id).order_by("name"))
        categories = list(Category.objects.filter(organization_id=user.tenant_id).order_by("name"))
    responses = canned.canned_responses_for(organization=organization, actor=user)
    panel = panel_context(user, ticket, agents=agents, teams=teams, categories=categories)
    people = {a.id: a.name for a in agents}
    people[ticket.customer_id] = ticket.customer.full_name or ticket.customer.email
    lookups: dict[str, dict[Any, str]] = {
        "people": people,
        "teams": {t.id: t.name for t in teams},
        "categories": {c.id: c.name for c in categories},
        "fields": {f.key: f.label for f in panel["definitions"]},
        # The merged-into ticket's number comes with the ticket: it costs no query.
        "tickets": {ticket.merged_into_id: f"#{getattr(ticket, 'merged_into_number', '')}"}
        if ticket.merged_into_id is not None
        else {},
    }
    # The ticket's mail, both directions, with decisions and states: 2 queries.
    mail = mail_selectors.ticket_mail(organization=organization, actor=user, ticket=ticket)
    # What rules and macros did to it (1 query), and the macros an agent may apply (1).
    firings = rule_selectors.firings_of_ticket(actor=user, ticket_id=ticket.id)
    fired = [(f.created_at, rule_selectors.timeline_text(f)) for f in firings]
    return {
        **panel,
        "detail": detail,
        "entries": timeline.build(detail, lookups, mail, fired),
        "macros": rule_selectors.macros_for(actor=user),
        "canned": responses,
        "closed": ticket.status in (Status.CLOSED, Status.CANCELLED),
        "editor_labels": editor_labels(),
        **ticket_work(user, ticket),  # requester, links, time (4 queries)
    }  # fmt: skip


@staff_required
@require_GET
@domain_errors
def ticket_page(request: AuthedRequest, number: int) -> HttpResponse:
    return render(request, "web/desk/ticket.html", page_context(request, number))


def _conflict(request: AuthedRequest, number: int, error: Conflict, mine: dict) -> HttpResponse:
    """The page again, with the newer values beside the ones the agent sent: status 409."""
    context = page_context(request, number)
    context.update(conflict=error.message, attempted=mine)
    return render(request, "web/desk/ticket.html", context, status=409)


def _version(request: AuthedRequest) -> int:
    raw = request.POST.get("version", "")
    if not raw.isdigit():
        raise ValidationFailed.one(
            "version", gettext("The form lacks the ticket's version; reload.")
        )
    return int(raw)


@staff_required
@require_POST
@domain_errors
def ticket_edit(request: AuthedRequest, number: int) -> HttpResponse:
    """Subject, priority, category, team and tags at the version the form was read at."""

    def act(user: User, ticket: Ticket, attempted: Attempted) -> Done:
        post = request.POST
        changes: dict[str, Any] = {
            "subject": post.get("subject", ticket.subject),
            "priority": post.get("priority", ticket.priority),
            "tags": [t for t in post.get("tags", "").split(",") if t.strip()],
            "category": reference(Category, user, post.get("category"), "category"),
            "team": reference(Team, user, post.get("team"), "team"),
        }
        attempted.update(changes, tags=", ".join(changes["tags"]))
        services.ticket_update(
            organization=caller_organization(user), actor=user, ticket=ticket,
            version=_version(request), **changes,
        )  # fmt: skip
        return Done(gettext("Ticket #%(number)s saved.") % {"number": number})

    return ticket_action(request, number, act, conflict_page=_conflict)


@staff_required
@require_POST
@domain_errors
def ticket_status(request: AuthedRequest, number: int) -> HttpResponse:
    def act(user: User, ticket: Ticket, attempted: Attempted) -> Done:
        status = attempted["status"] = request.POST.get("status", "")
        services.ticket_change_status(
            organization=caller_organization(user), actor=user, ticket=ticket, status=status,
            version=_version(request), reason=request.POST.get("reason", "")[:300],
        )  # fmt: skip
        if status == ticket.status:
            stays = ticket.get_status_display().lower()
            return Done(
                gettext("Ticket #%(number)s stays %(stays)s.") % {"number": number, "stays": stays},
                level=messages.INFO,
            )
        return Done(
            gettext("Ticket #%(number)s is now %(status)s.")
            % {"number": number, "status": Status(status).label.lower()}
        )

    return ticket_action(request, number, act, conflict_page=_conflict)


@staff_required
@require_POST
@domain_errors
def ticket_assign(request: AuthedRequest, number: int) -> HttpResponse:
    """Assign to the chosen agent, to the caller ("me"), nobody (""), or by routing ("auto")."""

    def act(user: User, ticket: Ticket, attempted: Attempted) -> Done:
        choice = attempted["assignee"] = request.POST.get("assignee", "")
        raw_version = request.POST.get("version", "")
        version = int(raw_version) if raw_version.isdigit() else None
        assignee = user if choice == "me" else None
        if choice.isdigit():
            assignee = reference(User, user, choice, "assignee")
        services.ticket_assign(
            organization=caller_organization(user), actor=user, ticket=ticket, assignee=assignee,
            auto=choice == "auto", version=version,
        )  # fmt: skip
        return Done(gettext("Ticket #%(number)s assigned.") % {"number": number})

    return ticket_action(request, number, act, conflict_page=_conflict, stale_only=True)


@staff_required
@require_POST
@domain_errors
def ticket_reply(request: AuthedRequest, number: int) -> HttpResponse:
    """A public reply or an internal note, with files attached to it."""

    def act(user: User, ticket: Ticket, attempted: Attempted) -> Done:
        kind = "internal" if request.POST.get("kind") == "internal" else "public"
        body = request.POST.get("body", "")
        # The rich editor (editor.js) sends its HTML beside the text; the service
        # sanitizes it (nh3). Without JavaScript the text is all there is.
        html = request.POST.get("body_html", "")
        if not body.strip():
            raise ValidationFailed.one("body", gettext("Write something first."))
        check_files(request)
        comment = services.comment_add(
            organization=caller_organization(user), actor=user, ticket=ticket,
            body=html if html.strip() else body, body_is_html=bool(html.strip()), kind=kind,
        )  # fmt: skip
        upload_files(request, ticket, comment)
        # Said now: should resolving fail below, the reply was still sent.
        messages.success(
            request,
            gettext("Internal note added.") if kind == "internal" else gettext("Reply sent."),
        )
        if request.POST.get("then") != "resolve":
            return Done()
        services.ticket_change_status(
            organization=caller_organization(user), actor=user, ticket=ticket, status="resolved"
        )
        return Done(gettext("Ticket #%(number)s resolved.") % {"number": number})

    return ticket_action(request, number, act)


@staff_required
@require_POST
@domain_errors
def ticket_attach(request: AuthedRequest, number: int) -> HttpResponse:
    def act(user: User, ticket: Ticket, attempted: Attempted) -> Done:
        if not upload_files(request, ticket, None):
            raise ValidationFailed.one("file", gettext("Choose a file to attach."))
        return Done(gettext("File attached."))

    return ticket_action(request, number, act)


@staff_required
@require_POST
@domain_errors
def ticket_merge(request: AuthedRequest, number: int) -> HttpResponse:
    def act(user: User, source: Ticket, attempted: Attempted) -> Done:
        target = access_ticket_reference(user, request.POST.get("into", ""), field="into")
        services.ticket_merge(organization=caller_organization(user), actor=user, source=source,
                              target=target)  # fmt: skip
        return Done(
            gettext("Ticket #%(number)s merged into #%(number2)s.")
            % {"number": number, "number2": target.number},
            to=ticket_url(target),
        )

    return ticket_action(request, number, act)


@staff_required
@require_POST
@domain_errors
def ticket_delete(request: AuthedRequest, number: int) -> HttpResponse:
    def act(user: User, ticket: Ticket, attempted: Attempted) -> Done:
        services.ticket_soft_delete(
            organization=caller_organization(user), actor=user, ticket=ticket,
            reason=request.POST.get("reason", "")[:500],
        )  # fmt: skip
        trash = reverse("web:queue", kwargs={"slug": "trash"})
        return Done(
            gettext("Ticket #%(number)s moved to the trash.") % {"number": number}, to=trash
        )

    return ticket_action(request, number, act)


@staff_required
@require_POST
@domain_errors
def ticket_restore(request: AuthedRequest, number: int) -> HttpResponse:
    def act(user: User, ticket: Ticket, attempted: Attempted) -> Done:
        services.ticket_restore(organization=caller_organization(user), actor=user, ticket=ticket)
        return Done(gettext("Ticket #%(number)s restored.") % {"number": number})

    return ticket_action(request, number, act, only_deleted=True)


@staff_required
@require_POST
@domain_errors
def availability(request: AuthedRequest) -> HttpResponse:
    """The agent sets their own availability (routing assigns only to online agents)."""
    user = request.user
    choice = request.POST.get("availability", "")
    if choice not in Availability.values:
        raise ValidationFailed.one("availability", gettext("Choose online, away or offline."))
    user_update(organization=caller_organization(user), actor=user, user=user, availability=choice)
    messages.success(
        request, gettext("You are now %(choice)s.") % {"choice": Availability(choice).label.lower()}
    )
    return back(request, "/desk/")


# ------------------------------------------------------------------ htmx fragments
@staff_required
@require_GET
def presence(request: AuthedRequest, number: int) -> HttpResponse:
    """Who else has this ticket open (polled by the page); no query of its own."""
    others = web_selectors.presence_touch(
        organization_id=request.user.tenant_id, number=number, user=request.user
    )
    return render(request, "web/parts/presence.html", {"others": others})


@staff_required
@require_GET
@domain_errors
def canned_render(request: AuthedRequest, number: int) -> HttpResponse:
    """The reply box filled with the chosen canned response, rendered for this ticket."""
    user = request.user
    body = request.GET.get("body", "")
    chosen = request.GET.get("canned", "")
    if chosen.isdigit():
        body = canned.canned_response_render(
            organization=caller_organization(user), actor=user,
            canned=canned.CannedResponse(pk=int(chosen), organization_id=user.tenant_id),
            ticket=access_ticket_by_number(user, number),
        )  # fmt: skip
    return render(request, "web/parts/reply_body.html", {"body": body})
