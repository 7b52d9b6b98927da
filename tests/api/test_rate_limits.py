"""API rate limits: per token (or signed-in user) and per organization, sliding window.

The limiter counts on a connection of its own (committed at once), so these tests
see its counts; each organization made here has a fresh id, hence fresh counters.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from django.db import connection
from django.http import HttpRequest
from django.test import Client

from deskbase.api import ratelimit
from tests.api.helpers import ApiClient
from tests.conftest import make_tenant

LIMITS = {"API_RATE_LIMITS": True, "API_RATE_LIMIT": 5, "API_RATE_LIMIT_CALLER": 3}


@pytest.fixture(autouse=True)
def _limits_on(settings) -> Iterator[None]:
    for name, value in LIMITS.items():
        setattr(settings, name, value)
    yield
    # Before the test database can be dropped: the limiter's connection is its own.
    ratelimit.close_all()


def test_every_answer_carries_the_budget_and_the_429_says_when_to_retry(tenant_a):
    # given a token under a limit of 3 requests a minute (its organization's: 5)
    api = ApiClient(tenant_a.agent)
    # when it calls three times
    answers = [api.get("/me") for _ in range(3)]
    # then each answer says how much is left of the tighter budget
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a["RateLimit-Remaining"] for a in answers] == ["2", "1", "0"]
    assert {a["RateLimit-Limit"] for a in answers} == {"3"}
    assert {a["RateLimit-Policy"] for a in answers} == {"3;w=60"}
    assert all(1 <= int(a["RateLimit-Reset"]) <= 120 for a in answers)
    # when it calls a fourth time within the minute
    refused = api.get("/me")
    # then a 429 problem with Retry-After and the same fields
    assert refused.status_code == 429
    assert refused["Content-Type"].startswith("application/problem+json")
    assert refused.json()["status"] == 429
    assert "API requests" in refused.json()["detail"]
    assert 1 <= int(refused["Retry-After"]) <= 120
    assert refused["RateLimit-Remaining"] == "0"
    assert refused["RateLimit-Reset"] == refused["Retry-After"]
    # and an error of another token carries the fields too, of the tighter budget: the
    # organization's 5, 4 spent (the refusal is not counted), against its own 3, 1 spent
    other = ApiClient(tenant_a.manager).get("/tickets/999999")
    assert other.status_code == 404
    assert (other["RateLimit-Limit"], other["RateLimit-Remaining"]) == ("5", "1")


def test_two_tenants_have_separate_budgets(tenant_a, tenant_b, settings):
    # given both organizations limited to 3 requests a minute
    settings.API_RATE_LIMIT = 3
    a, b = ApiClient(tenant_a.agent), ApiClient(tenant_b.agent)
    # when tenant A spends its whole budget and more
    statuses = [a.get("/me").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    # then tenant B's budget is untouched
    answer = b.get("/me")
    assert answer.status_code == 200
    assert answer["RateLimit-Remaining"] == "2"


def test_tokens_share_the_organization_budget_and_refusals_spend_nothing(tenant_a):
    # given the organization's 5 a minute and 3 per token
    first, second = ApiClient(tenant_a.agent), ApiClient(tenant_a.manager)
    # when the first token spends its 3 and is refused four more times
    statuses = [first.get("/me").status_code for _ in range(7)]
    assert statuses == [200, 200, 200, 429, 429, 429, 429]
    # then the refusals took nothing from the organization: the second token has its 2
    assert [second.get("/me").status_code for _ in range(3)] == [200, 200, 429]
    # and the organization's budget is the one that ran out
    refused = second.get("/me")
    assert refused["RateLimit-Limit"] == "5"


def test_a_signed_in_session_is_counted_like_a_token(tenant_a):
    # given an agent signed in with a browser session
    client = Client()
    client.force_login(tenant_a.agent)
    # when it calls the API four times
    answers = [client.get("/api/v1/me") for _ in range(4)]
    # then its own budget of 3 applies
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[0]["RateLimit-Remaining"] == "2"


def test_unauthenticated_answers_and_pages_carry_no_budget(tenant_a):
    # given no credentials: the sign-in throttle, not the rate limit, covers them
    assert "RateLimit-Limit" not in Client().get("/api/v1/me")
    client = Client()
    client.force_login(tenant_a.agent)
    # and the web pages are not API requests
    assert "RateLimit-Limit" not in client.get("/")


def test_limits_off_sends_no_fields(tenant_a, settings):
    settings.API_RATE_LIMITS = False
    api = ApiClient(tenant_a.agent)
    answers = [api.get("/me") for _ in range(5)]
    assert {a.status_code for a in answers} == {200}
    assert "RateLimit-Limit" not in answers[-1]


# ------------------------------------------------------------------ an organization's own limit
def test_only_an_admin_sets_the_limit_and_it_is_validated(tenant_a, settings):
    settings.API_RATE_LIMIT = settings.API_RATE_LIMIT_CALLER = 1000
    admin, manager = ApiClient(tenant_a.admin), ApiClient(tenant_a.manager)
    assert admin.get("/organization").json()["api_rate_limit"] == 1000
    assert admin.get("/organization").json()["api_rate_limit_default"] is True
    # a manager may not
    refused = manager.patch("/organization", {"api_rate_limit": 600})
    assert refused.status_code == 403
    # out of bounds or not a number: a 422 naming the field, nothing changed
    for bad in (59, 100_001, "lots", 1.5, True):
        answer = admin.patch("/organization", {"api_rate_limit": bad})
        assert answer.status_code == 422, bad
        assert answer.json()["errors"][0]["field"] == "api_rate_limit"
    tenant_a.org.refresh_from_db()
    assert tenant_a.org.api_rate_limit is None
    # in bounds: set, and null goes back to the default
    assert admin.patch("/organization", {"api_rate_limit": 600}).json()["api_rate_limit"] == 600
    tenant_a.org.refresh_from_db()
    assert tenant_a.org.api_rate_limit == 600
    back = admin.patch("/organization", {"api_rate_limit": None}).json()
    assert back["api_rate_limit_default"] is True


@pytest.mark.django_db(transaction=True)
def test_the_organizations_own_limit_applies_to_its_requests_only(settings):
    # given (committed, as the limiter reads it on its own connection) two tenants,
    # A with its own limit of 60 a minute and a caller limit above it
    settings.API_RATE_LIMIT_CALLER = 700
    a, b = make_tenant("acme"), make_tenant("globex")
    admin = ApiClient(a.admin)
    assert admin.patch("/organization", {"api_rate_limit": 60}).status_code == 200
    # when each calls
    answer_a, answer_b = ApiClient(a.agent).get("/me"), ApiClient(b.agent).get("/me")
    # then A's requests count against its 60, B's against the default
    assert answer_a["RateLimit-Limit"] == "60"
    assert answer_b["RateLimit-Limit"] == "5"


def test_many_threads_share_a_bounded_number_of_limiter_connections(tenant_a, settings):
    # given a process allowed 2 limiter connections, and 8 threads calling at once
    settings.API_RATE_LIMIT = settings.API_RATE_LIMIT_CALLER = 1000
    settings.API_RATE_LIMIT_CONNECTIONS = 2
    ratelimit.close_all()
    start = threading.Barrier(8)
    seen: list[str] = []

    def call(index: int) -> None:
        request = HttpRequest()
        start.wait()
        for _ in range(5):
            ratelimit.check(request, organization_id=tenant_a.org.id, caller=f"thread:{index}")
        seen.append(getattr(request, ratelimit._ATTRIBUTE).headers()["RateLimit-Limit"])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    # then every call was counted (none passed unlimited), on at most 2 connections
    assert seen == ["1000"] * 8
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sum(hits) FROM api_ratecounter WHERE key LIKE %s",
            [f"c:{tenant_a.org.id}:thread:%"],
        )
        assert cursor.fetchone()[0] == 40
    assert len(ratelimit._pool()._all) <= 2


# ------------------------------------------------------------------ the window's arithmetic
@pytest.mark.parametrize(
    ("hits", "previous", "elapsed", "allowed", "remaining", "reset"),
    [
        (1, 0, 0.0, True, 9, 60),  # a fresh minute: room until it ends
        (10, 0, 30.0, True, 0, 30 + 6),  # full: this minute's 10 fade to 9 in the next
        (11, 0, 30.0, False, 0, 30 + 6),  # refused (not counted): 10 fade to 9 in 6 s
        (5, 10, 30.0, True, 0, 6),  # 10 x 0.5 + 5 = 10: one fits once 10 x w <= 4
        (1, 20, 0.0, False, 0, 33),  # 20 from the last minute: one fits once they fade to 9
    ],
)
def test_the_sliding_window(hits, previous, elapsed, allowed, remaining, reset):
    got = ratelimit.budget(10, hits, previous, elapsed)
    assert (got.allowed, got.remaining, got.reset) == (allowed, remaining, reset)
