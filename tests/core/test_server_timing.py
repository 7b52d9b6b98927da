"""Every response says how long it took, in the database and outside it."""

from __future__ import annotations

import logging
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db
HEADER = re.compile(
    r'^total;dur=(?P<total>[\d.]+), db;dur=(?P<db>[\d.]+);desc="(?P<count>\d+) quer(y|ies)", '
    r"app;dur=(?P<app>[\d.]+)$"
)


def test_server_timing_counts_the_queries_of_the_request(client):
    # When a page that reads the database is requested
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/health")
    # Then the header carries total, database and application time and the query count
    match = HEADER.match(response["Server-Timing"])
    assert match, response["Server-Timing"]
    assert int(match["count"]) == len(queries) > 0
    total, db, app = (float(match[key]) for key in ("total", "db", "app"))
    assert 0 < db <= total
    assert app == pytest.approx(total - db, abs=0.15)


def test_server_timing_is_present_on_responses_without_queries(client):
    response = client.get("/static/deskbase/base.css")
    assert response.status_code == 200
    assert 'desc="0 queries"' in response["Server-Timing"]


def test_server_timing_can_be_switched_off(client, settings):
    settings.SERVER_TIMING = False
    response = client.get("/health")
    assert response.status_code == 200
    assert "Server-Timing" not in response


def test_slow_requests_are_logged_with_their_query_count(client, settings, caplog):
    # Given a threshold every request exceeds
    settings.SLOW_REQUEST_MS = 0
    # When a request is served
    with caplog.at_level(logging.WARNING, logger="deskbase.slow"):
        client.get("/health?probe=1")
    # Then the log names the request, its time and its queries
    (record,) = [r for r in caplog.records if r.name == "deskbase.slow"]
    assert re.search(
        r"slow request GET /health\?probe=1 -> 200 in [\d.]+ ms \(3 queries", record.message
    )


def test_fast_requests_are_not_logged(client, settings, caplog):
    settings.SLOW_REQUEST_MS = 60_000
    with caplog.at_level(logging.WARNING, logger="deskbase.slow"):
        client.get("/health")
    assert not [r for r in caplog.records if r.name == "deskbase.slow"]
