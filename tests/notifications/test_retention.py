"""Notifications past their retention are deleted by the daily purge, in batches."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from deskbase import jobs
from deskbase.core.tenancy import tenant
from deskbase.notifications import services as notifications
from deskbase.notifications.models import Notification
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def entry(world: Any, label: str, *, days_old: int, read: bool) -> int:
    """A notification of the agent whose last event is `days_old` days old."""
    ticket = open_ticket(world, subject=label)
    last = NOW - timedelta(days=days_old)
    with tenant(world.org):
        made = Notification.objects.create(
            organization=world.org, recipient=world.agent, ticket=ticket, reason="assigned",
            bucket=notifications.bucket_of(last), last_at=last,
            read_at=last + timedelta(hours=1) if read else None,
        )  # fmt: skip
    return made.id


def left(world: Any) -> set[int]:
    with tenant(world.org):
        return set(Notification.objects.filter(organization_id=world.org.id)
                   .values_list("id", flat=True))  # fmt: skip


def test_read_entries_go_after_90_days_and_unread_ones_after_a_year(tenant_a, settings):
    # Given the defaults (90 days read, 365 unread) and entries of every age
    assert settings.NOTIFICATION_RETENTION_DAYS == 90
    assert settings.NOTIFICATION_UNREAD_RETENTION_DAYS == 365
    read_old = entry(tenant_a, "read old", days_old=100, read=True)
    read_recent = entry(tenant_a, "read recent", days_old=80, read=True)
    unread_old = entry(tenant_a, "unread old", days_old=200, read=False)
    unread_ancient = entry(tenant_a, "unread ancient", days_old=400, read=False)
    # When the purge runs in batches of one
    deleted = notifications.purge_old(organization_id=tenant_a.org.id, now=NOW, batch=1)
    # Then the read entry past 90 days and the unread one past a year are gone
    assert deleted == 2
    assert left(tenant_a) == {read_recent, unread_old}
    assert read_old not in left(tenant_a)
    assert unread_ancient not in left(tenant_a)
    # And a second run deletes nothing more
    assert notifications.purge_old(organization_id=tenant_a.org.id, now=NOW) == 0


def test_the_retention_is_a_setting(tenant_a, settings):
    # Given read entries of 10 and 40 days, and a retention of 30 days
    settings.NOTIFICATION_RETENTION_DAYS = 30
    recent = entry(tenant_a, "recent", days_old=10, read=True)
    entry(tenant_a, "older", days_old=40, read=True)
    # When the purge runs, Then only the 10-day-old entry stays
    assert notifications.purge_old(organization_id=tenant_a.org.id, now=NOW) == 1
    assert left(tenant_a) == {recent}


def test_one_organizations_purge_leaves_the_others_entries(tenant_a, tenant_b):
    # Given an old read entry in each of two organizations
    entry(tenant_a, "a old", days_old=100, read=True)
    kept = entry(tenant_b, "b old", days_old=100, read=True)
    # When organization A's notifications are purged
    assert notifications.purge_old(organization_id=tenant_a.org.id, now=NOW) == 1
    # Then B's entry is still there
    assert left(tenant_a) == set()
    assert left(tenant_b) == {kept}


def test_the_daily_job_purges_every_organization(tenant_a, tenant_b):
    # Given old read entries in two organizations and a recent one
    entry(tenant_a, "a old", days_old=100, read=True)
    entry(tenant_b, "b old", days_old=120, read=True)
    recent = entry(tenant_b, "b recent", days_old=1, read=True)
    # When the worker's periodic task runs
    result = jobs.run_logged("deskbase.purge_notifications",
                             jobs.TASKS["deskbase.purge_notifications"], job_id=None,
                             attempt=1)  # fmt: skip
    # Then both organizations' old entries are gone, the recent one stays
    assert result["notifications_deleted"] == 2
    assert left(tenant_a) == set()
    assert left(tenant_b) == {recent}
    assert "deskbase.purge_notifications" in jobs.SCHEDULE
