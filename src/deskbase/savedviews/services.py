"""Every write to saved views: create, rename or refilter, delete.

Anyone of the staff keeps personal views; a shared view (owner NULL, seen by the
whole organization's staff) is created, changed and deleted by admins and managers.
The filters are checked here, each bad one named (`filters.<name>`).
"""

from __future__ import annotations

from typing import Any

from django.db.models.functions import Now
from django.utils.translation import gettext

from deskbase.accounts.models import Role, User
from deskbase.core.errors import PermissionDenied, ValidationFailed
from deskbase.core.tenancy import tenant_atomic
from deskbase.organizations.models import Organization
from deskbase.savedviews.filters import filters_from
from deskbase.savedviews.models import SORTS, SavedView
from deskbase.tickets.permissions import ensure_staff

SHARING_ROLES = (Role.ADMIN, Role.MANAGER)


def _check(name: str, filters: dict[str, Any], sort: str, actor: User) -> str:
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise ValidationFailed.one("name", gettext("A view's name is 1 to 80 characters."))
    if sort not in SORTS:
        raise ValidationFailed.one(
            "sort",
            gettext("Unknown sort %(sort)r; use %(choices)s.")
            % {"sort": sort, "choices": ", ".join(SORTS)},
        )
    filters_from(filters, actor)  # refuses a bad filter, naming it
    return name


def _ensure_may_change(actor: User, view: SavedView) -> None:
    if view.owner_id is None:
        if actor.role not in SHARING_ROLES:
            raise PermissionDenied(gettext("only admins and managers may change shared views"))
    elif view.owner_id != actor.id:
        raise PermissionDenied(gettext("this is someone else's view"))


@tenant_atomic
def view_create(
    *,
    organization: Organization,
    actor: User,
    name: str,
    filters: dict[str, Any],
    sort: str = "updated",
    shared: bool = False,
) -> SavedView:
    ensure_staff(actor, gettext("save views"))
    if shared and actor.role not in SHARING_ROLES:
        raise PermissionDenied(gettext("only admins and managers may share views"), field="shared")
    name = _check(name, filters, sort, actor)
    view = SavedView(
        organization=organization, owner=None if shared else actor, created_by=actor,
        name=name, filters=filters, sort=sort,
    )  # fmt: skip
    view.save()
    return view


@tenant_atomic
def view_update(
    *,
    organization: Organization,
    actor: User,
    view: SavedView,
    name: str | None = None,
    filters: dict[str, Any] | None = None,
    sort: str | None = None,
) -> SavedView:
    ensure_staff(actor, gettext("change views"))
    current = SavedView.objects.select_for_update().get(pk=view.pk)
    _ensure_may_change(actor, current)
    current.name = _check(
        current.name if name is None else name,
        current.filters if filters is None else filters,
        current.sort if sort is None else sort,
        actor,
    )
    if filters is not None:
        current.filters = filters
    if sort is not None:
        current.sort = sort
    current.updated_at = Now()
    current.save(update_fields=["name", "filters", "sort", "updated_at"])
    current.refresh_from_db(fields=["updated_at"])
    return current


@tenant_atomic
def view_delete(*, organization: Organization, actor: User, view: SavedView) -> None:
    ensure_staff(actor, gettext("delete views"))
    current = SavedView.objects.select_for_update().get(pk=view.pk)
    _ensure_may_change(actor, current)
    current.delete()
