"""Canned responses: reusable replies with a few fixed placeholders.

A body says `{{ customer.name }}`; rendering replaces each known placeholder by a
regular expression over a fixed list. It is deliberately not the Django template
engine: a body is written by users, and `{{ settings.SECRET_KEY }}`, `{% load %}`
or attribute lookups must reach nothing. Values go in as plain text and are not
scanned again, so a customer named "{{ agent.email }}" stays just that name.
The rendered result is plain text: give it to comment_add as a text body
(body_is_html=False), which escapes it into HTML.

Shared responses (no owner) are managed by admins and managers; personal ones by
their owner. Every agent may use the shared ones and their own.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext, gettext_lazy

from deskbase import cached
from deskbase.accounts.models import Role, User
from deskbase.core import events
from deskbase.core.cache import invalidate_on_commit
from deskbase.core.errors import NotFound, PermissionDenied, ValidationFailed, validated
from deskbase.core.tenancy import tenant_atomic
from deskbase.core.updates import model_update
from deskbase.organizations.models import Organization
from deskbase.tickets.access import access_canned_response
from deskbase.tickets.models import CannedResponse, Status, Ticket
from deskbase.tickets.permissions import ensure_can_view_ticket, ensure_staff

PLACEHOLDERS: dict[str, Callable[[Ticket, User, Organization], str]] = {
    "customer.name": lambda t, a, o: t.customer.full_name or t.customer.email,
    "customer.email": lambda t, a, o: t.customer.email,
    "ticket.number": lambda t, a, o: str(t.number),
    "ticket.subject": lambda t, a, o: t.subject,
    "ticket.status": lambda t, a, o: str(Status(t.status).label),
    "agent.name": lambda t, a, o: a.full_name or a.email,
    "agent.email": lambda t, a, o: a.email,
    "organization.name": lambda t, a, o: o.name,
}
# Anything between {{ and }} is a placeholder; only the names above are known.
_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
SHARED_MANAGERS = (Role.ADMIN, Role.MANAGER)
_DUPLICATE = gettext_lazy("A canned response with this name already exists.")


def placeholder_names(body: str) -> list[str]:
    return [match.group(1) for match in _PLACEHOLDER.finditer(body)]


def check_placeholders(body: str) -> None:
    """Refuse a body with a placeholder not in PLACEHOLDERS, naming the known ones."""
    for name in placeholder_names(body):
        if name not in PLACEHOLDERS:
            known = ", ".join(f"{{{{ {known} }}}}" for known in PLACEHOLDERS)
            raise ValidationFailed.one(
                "body",
                gettext("Unknown placeholder {{ %(name)s }}; use one of %(known)s.")
                % {"name": name, "known": known},
            )


def render_body(body: str, *, ticket: Ticket, agent: User, organization: Organization) -> str:
    """Replace the known placeholders; anything else is left as written (plain text)."""
    values: dict[str, str] = {}

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in PLACEHOLDERS:
            return match.group(0)
        if name not in values:  # computed once, and only when used
            values[name] = PLACEHOLDERS[name](ticket, agent, organization)
        return values[name]

    return _PLACEHOLDER.sub(value, body)


# ------------------------------------------------------------------ helpers


def _ensure_may_manage(actor: User, *, shared: bool) -> None:
    ensure_staff(actor, gettext("manage canned responses"))
    if shared and actor.role not in SHARED_MANAGERS:
        raise PermissionDenied(
            gettext("only admins and managers may manage shared canned responses")
        )


def _current(actor: User, canned: CannedResponse) -> CannedResponse:
    """The row as stored now, locked; someone else's personal response looks absent."""
    return access_canned_response(actor, canned.pk, for_update=True)


def _validate(canned: CannedResponse) -> None:
    check_placeholders(canned.body)
    # Nothing excluded: the name's unique constraint spans organization and owner.
    validated(canned)


