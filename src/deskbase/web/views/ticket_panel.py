"""The ticket page's properties panel: each control saves as it changes.

htmx posts the panel's form with `field` naming the control that changed (ticket.js);
the answer is the panel again with the fresh values and version, and the event
`ticket-changed` when the ticket changed, on which the page reloads its timeline.
A stale version is a 409 showing both values with a way to apply one's own again;
a refused value a 422 naming it. Without JavaScript the form posts every control and
the page is reloaded (a 409 page on a stale version).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from deskbase.accounts.models import Team, User
from deskbase.accounts.requests import AuthedRequest
from deskbase.core.errors import Conflict, DomainError, ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.organizations.models import Organization
from deskbase.tickets import customfields, services
from deskbase.tickets.access import access_ticket_by_number, caller_organization
from deskbase.tickets.models import TRANSITIONS, Category, CustomField, Priority, Status, Ticket
from deskbase.web import selectors as web_selectors
from deskbase.web.views.common import domain_errors, error_text, staff_required
from deskbase.web.views.tickets import reference, ticket_url

PLAIN_FIELDS = ("assignee", "status", "priority", "team", "category", "tags", "subject")
CF_PREFIX = "cf_"


@dataclass
class ShownField:
    """A custom field as the panel shows it: its definition and the ticket's value."""

    key: str
    label: str
    field_type: str
    options: list[str]
    value: Any


