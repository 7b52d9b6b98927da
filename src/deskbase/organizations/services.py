"""Creating tenants: platform work, done as the owner role (docs/tenancy.md)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from deskbase.core.errors import validated
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


def holiday_add(*, organization: Organization, date: Any, name: str) -> Holiday:
    with tenant(organization):
        holiday = Holiday(organization=organization, date=date, name=name.strip())
        validated(holiday)
        holiday.save()
        return holiday