def _save(canned: CannedResponse, fields: list[str] | None = None) -> None:
    try:
        with transaction.atomic():  # a savepoint: a lost race on the name is a field error
            canned.save(update_fields=fields)
    except IntegrityError as error:
        if "tickets_cannedresponse_name_unique" in str(error):
            raise ValidationFailed.one("name", str(_DUPLICATE)) from None
        raise


# ------------------------------------------------------------------ services
@tenant_atomic
def canned_response_create(
    *, organization: Organization, actor: User, name: str, body: str, personal: bool = False
) -> CannedResponse:
    """A personal response (owner = actor) or a shared one (admins and managers only)."""
    _ensure_may_manage(actor, shared=not personal)
    canned = CannedResponse(
        organization=organization,
        name=(name or "").strip(),
        body=(body or "").strip(),
        owner=actor if personal else None,
    )
    _validate(canned)
    with events.announce(events.CANNED_RESPONSE_CREATED, organization, actor, canned):
        _save(canned)
    return canned


@tenant_atomic
def canned_response_update(
    *,
    organization: Organization,
    actor: User,
    canned: CannedResponse,
    name: str | None = None,
    body: str | None = None,
) -> CannedResponse:
    """Rename and/or rewrite a response; None leaves a field as it is."""
    ensure_staff(actor, gettext("manage canned responses"))
    current = _current(actor, canned)
    _ensure_may_manage(actor, shared=current.owner_id is None)
    wanted = {"name": name, "body": body}
    data = {field: value.strip() for field, value in wanted.items() if value is not None}
    update = model_update(current, fields=wanted, data=data)
    if not update:
        return current
    _validate(current)
    with events.announce(
        events.CANNED_RESPONSE_UPDATED, organization, actor, current, **update.changes
    ):
        _save(current, update.fields)
        current.refresh_from_db(fields=["updated_at"])
    return current


@tenant_atomic
def canned_response_delete(
    *, organization: Organization, actor: User, canned: CannedResponse, reason: str = ""
) -> CannedResponse:
    """Soft delete: the row stays (restorable), hidden from lists and rendering."""
    ensure_staff(actor, gettext("manage canned responses"))
    current = _current(actor, canned)
    _ensure_may_manage(actor, shared=current.owner_id is None)
    with events.announce(events.CANNED_RESPONSE_SOFT_DELETED, organization, actor, current):
        current.soft_delete(actor, reason)
    return current


@tenant_atomic
def canned_response_render(
    *, organization: Organization, actor: User, canned: CannedResponse, ticket: Ticket
) -> str:
    """The body with the ticket's values filled in, as plain text; counts the use."""
    ensure_staff(actor, gettext("use canned responses"))
    found = access_canned_response(actor, canned.pk)
    current = Ticket.objects.select_related("customer").filter(pk=ticket.pk).first()
    if current is None:
        raise NotFound(gettext("no such ticket"), field="ticket")
    ensure_can_view_ticket(actor, current)
    # Callers may pass the organization by id only: {{ organization.name }} needs the row
    # (cached, so no query on a hit).
    named = cached.organization_settings(organization.id)
    text = render_body(found.body, ticket=current, agent=actor, organization=named)
    # In SQL, so two agents using it at once both count.
    CannedResponse.objects.filter(pk=found.pk).update(usage_count=F("usage_count") + 1)
    # update() sends no signal: the cached list shows usage_count, so say it changed.
    invalidate_on_commit(organization.id, cached.CANNED_RESPONSES)
    return text


@tenant_atomic
def canned_responses_for(*, organization: Organization, actor: User) -> list[CannedResponse]:
    """Shared responses and the actor's personal ones, by name (cached; one query on a miss)."""
    ensure_staff(actor, gettext("use canned responses"))
    # The organization's whole list is cached (deskbase.cached); pick the usable.
    return [
        canned
        for canned in cached.canned_responses(organization)
        if canned.owner_id is None or canned.owner_id == actor.id
    ]
