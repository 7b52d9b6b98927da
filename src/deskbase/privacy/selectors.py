"""Reads of the privacy pages and API: admins only, one organization at a time."""

from __future__ import annotations

from typing import Any, BinaryIO

from django.utils.translation import gettext

from deskbase.accounts.models import User
from deskbase.core.errors import Conflict, NotFound
from deskbase.core.tenancy import tenant
from deskbase.organizations.models import Organization
from deskbase.privacy import services
from deskbase.privacy.exports import export_path
from deskbase.privacy.models import DataExport, ExportState, RetentionPolicy


def exports_of(*, organization: Organization, actor: User, user_id: int) -> list[DataExport]:
    """The person's exports, newest first (at most 20). Two queries."""
    services.ensure_admin(actor)
    with tenant(organization, actor):
        services.customer_for(organization=organization, user_id=user_id)
        rows = DataExport.objects.filter(organization_id=organization.id, subject_id=user_id)
        return list(rows.order_by("-id")[:20])


def export_get(*, organization: Organization, actor: User, export_id: int) -> DataExport:
    """One export of the organization (another tenant's answers like a missing one)."""
    services.ensure_admin(actor)
    with tenant(organization, actor):
        export = DataExport.objects.filter(organization_id=organization.id, id=export_id).first()
    if export is None:
        raise NotFound(gettext("No such export."), field="export")
    return export


def export_open(
    *, organization: Organization, actor: User, export_id: int, request: Any = None
) -> tuple[DataExport, BinaryIO]:
    """The ready export's file opened for reading (the caller closes it); audited."""
    export = export_get(organization=organization, actor=actor, export_id=export_id)
    if export.state != ExportState.READY:
        raise Conflict(
            gettext("This export is %(state)s.") % {"state": export.get_state_display().lower()},
            field="export",
        )
    try:
        handle = export_path(export).open("rb")
    except FileNotFoundError:
        raise NotFound(gettext("The export's file is missing."), field="export") from None
    services.export_downloaded(
        organization=organization, actor=actor, export=export, request=request
    )
    return export, handle


def download_name(export: DataExport) -> str:
    return f"personal-data-{export.subject_id}-{export.id}.zip"


def retention_of(*, organization: Organization, actor: User) -> int | None:
    services.ensure_admin(actor)
    with tenant(organization, actor):
        policy = RetentionPolicy.objects.filter(organization_id=organization.id).first()
    return policy.closed_ticket_months if policy else None
