"""Reads of bulk jobs: the caller's own, for the progress and the summary."""

from __future__ import annotations

from django.utils.translation import gettext

from deskbase.accounts.models import User
from deskbase.bulk.models import BulkJob
from deskbase.core.errors import NotFound
from deskbase.core.tenancy import tenant
from deskbase.tickets.permissions import ensure_staff


def job_of(actor: User, job_id: int) -> BulkJob:
    """A bulk job the caller started; anyone else's (or another tenant's) is absent. 1 query."""
    ensure_staff(actor, gettext("change tickets in bulk"))
    with tenant(actor.tenant_id, actor, savepoint=False):
        found = BulkJob.objects.filter(
            organization_id=actor.tenant_id, actor_id=actor.id, pk=job_id
        ).first()
    if found is None:
        raise NotFound(gettext("no such bulk job"), field="job_id")
    return found
