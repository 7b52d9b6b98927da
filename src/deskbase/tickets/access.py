"""The caller's row: one function per kind, each scoping to the caller's tenant and
checking that the caller may see the row, for the API and the web pages alike.

Whatever the caller may not see answers exactly like a row that does not exist
(NotFound, a 404 on both transports): another tenant's ticket, another customer's,
an internal note's file, someone else's personal canned response. Row-level
security (core/rls.py) is the second wall; these are the first.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model, Q, QuerySet
from django.utils.translation import gettext

from deskbase import cached
from deskbase.accounts.models import User
from deskbase.core.errors import NotFound, ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.organizations.models import Organization
from deskbase.tickets.models import (
    CannedResponse,
    Category,
    CommentKind,
    Ticket,
    TicketAttachment,
)
from deskbase.tickets.permissions import can_view_ticket, is_staff_member


def caller_organization(user: User) -> Organization:
    """The caller's organization by id only, as the services take it: no query."""
    return Organization(id=user.organization_id)


def access_ticket_by_number(
    user: User,
    number: int,
    *,
    for_update: bool = False,
    include_deleted: bool = False,
    only_deleted: bool = False,
) -> Ticket:
    """The caller's ticket by number: staff see the tenant's tickets, a customer their own.

    Deleted tickets are absent unless `include_deleted` (live and deleted) or
    `only_deleted` (the trash only). `for_update` locks the row: call it inside a
    transaction. One query.
    """
    manager = Ticket.all_objects if include_deleted or only_deleted else Ticket.objects
    found = manager.filter(organization_id=user.organization_id, number=number)
    if only_deleted:
        found = found.filter(deleted_at__isnull=False)
    if for_update:
        found = found.select_for_update()
    with tenant(user.organization_id, user, savepoint=False):
        ticket = found.first()
    if ticket is None or not can_view_ticket(user, ticket):
        # The very words of a number that exists nowhere (selectors.ticket_detail).
        raise NotFound(gettext("no ticket #%(number)s") % {"number": number}, field="number")
    return ticket


def access_ticket_reference(user: User, number: Any, *, field: str) -> Ticket:
    """A ticket named in a form or body field (a merge target, a canned response's
    ticket): the same rule, refused as bad input naming `field`."""
    raw = str(number).strip().lstrip("#")
    if raw.isdigit() and len(raw) < 19:
        try:
            return access_ticket_by_number(user, int(raw))
        except NotFound:
            pass
    raise ValidationFailed.one(field, gettext("No ticket #%(raw)s here.") % {"raw": raw})


def access_row[M: Model](
    model: type[M], user: User, pk: int, *, field: str, staff: bool = False
) -> M:
    """A row of the caller's organization by id, named in a form or body `field`
    (a team, a category, a customer, an assignee); absent is bad input naming it.

    Categories come from the cached tree, and with `staff` people from the cached
    roster of active staff: no query on a cache hit.
    """
    name = field.removesuffix("_id")
    found: Any
    if model is Category:
        found = cached.category(user.tenant_id, pk)
    elif model is User and staff:
        found = cached.roster_member(user.tenant_id, pk)
    else:
        with tenant(user.organization_id, user, savepoint=False):
            found = model._default_manager.filter(
                organization_id=user.organization_id, pk=pk
            ).first()
    if found is None:
        raise ValidationFailed.one(field, gettext("No such %(name)s here.") % {"name": name})
    return found


def visible_attachments(actor: User) -> QuerySet[TicketAttachment]:
    """Staff see the tenant's attachments; customers those of their own tickets,
    except on internal notes (or on deleted comments). The caller's tenant only."""
    visible = TicketAttachment.objects.filter(
        organization_id=actor.tenant_id, ticket__deleted_at__isnull=True
    )
    if is_staff_member(actor):
        return visible
    return visible.filter(ticket__customer_id=actor.id).filter(
        Q(comment__isnull=True)
        | Q(
            comment__deleted_at__isnull=True,
            comment__kind__in=[CommentKind.PUBLIC, CommentKind.SYSTEM],
        )
    )


def access_attachment(user: User, attachment_id: int) -> TicketAttachment:
    """An attachment the caller may see: staff, the tenant's (of live tickets); a
    customer, those of their own tickets, except an internal note's or a deleted
    comment's. One query."""
    with tenant(user.organization_id, user, savepoint=False):
        found = visible_attachments(user).filter(pk=attachment_id).first()
    if found is None:
        raise NotFound(gettext("no such attachment"), field="attachment")
    return found


def access_canned_response(
    user: User, canned_id: int, *, for_update: bool = False
) -> CannedResponse:
    """A live canned response the caller may use: a shared one or their own personal
    one; someone else's personal response is absent. `for_update` locks it. One query."""
    found = CannedResponse.objects.filter(organization_id=user.organization_id, pk=canned_id)
    found = found.filter(Q(owner__isnull=True) | Q(owner_id=user.id))
    if for_update:
        found = found.select_for_update()
    with tenant(user.organization_id, user, savepoint=False):
        canned = found.first()
    if canned is None:
        raise NotFound(gettext("no such canned response"), field="canned")
    return canned
