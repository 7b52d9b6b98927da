"""Reads of saved views: the caller's views, one view, every view's count in one query."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import F, Q
from django.utils.translation import gettext

from deskbase.accounts.models import User
from deskbase.core.errors import NotFound
from deskbase.core.tenancy import tenant
from deskbase.organizations.models import Organization
from deskbase.savedviews.filters import filters_from
from deskbase.savedviews.models import SavedView
from deskbase.tickets import listing
from deskbase.tickets.permissions import ensure_staff
from deskbase.tickets.selectors import TicketFilters, custom_value_keys

MAX_VIEWS = 100  # per person: their own and the shared ones, shown in the sidebar
COUNT_CAP = listing.COUNT_CAP  # shown "10,000+" (docs/saved-views.md, "Counts")
TAG_COUNT_SQL = (
    "SELECT count(*) FROM (SELECT 1 FROM tickets_tickettag g"
    " WHERE g.organization_id = %s AND g.tag = %s"
)

FIELD_COUNT_SQL = (
    "SELECT count(*) FROM (SELECT 1 FROM tickets_ticketfieldvalue v"
    " WHERE v.organization_id = %s AND v.field = %s AND v.value = ANY(%s::text[])"
)


def _visible(actor: User) -> Q:
    return Q(organization_id=actor.organization_id) & (Q(owner__isnull=True) | Q(owner_id=actor.id))


def views_for(*, organization: Organization, actor: User) -> list[SavedView]:
    """The caller's personal views and the organization's shared ones, shared first,
    then by name. Budget: 1 query."""
    ensure_staff(actor, gettext("use saved views"))
    with tenant(organization, actor, savepoint=False):
        return list(
            SavedView.objects.filter(_visible(actor)).order_by(
                F("owner_id").asc(nulls_first=True), "name", "id"
            )[:MAX_VIEWS]
        )


def access_view(actor: User, view_id: int) -> SavedView:
    """A view the caller may see (their own or a shared one); another's is absent. 1 query."""
    ensure_staff(actor, gettext("use saved views"))
    with tenant(actor.organization_id, actor, savepoint=False):
        found = SavedView.objects.filter(_visible(actor), pk=view_id).first()
    if found is None:
        raise NotFound(gettext("no such view"), field="view_id")
    return found


def view_counts(
    *, organization: Organization, actor: User, views: list[SavedView]
) -> dict[int, int]:
    """The live count of each view's tickets, capped at COUNT_CAP + 1 (shown "10,000+").

    One statement for all views: a scalar subquery each, so that PostgreSQL plans each
    view's filter on its own indexes (the queue indexes, the keys of tickets_tickettag and
    tickets_ticketfieldvalue) and stops at the cap. Budget: 1 query (none without views).
    """
    if not views:
        return {}
    parts: list[str] = []
    params: list[Any] = []
    for view in views:
        filters = filters_from(view.filters, actor)
        if filters.tag and filters == TicketFilters(tag=filters.tag):
            # A tag alone: tickets_tickettag holds the live tickets' tags only, so the
            # count is one range of its primary key, index-only, without the tickets.
            parts.append(f"({TAG_COUNT_SQL} LIMIT {COUNT_CAP + 1}) capped)")
            params.extend([organization.id, filters.tag.strip().lower()])
            continue
        if len(filters.custom) == 1 and filters == TicketFilters(custom=filters.custom):
            # One custom field alone: the same, on tickets_ticketfieldvalue (a ticket has
            # one value per field, so the value ranges never count a ticket twice).
            parts.append(f"({FIELD_COUNT_SQL} LIMIT {COUNT_CAP + 1}) capped)")
            params.extend([organization.id, *custom_value_keys(*filters.custom[0])])
            continue
        where, values = listing._conditions(filters, actor)
        # The text is listing's conditions (constants and checked enum values); every
        # value is a bound parameter.
        parts.append(
            "".join(
                [
                    "(SELECT count(*) FROM (SELECT 1 FROM tickets_ticket t",
                    " WHERE t.organization_id = %s AND t.deleted_at IS NULL",
                    *(f" AND {clause}" for clause in where),
                    f" LIMIT {COUNT_CAP + 1}) capped)",
                ]
            )
        )
        params.extend([organization.id, *values])
    with tenant(organization, actor, savepoint=False), connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        row = cursor.fetchone()
    return {view.id: count for view, count in zip(views, row, strict=True)}
