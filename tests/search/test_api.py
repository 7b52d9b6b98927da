"""GET /api/v1/search and friends: answers, hostile input, the search log, analytics."""

from __future__ import annotations

import logging

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deskbase.search import services
from tests.api.helpers import ApiClient
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db

HOSTILE = [
    "printer & | ! ( ) :* <-> <2>",
    "'); DROP TABLE tickets_ticket; --",
    '"unbalanced quote',
    '""""',
    "\\",
    "back\\slash \\' \\\\",
    "' OR 1=1 --",
    "printer:*A & !!!",
    "-",
    "- - OR OR",
    "(((((",
    "%_%",
    "\U0001d518\U0001d52b \u26c4 \u4e2d\u6587 \u0627\u0644\u0639\u0631\u0628\u064a\u0629",
    "x" * 500,
    "word " * 100,
    "\ue000mark\ue001",
    "#",
    "#99999999999999999999",
    "http://example.com/a%20b?x=1&y=%27 a%b@example.com",
    "printer:*",
    "   ",
]


@pytest.fixture
def agent_api(tenant_a):
    open_ticket(tenant_a, subject="Printer <b>jams</b> & smokes", description="<script>x</script>")
    return ApiClient(tenant_a.agent)


@pytest.mark.parametrize("q", HOSTILE)
def test_hostile_queries_get_a_normal_answer(agent_api, q):
    for path in ("/search", "/search/suggest"):
        response = agent_api.get(path, q=q)
        assert response.status_code == 200, (path, q, response.content[:300])


@pytest.mark.parametrize("q", ["x" * 10_000, "a\x00b", "\x00", "x" * 501])
def test_unsearchable_queries_are_a_400_naming_q(agent_api, q):
    for path in ("/search", "/search/suggest"):
        response = agent_api.get(path, q=q)
        assert response.status_code == 400, (path, response.content[:300])
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"] == "q"


def test_bad_types_cursor_and_assignee_name_their_field(agent_api):
    for params, field in (({"types": "tickets,secrets"}, "types"),
                          ({"cursor": "not-a-cursor"}, "cursor"),
                          ({"assignee": "someone"}, "assignee")):  # fmt: skip
        response = agent_api.get("/search", q="printer", **params)
        assert response.status_code in (400, 422), response.content
        assert response.json()["errors"][0]["field"] == field


def test_snippets_are_html_safe(agent_api):
    body = agent_api.get("/search", q="printer", types="tickets").json()
    (item,) = body["groups"]["tickets"]["items"]
    assert item["subject_html"] == "<mark>Printer</mark> &lt;b&gt;jams&lt;/b&gt; &amp; smokes"
    # ts_headline drops what its parser takes for tags; anything else is escaped
    assert "<script>" not in item["snippet"]


def test_results_are_grouped_and_paged(tenant_a):
    for index in range(5):
        open_ticket(tenant_a, subject=f"Lamp {index} broken")
    api = ApiClient(tenant_a.agent)
    first = api.get("/search", q="lamp", types="tickets", limit=2).json()
    assert list(first["groups"]) == ["tickets"]
    assert len(first["groups"]["tickets"]["items"]) == 2
    seen = [i["number"] for i in first["groups"]["tickets"]["items"]]
    cursor = first["groups"]["tickets"]["next_cursor"]
    while cursor:
        page = api.get("/search", q="lamp", cursor=cursor, limit=2).json()
        seen += [i["number"] for i in page["groups"]["tickets"]["items"]]
        cursor = page["groups"]["tickets"]["next_cursor"]
    assert len(seen) == len(set(seen)) == 5


