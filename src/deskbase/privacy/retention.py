"""The daily retention run: purge closed tickets past each organization's months.

Organizations one at a time, each in chunks of one transaction (services.purge_chunk),
with progress in the log and one summary audit entry per organization and run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from django.utils import timezone

from deskbase.organizations.models import Organization
from deskbase.privacy import services
from deskbase.privacy.models import RetentionPolicy

logger = logging.getLogger(__name__)


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months earlier (clamped to the month's end)."""
    month_index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    for day in (moment.day, 30, 29, 28):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _policies() -> list[tuple[int, int | None]]:
    """(organization id, months) of every organization with retention on; the worker
    runs as the owner role, which sees every tenant."""
    return list(
        RetentionPolicy.objects.filter(closed_ticket_months__isnull=False)
        .order_by("organization_id")
        .values_list("organization_id", "closed_ticket_months")
    )


def run(
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    organization_id: int | None = None,
    chunk: int = services.PURGE_CHUNK,
    say: Callable[[str], None] = lambda line: None,
) -> dict[str, int]:
    """Purge (or with dry_run count) what retention takes; tickets per organization slug."""
    now = now or timezone.now()
    result: dict[str, int] = {}
    for org_id, months in _policies():
        if months is None or (organization_id is not None and org_id != organization_id):
            continue
        organization = Organization.objects.get(pk=org_id)
        cutoff = months_before(now, months)
        if dry_run:
            count = services.purge_count(organization=organization, cutoff=cutoff)
            say(f"{organization.slug}: {count} closed tickets closed before {cutoff:%Y-%m-%d}")
            result[organization.slug] = count
            continue
        purged = 0
        while True:
            done = services.purge_chunk(organization=organization, cutoff=cutoff, limit=chunk)
            if not done:
                break
            purged += done
            logger.info("retention %s: %d tickets purged so far", organization.slug, purged)
            say(f"{organization.slug}: {purged} purged")
        services.purge_audited(organization=organization, purged=purged, cutoff=cutoff)
        logger.info("retention %s: %d tickets purged (closed before %s)",
                    organization.slug, purged, cutoff.isoformat())  # fmt: skip
        result[organization.slug] = purged
    return result
