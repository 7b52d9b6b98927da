"""The slow-statement log and the N+1 detector, on requests to deliberately bad views."""

from __future__ import annotations

import logging

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test import Client, override_settings
from django.urls import path

from deskbase.core.querylog import RepeatedStatement, allow_repeats, shape
from deskbase.organizations.models import Organization


def _one_query_per_organization(request):
    """The classic N+1: one query per row instead of one for all."""
    names = [
        Organization.objects.filter(pk=pk).values_list("name", flat=True).first()
        for pk in Organization.objects.order_by("id").values_list("id", flat=True)
    ]
    return HttpResponse(",".join(names))


def _in_one_query(request):
    return HttpResponse(
        ",".join(Organization.objects.order_by("id").values_list("name", flat=True))
    )


def _batch(request):
    with allow_repeats():
        return _one_query_per_organization(request)


def _slow(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(0.2)")
    return HttpResponse("slept")


urlpatterns = [
    path("n-plus-one", _one_query_per_organization),
    path("one-query", _in_one_query),
    path("batch", _batch),
    path("slow", _slow),
]
pytestmark = pytest.mark.urls(__name__)


@pytest.fixture
def organizations(db) -> list[Organization]:
    return [Organization.objects.create(slug=f"org-{i}", name=f"Org {i}") for i in range(12)]


def test_a_request_repeating_one_statement_fails_naming_it(organizations):
    with (
        override_settings(NPLUSONE_DETECT=True, NPLUSONE_MAX=10),
        pytest.raises(RepeatedStatement) as failure,
    ):
        Client().get("/n-plus-one")
    message = str(failure.value)
    assert "GET /n-plus-one" in message
    assert "12 times" in message
    assert 'FROM "organizations_organization"' in message
    assert "_one_query_per_organization" in message


def test_the_same_rows_in_one_query_pass(organizations):
    with override_settings(NPLUSONE_DETECT=True, NPLUSONE_MAX=10):
        response = Client().get("/one-query")
    assert response.status_code == 200
    assert response.content.decode().count("Org ") == 12


def test_repeats_up_to_the_limit_pass(organizations):
    with override_settings(NPLUSONE_DETECT=True, NPLUSONE_MAX=12):
        assert Client().get("/n-plus-one").status_code == 200


def test_a_batch_that_says_so_passes(organizations):
    with override_settings(NPLUSONE_DETECT=True, NPLUSONE_MAX=10):
        assert Client().get("/batch").status_code == 200


def test_the_detector_is_off_when_disabled(organizations):
    with override_settings(NPLUSONE_DETECT=False):
        assert Client().get("/n-plus-one").status_code == 200


def test_the_detector_is_on_under_pytest(settings):
    assert settings.NPLUSONE_DETECT is True
    assert settings.NPLUSONE_MAX == 10


def test_a_slow_statement_is_logged_with_the_request(db, caplog):
    with (
        override_settings(SLOW_QUERY_MS=100),
        caplog.at_level(logging.WARNING, logger="deskbase.slow"),
    ):
        assert Client().get("/slow?x=1").status_code == 200
    slow = [r.getMessage() for r in caplog.records if "slow statement" in r.getMessage()]
    assert len(slow) == 1
    assert "GET /slow?x=1" in slow[0]
    assert "SELECT pg_sleep(0.2)" in slow[0]


def test_fast_statements_are_not_logged(db, caplog):
    with (
        override_settings(SLOW_QUERY_MS=60_000),
        caplog.at_level(logging.WARNING, logger="deskbase.slow"),
    ):
        Client().get("/slow")
    assert not [r for r in caplog.records if "slow statement" in r.getMessage()]


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ('SELECT * FROM "t" WHERE "id" = %s', 'SELECT * FROM "t" WHERE "id" = %s'),
        ('SELECT * FROM "t" WHERE "id" IN (%s, %s)', 'SELECT * FROM "t" WHERE "id" IN (%s)'),
        ("SELECT * FROM t WHERE name = 'a'", "SELECT * FROM t WHERE name = 'it''s'"),
        ("SELECT * FROM t LIMIT 21", "SELECT * FROM t LIMIT 1"),
        ('INSERT INTO "t" VALUES (%s, %s), (%s, %s)', 'INSERT INTO "t" VALUES (%s, %s)'),
        ('SAVEPOINT "s1_x1"', 'SAVEPOINT "s2_x9"'),
    ],
)
def test_statements_differing_only_in_values_have_one_shape(one, other):
    assert shape(one) == shape(other)


def test_statements_on_other_columns_have_other_shapes():
    assert shape('SELECT * FROM "t" WHERE "a" = %s') != shape('SELECT * FROM "t" WHERE "b" = %s')
    assert shape('SELECT "t1"."x" FROM "t1"') != shape('SELECT "t2"."x" FROM "t2"')