def test_query_count_does_not_grow_with_the_page(tenant_a):
    for index in range(12):
        open_ticket(tenant_a, subject=f"Fan {index} noisy")
    api = ApiClient(tenant_a.agent)
    api.get("/search", q="fan")  # estimates cached by the first search

    def count(limit: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert api.get("/search", q="fan", limit=limit).status_code == 200
        return len(queries)

    assert count(1) == count(12)


def test_suggestions_complete_subjects_canned_customers(tenant_a, tenant_b):
    from deskbase.tickets import canned

    open_ticket(tenant_a, subject="Printer offline")
    open_ticket(tenant_b, subject="Printer of tenant B")
    canned.canned_response_create(organization=tenant_a.org, actor=tenant_a.admin,
                                  name="Printing guide", body="Steps")  # fmt: skip
    found = ApiClient(tenant_a.agent).get("/search/suggest", q="prin").json()
    assert {(s["type"], s["text"]) for s in found} == {
        ("subject", "Printer offline"), ("canned_response", "Printing guide")}  # fmt: skip
    names = ApiClient(tenant_a.agent).get("/search/suggest", q="acme cust").json()
    assert ("customer", "Acme Customer") in {(s["type"], s["text"]) for s in names}
    # A customer completes from their own tickets only
    assert ApiClient(tenant_b.customer).get("/search/suggest", q="prin").json() == [
        {"type": "subject", "id": None, "text": "Printer of tenant B"}]  # fmt: skip


def test_every_search_is_logged_and_an_opened_result_counts(tenant_a):
    ticket = open_ticket(tenant_a, subject="Router reboots")
    agent, manager = ApiClient(tenant_a.agent), ApiClient(tenant_a.manager)
    found = agent.get("/search", q="  Router   REBOOTS ").json()
    agent.get("/search", q="router reboots")
    agent.get("/search", q="nothingmatchesthis")
    assert found["search_id"] is not None
    opened = agent.post(f"/search/{found['search_id']}/opened", {"type": "ticket",
                                                                  "id": ticket.id})  # fmt: skip
    assert opened.status_code == 204
    # Someone else's search cannot be marked
    assert manager.post(f"/search/{found['search_id']}/opened",
                        {"type": "ticket", "id": ticket.id}).status_code == 404  # fmt: skip
    popular = manager.get("/search/analytics/popular", days=7).json()
    assert popular[0] == {"query": "router reboots", "searches": 2, "avg_results": 1.0,
                          "opened": 1}  # fmt: skip
    zero = manager.get("/search/analytics/zero-results", days=7).json()
    assert [z["query"] for z in zero] == ["nothingmatchesthis"]
    rate = manager.get("/search/analytics/success-rate", days=7).json()
    assert (rate["searches"], rate["successful"], rate["zero_results"]) == (3, 1, 1)
    assert rate["rate"] == pytest.approx(1 / 3, abs=1e-3)
    assert agent.get("/search/analytics/popular").status_code == 403


def test_a_log_failure_never_fails_the_search(tenant_a, caplog, monkeypatch):
    open_ticket(tenant_a, subject="Speaker crackles")
    # Given a log table that refuses every row
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE search_searchlog ADD CONSTRAINT refuse CHECK (false) NOT VALID")
    with caplog.at_level(logging.ERROR, logger="deskbase.search"):
        response = ApiClient(tenant_a.agent).get("/search", q="speaker")
    assert response.status_code == 200
    assert response.json()["count"] == 1
    assert response.json()["search_id"] is None
    assert "could not record a search" in caplog.text


def test_the_log_is_partitioned_by_month(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'search_searchlog'::regclass ORDER BY 1"
        )
        names = [row[0] for row in cursor.fetchall()]
    assert "search_searchlog_default" in names
    # The previous month through three months ahead, at least (dbtools may add more)
    assert len([n for n in names if n.startswith("search_searchlog_p")]) >= 5
    assert services.OPENED_WITHIN_DAYS == 7


def test_staff_search_finds_published_articles_of_their_organization(tenant_a, tenant_b):
    """Given a published article in each organization, when an agent of the first
    searches the API for articles, then only theirs comes back, with its section;
    a customer's search has no articles group (the help center is theirs)."""
    from tests.knowledge.factories import article, section

    mine = article(tenant_a, section(tenant_a, name="Network"), title="Router keeps rebooting")
    article(tenant_b, section(tenant_b), title="Router of Globex")

    body = ApiClient(tenant_a.agent).get("/search", q="router", types="articles").json()

    items = body["groups"]["articles"]["items"]
    assert [i["id"] for i in items] == [mine.article_id]
    assert items[0]["section"] == "Network"
    assert items[0]["language"] == "en"
    answer = ApiClient(tenant_a.customer).get("/search", q="router", types="articles")
    assert answer.status_code == 200
    assert "articles" not in answer.json()["groups"]
