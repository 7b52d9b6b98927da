"""Creating tenants: platform work, done as the owner role (docs/tenancy.md)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext

from deskbase.accounts.models import Role, User
from deskbase.core.errors import NotFound, PermissionDenied, validated
from deskbase.core.tenancy import tenant
from deskbase.organizations.models import Holiday, Organization


@transaction.atomic
def organization_create(*, slug: str, name: str, **fields: Any) -> Organization:
    """Create an organization. Runs where no tenant is set yet: needs the owner role."""
    organization = Organization(
        slug=(slug or "").strip().lower(), name=(name or "").strip(), **fields
    )
    validated(organization)
    organization.save()
    return organization


HOLIDAY_MANAGERS = (Role.ADMIN, Role.MANAGER)


def _ensure_may_manage_holidays(actor: User | None, action: str) -> None:
    # None: an operator command (the owner role), which may do anything.
    if actor is not None and actor.role not in HOLIDAY_MANAGERS:
        raise PermissionDenied(
            gettext("only admins and managers may %(action)s") % {"action": action}
        )


def holiday_add(*, organization: Organization, actor: User | None, date: Any, name: str) -> Holiday:
    """Close a day for business-hours SLAs (admins and managers); one per date.
    SLA clocks computed from now on skip it; due times already set stay."""
    _ensure_may_manage_holidays(actor, gettext("add holidays"))
    with tenant(organization, actor):
        holiday = Holiday(organization=organization, date=date, name=(name or "").strip())
        validated(holiday)
        holiday.save()
        return holiday


def holiday_remove(*, organization: Organization, actor: User | None, holiday_id: int) -> Holiday:
    """Open a closed day again (admins and managers, as for adding one). Business-hours
    SLA clocks computed from now on count it; due times already set stay."""
    _ensure_may_manage_holidays(actor, gettext("remove holidays"))
    with tenant(organization, actor):
        holiday = (
            Holiday.objects.select_for_update()
            .filter(organization_id=organization.id, pk=holiday_id)
            .first()
        )
        if holiday is None:
            raise NotFound(gettext("no such holiday"), field="holiday")
        holiday.delete()  # post_delete invalidates the cached organization settings
        return holiday