def panel_context(
    user: User, ticket: Ticket, *, agents: list[Any] | None = None,
    teams: list[Team] | None = None, categories: list[Category] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """What the panel shows; the lists the page already read are passed in. 1 query for
    the custom fields (+1 each for agents, teams and categories not passed)."""
    organization = caller_organization(user)
    if agents is None:
        agents = web_selectors.agents_with_load(organization=organization, actor=user)
    if teams is None or categories is None:
        with tenant(organization, user, savepoint=False):
            teams = list(Team.objects.filter(organization_id=user.tenant_id).order_by("name"))
            categories = list(
                Category.objects.filter(organization_id=user.tenant_id).order_by("name")
            )
    definitions = customfields.custom_fields_for(
        organization=organization, actor=user, include_archived=True
    )
    values = ticket.custom_fields or {}
    shown = [
        ShownField(f.key, f.label, f.field_type, list(f.options), values.get(f.key))
        for f in definitions
        if not f.archived
    ]
    labels = {f.key: f.label for f in definitions}
    active = {f.key for f in shown}
    others = [(labels.get(k, k), v) for k, v in values.items() if k not in active]
    return {
        "ticket": ticket, "agents": agents, "teams": teams, "categories": categories,
        "priorities": Priority.choices,
        # The current status (selected) and those it may change to, in their usual order.
        "statuses": [s for s in Status.choices
                     if s[0] == ticket.status or s[0] in TRANSITIONS[ticket.status]],
        "transitions": bool(TRANSITIONS[ticket.status]),
        "assignee_missing": ticket.assignee_id is not None
        and ticket.assignee_id not in {a.id for a in agents},
        "custom_fields": shown, "other_fields": others, "definitions": definitions,
    }  # fmt: skip


# ------------------------------------------------------------------ applying one change
def _tags(raw: str) -> list[str]:
    return [t.strip() for t in raw.split(",") if t.strip()]


def _differs(user: User, ticket: Ticket, name: str, raw: str, defs: dict[str, CustomField]) -> bool:
    """Whether the form's `raw` value for control `name` differs from the ticket's."""
    if name == "assignee":
        return raw in ("auto", "me") or raw != str(ticket.assignee_id or "")
    if name in ("team", "category"):
        return raw != str(getattr(ticket, f"{name}_id") or "")
    if name == "tags":
        return [t.lower() for t in _tags(raw)] != list(ticket.tags)
    if name.startswith(CF_PREFIX):
        field = defs.get(name.removeprefix(CF_PREFIX))
        if field is None:
            return False
        new = customfields.parse_form_value(field, raw)
        old = (ticket.custom_fields or {}).get(field.key)
        return (new or None) != (old or None) if field.field_type == "checkbox" else new != old
    return raw != str(getattr(ticket, name, ""))


def _apply(
    user: User, organization: Organization, ticket: Ticket, version: int, name: str, raw: str,
    defs: dict[str, CustomField],
) -> Ticket:  # fmt: skip
    """Save one control's value at `version` through the services; the ticket after it."""
    common: dict[str, Any] = {"organization": organization, "actor": user, "ticket": ticket,
                              "version": version}  # fmt: skip
    if name == "assignee":
        assignee = user if raw == "me" else None
        if raw.isdigit():
            assignee = reference(User, user, raw, "assignee")
        return services.ticket_assign(**common, assignee=assignee, auto=raw == "auto")
    if name == "status":
        return services.ticket_change_status(**common, status=raw)
    if name in ("team", "category"):
        model = Team if name == "team" else Category
        return services.ticket_update(**common, **{name: reference(model, user, raw, name)})
    if name == "tags":
        return services.ticket_update(**common, tags=_tags(raw))
    if name in ("priority", "subject"):
        return services.ticket_update(**common, **{name: raw})
    field = defs.get(name.removeprefix(CF_PREFIX)) if name.startswith(CF_PREFIX) else None
    if field is None or field.archived:
        raise ValidationFailed.one(name, _("This field cannot be changed here."))
    value = customfields.parse_form_value(field, raw)
    if field.field_type == "checkbox" and not value:
        value = None  # unticked: the key goes (absent reads as no)
    merged = customfields.merged_values(ticket.custom_fields or {}, {field.key: value})
    return services.ticket_update(**common, custom_fields=merged)


def _display(name: str, raw: str, context: dict[str, Any]) -> str:
    """A control's value in words, for the conflict's "yours" and "now"."""
    if name == "assignee":
        names = {str(a.id): a.label for a in context["agents"]}
        return {"": _("Nobody"), "me": _("you"), "auto": _("automatic")}.get(raw) or names.get(
            raw, raw
        )
    if name in ("team", "category"):
        rows = context["teams" if name == "team" else "categories"]
        return {str(r.id): r.name for r in rows}.get(raw, raw) if raw else _("None")
    if name == "status":
        return str(dict(Status.choices).get(raw, raw))
    if name == "priority":
        return str(dict(Priority.choices).get(raw, raw))
    if name.startswith(CF_PREFIX) and raw in ("on", "true"):
        return _("yes")
    return raw


def _current(name: str, ticket: Ticket) -> str:
    """The ticket's value of control `name`, as the form would post it."""
    if name in ("assignee", "team", "category"):
        return str(getattr(ticket, f"{name}_id") or "")
    if name == "tags":
        return ", ".join(ticket.tags)
    if name.startswith(CF_PREFIX):
        value = (ticket.custom_fields or {}).get(name.removeprefix(CF_PREFIX))
        return "on" if value is True else "" if value in (None, False) else str(value)
    return str(getattr(ticket, name, ""))


def _label(name: str, defs: dict[str, CustomField]) -> str:
    labels = {
        "assignee": _("The assignee"), "status": _("The status"), "priority": _("The priority"),
        "team": _("The team"), "category": _("The category"), "tags": _("The tags"),
        "subject": _("The subject"),
    }  # fmt: skip
    if name.startswith(CF_PREFIX) and name.removeprefix(CF_PREFIX) in defs:
        return defs[name.removeprefix(CF_PREFIX)].label
    return labels.get(name, name)


# ------------------------------------------------------------------ the view
@staff_required
@require_POST
@domain_errors
def ticket_properties(request: AuthedRequest, number: int) -> HttpResponse:
    user = request.user
    organization = caller_organization(user)
    ticket = access_ticket_by_number(user, number)
    definitions = customfields.custom_fields_for(
        organization=organization, actor=user, include_archived=True
    )
    defs = {f.key: f for f in definitions}
    post = request.POST
    chosen = post.get("field", "")
    names = [chosen] if chosen else [*PLAIN_FIELDS, *(CF_PREFIX + k for k in defs)]
    raw_version = post.get("version", "")
    extra: dict[str, Any] = {}
    status = 200
    try:
        if not raw_version.isdigit():
            raise ValidationFailed.one("version", _("The form is out of date: reload the page."))
        version = int(raw_version)
        with transaction.atomic():
            for name in names:
                raw = post.get(name, "")
                if name.startswith(CF_PREFIX) and name not in post and chosen != name:
                    raw = ""  # an unticked checkbox of the full form
                if name not in post and not name.startswith(CF_PREFIX):
                    continue
                if chosen or _differs(user, ticket, name, raw, defs):
                    ticket = _apply(user, organization, ticket, version, name, raw, defs)
                    version = ticket.version
        extra["saved"] = True
    except Conflict as error:
        stale = error.field == "version"
        ticket = access_ticket_by_number(user, number)
        if stale:
            name = chosen or next(
                (n for n in names if n in post and post.get(n) != _current(n, ticket)), ""
            )
            extra["panel_conflict"] = {"field": name, "raw": post.get(name, ""),
                                       "label": _label(name, defs)}  # fmt: skip
        else:
            extra["panel_error"] = error_text(error)
        status = 409
    except ValidationFailed as error:
        ticket = access_ticket_by_number(user, number)
        extra["panel_error"] = error_text(error)
        status = 422
    except DomainError:
        raise
    return _answer(request, ticket, extra, status, changed=raw_version != str(ticket.version))


def _answer(
    request: AuthedRequest, ticket: Ticket, extra: dict[str, Any], status: int, *, changed: bool
) -> HttpResponse:
    user = request.user
    if request.headers.get("HX-Request") != "true":
        return _full_page(request, ticket, extra, status)
    context = panel_context(user, ticket)
    context.update(extra)
    conflict = extra.get("panel_conflict")
    if conflict:
        conflict["mine"] = _display(conflict["field"], conflict["raw"], context)
        conflict["current"] = _display(conflict["field"], _current(conflict["field"], ticket),
                                       context)  # fmt: skip
    response = render(request, "web/desk/ticket_panel.html", context, status=status)
    if changed:
        response["HX-Trigger"] = "ticket-changed"
    return response


def _full_page(
    request: AuthedRequest, ticket: Ticket, extra: dict[str, Any], status: int
) -> HttpResponse:
    """Without JavaScript: back to the page (a message says what happened), or the page
    with the conflict (409)."""
    if status == 200:
        messages.success(request, _("Ticket #%(number)s saved.") % {"number": ticket.number})
        return redirect(ticket_url(ticket))
    if "panel_error" in extra:
        messages.error(request, extra["panel_error"])
        return redirect(ticket_url(ticket))
    from deskbase.web.views.desk import page_context  # the page imports this module

    context = page_context(request, ticket.number)
    context.update(extra)
    conflict = extra["panel_conflict"]
    conflict["mine"] = _display(conflict["field"], conflict["raw"], context)
    conflict["current"] = _display(conflict["field"], _current(conflict["field"], ticket), context)
    return render(request, "web/desk/ticket.html", context, status=status)
