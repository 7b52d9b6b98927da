"""The queue's bulk actions and saved views (docs/bulk.md, docs/saved-views.md).

Thin, like every view: parse the form, call the bulk or saved-view service, render.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from deskbase.accounts.models import Role
from deskbase.accounts.requests import AuthedRequest
from deskbase.bulk import selectors as bulk_selectors
from deskbase.bulk import services as bulk
from deskbase.bulk.models import Action
from deskbase.core.errors import ValidationFailed
from deskbase.savedviews import selectors as view_selectors
from deskbase.savedviews import services as view_services
from deskbase.savedviews.filters import filters_as_json, filters_from
from deskbase.tickets import selectors
from deskbase.tickets.access import caller_organization
from deskbase.tickets.models import Priority, Status
from deskbase.tickets.selectors import TicketFilters
from deskbase.web import queues
from deskbase.web import selectors as web_selectors
from deskbase.web.views.common import domain_errors, staff_required

SORTS = ("updated", "created", "priority", "sla_due")


def _choice(value: str | None, allowed: Any) -> str | None:
    return value if value in allowed else None


def page_filters(
    user: Any, slug: str, params: QueryDict, team_ids: list[int] | None = None
) -> tuple[TicketFilters, str]:
    """The filters and sort a queue page shows (its queue narrowed by the page's choices)."""
    current = queues.QUEUES.get(slug)
    if current is None:
        raise Http404("no such queue")
    if team_ids is None:
        team_ids = web_selectors.team_ids_of(organization=caller_organization(user), actor=user)
    tag = (params.get("tag") or "").strip()[:50] or None
    filters = queues.filters_for(
        current, team_id=team_ids[0] if team_ids else None,
        status=_choice(params.get("status"), Status.values),
        priority=_choice(params.get("priority"), Priority.values), tag=tag,
    )  # fmt: skip
    custom = list(selectors.custom_filters(params))
    name, value = (params.get("cf_name") or "").strip(), (params.get("cf_value") or "").strip()
    if name and value:
        selectors.custom_matches(name, value)
        custom.append((name, value))
    if custom:
        filters = replace(filters, custom=tuple(custom))
    return filters, _choice(params.get("sort"), SORTS) or current.sort


# ------------------------------------------------------------------ bulk actions
def _selected(values: list[str]) -> list[bulk.Selected]:
    chosen = []
    for value in values:
        number, _, version = value.partition(":")
        if not number.isdigit() or (version and not version.isdigit()):
            raise ValidationFailed.one(
                "tickets", gettext("A selected ticket is not one of this page.")
            )
        chosen.append(bulk.Selected(int(number), int(version) if version else None))
    return chosen


def _params(post: QueryDict, action: str) -> dict[str, Any]:
    if action == Action.ASSIGN:
        choice = post.get("assignee", "")
        if choice == "me":
            return {"assignee_id": None, "me": True}
        return {"assignee_id": int(choice) if choice.isdigit() else None}
    if action == Action.TEAM:
        choice = post.get("team", "")
        return {"team_id": int(choice) if choice.isdigit() else None}
    if action in (Action.ADD_TAGS, Action.REMOVE_TAGS):
        return {"tags": [t for t in post.get("tags", "").split(",") if t.strip()]}
    return {
        "status": post.get("status"), "priority": post.get("priority"),
        "into": post.get("into", "").strip().lstrip("#"), "reason": post.get("reason", ""),
    }  # fmt: skip


@staff_required
@require_POST
@domain_errors
def bulk_start(request: AuthedRequest) -> HttpResponse:
    """Start a bulk action on the ticked tickets, or on all matching the page's filters."""
    user = request.user
    post = request.POST
    action = post.get("action", "")
    params = _params(post, action)
    if params.pop("me", False):
        params["assignee_id"] = user.id
    tickets, filters = None, None
    if post.get("scope") == "all":
        # The page's filters, carried as f.<name> beside the action's own fields.
        shown = QueryDict(mutable=True)
        for key in post:
            if key.startswith("f."):
                shown[key[2:]] = post.get(key, "")
        filters, _ = page_filters(user, post.get("queue", ""), shown)
    else:
        tickets = _selected(post.getlist("t"))
        if not tickets:
            raise ValidationFailed.one("tickets", gettext("Tick at least one ticket first."))
    organization = caller_organization(user)
    job = bulk.bulk_start(
        organization=organization,
        actor=user,
        action=action,
        params=params,
        tickets=tickets,
        filters=filters,
    )
    if job.total <= bulk.INLINE_MAX:
        bulk.bulk_run(organization=organization, job_id=job.id)
    return redirect("web:bulk_job", job_id=job.id)


def _job_context(request: AuthedRequest, job_id: int) -> dict[str, Any]:
    job = bulk_selectors.job_of(request.user, job_id)
    return {"job": job, "action": Action(job.action).label}


@staff_required
@require_GET
@domain_errors
def bulk_job(request: AuthedRequest, job_id: int) -> HttpResponse:
    """The job's progress (polled while it runs), then its summary."""
    return render(request, "web/desk/bulk_job.html", _job_context(request, job_id))


@staff_required
@require_GET
@domain_errors
def bulk_progress(request: AuthedRequest, job_id: int) -> HttpResponse:
    return render(request, "web/parts/bulk_progress.html", _job_context(request, job_id))


# ------------------------------------------------------------------ saved views
@staff_required
@require_POST
@domain_errors
def view_save(request: AuthedRequest) -> HttpResponse:
    """Save the page's filters and sort as a named view (shared: admins and managers)."""
    user = request.user
    post = request.POST
    filters, sort = page_filters(user, post.get("queue", ""), post)
    view = view_services.view_create(
        organization=caller_organization(user), actor=user, name=post.get("name", ""),
        filters=filters_as_json(filters), sort=sort, shared=post.get("shared") == "on",
    )  # fmt: skip
    messages.success(request, gettext("View “%(name)s” saved.") % {"name": view.name})
    return redirect("web:saved_view", view_id=view.id)


@staff_required
@require_POST
@domain_errors
def view_delete(request: AuthedRequest, view_id: int) -> HttpResponse:
    user = request.user
    view = view_selectors.access_view(user, view_id)
    view_services.view_delete(organization=caller_organization(user), actor=user, view=view)
    messages.success(request, gettext("View “%(name)s” deleted.") % {"name": view.name})
    return redirect(reverse("web:desk"))


def may_change_view(user: Any, view: Any) -> bool:
    if view.owner_id is None:
        return user.role in (Role.ADMIN, Role.MANAGER)
    return view.owner_id == user.id


def view_page_filters(user: Any, view_id: int) -> tuple[Any, TicketFilters, str]:
    view = view_selectors.access_view(user, view_id)
    return view, filters_from(view.filters, user), view.sort
