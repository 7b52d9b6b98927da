"""A bulk load (COPY with the INSERT triggers off) leaves the rollups and views right."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection

from deskbase.analytics import refresh, rollups
from deskbase.organizations.models import Organization
from tests.analytics.scenario import Recount

pytestmark = pytest.mark.django_db


def test_generate_rebuilds_the_counts_and_fills_the_views():
    # When a data set is loaded with COPY (the counting trigger disabled meanwhile)
    call_command("generate", "--tickets=300", "--orgs=3", "--seed=7", "--until=2026-06-01",
                 verbosity=0)  # fmt: skip
    # Then the counts equal a recount, and the trigger is enabled again
    report = rollups.check()
    assert report.ok, report.as_json()
    assert report.organizations == 3
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'analytics_ticket_counts_%%'"
            " AND tgenabled = 'O'"
        )
        assert cursor.fetchone()[0] == 3
        # And each view was refreshed in the load, and holds every live ticket
        cursor.execute("SELECT sum(tickets) FROM channel_performance_stats")
        in_view = cursor.fetchone()[0]
    assert set(refresh.last_refreshes()) == set(refresh.VIEWS)
    assert in_view == sum(len(Recount(org).tickets) for org in Organization.objects.all())
