"""Reads of webhook endpoints, their delivery log and statistics (admins and managers)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext

from deskbase.accounts.models import User
from deskbase.core.errors import NotFound
from deskbase.core.tenancy import tenant
from deskbase.organizations.models import Organization
from deskbase.webhooks.models import Delivery, Endpoint
from deskbase.webhooks.services import ensure_may_manage

STATS_DAYS = 30


def endpoint_list(*, organization: Organization, actor: User | None) -> list[Endpoint]:
    """The organization's endpoints, oldest first. One query."""
    ensure_may_manage(actor)
    with tenant(organization, actor, savepoint=False):
        return list(Endpoint.objects.filter(organization_id=organization.id).order_by("id"))


def endpoint_of(*, organization: Organization, actor: User | None, endpoint_id: int) -> Endpoint:
    ensure_may_manage(actor)
    with tenant(organization, actor, savepoint=False):
        found = Endpoint.objects.filter(organization_id=organization.id, pk=endpoint_id).first()
    if found is None:
        raise NotFound(gettext("no such webhook endpoint"), field="endpoint")
    return found


@dataclass(frozen=True)
class DeliveryPage:
    items: list[Delivery]
    next_cursor: str | None


def deliveries(
    *,
    organization: Organization,
    actor: User | None,
    endpoint_id: int | None = None,
    before: tuple[datetime, int] | None = None,
    limit: int = 50,
) -> DeliveryPage:
    """The log, newest first, keyset-paginated on (created_at, id). One query per page."""
    ensure_may_manage(actor)
    rows = Delivery.objects.filter(organization_id=organization.id)
    if endpoint_id is not None:
        rows = rows.filter(endpoint_id=endpoint_id)
    if before is not None:
        at, last_id = before
        rows = rows.filter(created_at__lte=at).exclude(created_at=at, id__gte=last_id)
    with tenant(organization, actor, savepoint=False):
        items = list(rows.order_by("-created_at", "-id")[: limit + 1])
    cursor = None
    if len(items) > limit:
        items = items[:limit]
        cursor = f"{items[-1].created_at.isoformat()}|{items[-1].id}"
    return DeliveryPage(items, cursor)


def delivery_of(*, organization: Organization, actor: User | None, delivery_id: int) -> Delivery:
    ensure_may_manage(actor)
    with tenant(organization, actor, savepoint=False):
        found = Delivery.objects.filter(organization_id=organization.id, pk=delivery_id).first()
    if found is None:
        raise NotFound(gettext("no such webhook delivery"), field="delivery")
    return found


@dataclass(frozen=True)
class Stats:
    endpoint_id: int
    calls: int = 0
    successes: int = 0
    failures: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None


# One aggregate over the recent partitions: the index on (organization, endpoint,
# created_at) bounds it to the window.
STATS_SQL = """
SELECT endpoint_id, count(*), count(*) FILTER (WHERE success), count(*) FILTER (WHERE NOT success),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms),
       percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms),
       max(created_at) FILTER (WHERE success), max(created_at) FILTER (WHERE NOT success)
FROM webhooks_delivery
WHERE organization_id = %(org)s AND created_at >= %(since)s
  AND (%(endpoint)s::bigint IS NULL OR endpoint_id = %(endpoint)s)
GROUP BY endpoint_id
"""


def statistics(
    *,
    organization: Organization,
    actor: User | None,
    endpoint_id: int | None = None,
    days: int = STATS_DAYS,
) -> dict[int, Stats]:
    """Per endpoint over the last `days`: calls, successes, failures, p50/p95 latency,
    last success and failure. ONE query, whatever the number of endpoints."""
    ensure_may_manage(actor)
    since = timezone.now() - timedelta(days=days)
    with tenant(organization, actor, savepoint=False), connection.cursor() as cursor:
        cursor.execute(STATS_SQL, {"org": organization.id, "since": since, "endpoint": endpoint_id})
        return {row[0]: Stats(*row) for row in cursor.fetchall()}
