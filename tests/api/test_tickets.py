"""/api/v1/tickets: filters, keyset pages, If-Match, problems, isolation, query counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deskbase.accounts.models import User
from deskbase.tickets import services
from tests.api.helpers import ApiClient
from tests.conftest import make_tenant
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(tenant_a, app_role) -> ApiClient:
    return ApiClient(tenant_a.agent)


def test_create_then_read_a_ticket(agent, tenant_a):
    # When an agent opens a ticket for a customer through the API
    created = agent.post("/tickets", {"subject": "VPN down", "customer_id": tenant_a.customer.id,
                                      "priority": "high", "tags": ["Network"]})  # fmt: skip
    # Then it answers 201 with the ticket, its number and its version as the ETag
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["number"], body["priority"], body["tags"]) == (1, "high", ["network"])
    assert created["ETag"] == '"1"'
    read = agent.get("/tickets/1")
    assert read.status_code == 200
    assert read.json()["customer"]["email"] == tenant_a.customer.email


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"subject": ""}, "subject"),
        ({"subject": "x", "priority": "whenever"}, "priority"),
        ({"subject": "x", "organization": 2}, "organization"),
        ({"subject": "x", "customer_id": 999999}, "customer_id"),
    ],
)
def test_bad_input_is_a_problem_naming_the_field(agent, body, field):
    response = agent.post("/tickets", body)
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422
    assert field in {error["field"] for error in problem["errors"]}, problem


def test_another_tenants_ticket_is_404_and_its_ids_are_refused(tenant_a, tenant_b, app_role):
    open_ticket(tenant_b)
    b_customer = tenant_b.customer.id
    a = ApiClient(tenant_a.agent)
    assert a.get("/tickets/1").status_code == 404
    response = a.post("/tickets", {"subject": "x", "customer_id": b_customer})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "customer_id"


def test_patch_needs_the_current_version(agent, tenant_a):
    ticket = open_ticket(tenant_a)
    missing = agent.patch(f"/tickets/{ticket.number}", {"subject": "new"})
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "If-Match"
    ok = agent.patch(f"/tickets/{ticket.number}", {"subject": "new"}, headers={"If-Match": '"1"'})
    assert ok.status_code == 200
    assert ok["ETag"] == '"2"'
    stale = agent.patch(f"/tickets/{ticket.number}", {"subject": "x"}, headers={"If-Match": "1"})
    assert stale.status_code == 409
    assert "the latest is 2" in stale.json()["detail"]


def test_status_assign_merge_delete_restore(agent, tenant_a):
    one, two = open_ticket(tenant_a), open_ticket(tenant_a)
    assert agent.post(f"/tickets/{one.number}/status", {"status": "pending"}).json()["status"] == (
        "pending"
    )
    bad = agent.post(f"/tickets/{one.number}/status", {"status": "new"})
    assert bad.status_code == 422
    mine = agent.post(f"/tickets/{one.number}/assign", {"assignee_id": tenant_a.agent.id})
    assert mine.json()["assignee"]["id"] == tenant_a.agent.id
    merged = agent.post(f"/tickets/{one.number}/merge", {"into": two.number})
    assert merged.json()["number"] == two.number
    assert agent.delete(f"/tickets/{two.number}").status_code == 204
    assert agent.get(f"/tickets/{two.number}").status_code == 404
    assert [t["number"] for t in agent.get("/tickets/trash").json()] == [two.number]
    assert agent.post(f"/tickets/{two.number}/restore").status_code == 200


def test_customers_see_their_own_tickets_and_no_internal_notes(tenant_a, app_role):
    from deskbase.accounts.services import user_create

    mine = open_ticket(tenant_a)
    services.comment_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=mine,
                         body="secret note", kind="internal")  # fmt: skip
    services.comment_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=mine,
                         body="public reply")  # fmt: skip
    other = user_create(organization=tenant_a.org, actor=None, email="o@acme.test")
    theirs = open_ticket(tenant_a, customer=other)
    customer = ApiClient(tenant_a.customer)
    listed = customer.get("/tickets").json()["items"]
    assert [t["number"] for t in listed] == [mine.number]
    assert customer.get(f"/tickets/{theirs.number}").status_code == 404
    bodies = [c["body_text"] for c in customer.get(f"/tickets/{mine.number}/comments").json()]
    assert bodies == ["public reply"]
    note = customer.post(f"/tickets/{mine.number}/comments", {"body": "x", "kind": "internal"})
    assert note.status_code == 403


def test_filters_sorts_and_keyset_pages(agent, tenant_a):
    for priority in ("low", "urgent", "high", "low", "medium"):
        open_ticket(tenant_a, priority=priority, tags=["vip"] if priority == "urgent" else [])
    by_priority = agent.get("/tickets", sort="priority").json()["items"]
    assert [t["priority"] for t in by_priority][:2] == ["urgent", "high"]
    assert [t["priority"] for t in agent.get("/tickets", tag="vip").json()["items"]] == ["urgent"]
    low = agent.get("/tickets", priority=["low", "medium"]).json()["items"]
    assert sorted(t["priority"] for t in low) == ["low", "low", "medium"]
    seen, cursor = [], None
    while True:
        page = agent.get(
            "/tickets", sort="created", limit=2, **({"cursor": cursor} if cursor else {})
        )
        seen += [t["number"] for t in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == [1, 2, 3, 4, 5]
    assert agent.get("/tickets", cursor="forged").status_code == 422
    assert agent.get("/tickets", sort="sideways").status_code == 422


@pytest.mark.parametrize("rows", [1, 50])
def test_list_runs_the_same_queries_for_1_and_50_rows(agent, tenant_a, rows, request):
    for _ in range(rows):
        open_ticket(tenant_a)
    agent.get("/tickets")  # warm: the token's last-use time is written at most once a minute
    with CaptureQueriesContext(connection) as captured:
        response = agent.get("/tickets", limit=50)
    assert len(response.json()["items"]) == rows
    request.node.query_count = len(captured)
    # (savepoint), tenant, token lookup (which also sets the actor), the page, (release)
    assert len(captured) == 5, [q["sql"][:80] for q in captured.captured_queries]


def test_idempotency_key_replays_rejects_other_bodies(agent, tenant_a):
    headers = {"Idempotency-Key": "create-42"}
    body = {"subject": "Once only", "customer_id": tenant_a.customer.id}
    first = agent.post("/tickets", body, headers=headers)
    again = agent.post("/tickets", body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["number"] == again.json()["number"]
    assert len(agent.get("/tickets").json()["items"]) == 1
    other = agent.post("/tickets", {**body, "subject": "Different"}, headers=headers)
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"


def test_unauthenticated_and_bad_tokens_are_401(client, tenant_a, app_role):
    assert client.get("/api/v1/tickets").status_code == 401
    forged = client.get(
        "/api/v1/tickets", headers={"Authorization": "Bearer dsk_1_notatoken00000000000"}
    )
    assert forged.status_code == 401


def test_the_same_idempotency_key_while_the_first_request_runs_is_a_conflict(agent, tenant_a):
    # Given the first request with this key still running (it holds the key's lock)
    import os

    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(os.environ["DATABASE_URL"])
    params["dbname"] = connection.settings_dict["NAME"]
    lock = f"idempotency:{tenant_a.org.id}:{tenant_a.agent.id}:tickets.create:slow-1"
    with psycopg.connect(**params) as first:
        first.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [lock])
        # When a retry with the same key arrives meanwhile
        retry = agent.post(
            "/tickets", {"subject": "Retry", "customer_id": tenant_a.customer.id},
            headers={"Idempotency-Key": "slow-1"},
        )  # fmt: skip
    # Then it is told so, and nothing was written twice
    assert retry.status_code == 409
    assert retry.json()["errors"][0]["field"] == "Idempotency-Key"
    assert agent.get("/tickets").json()["items"] == []


# ------------------------------------------------------------------ the change feed
# Committed data (transaction=True): the feed hands out only the changes of finished
# transactions, and a test's own open transaction would hold them all back.
@pytest.mark.django_db(transaction=True)
def test_the_change_feed_gives_each_changed_ticket_once_then_the_next_changes():
    # Given a ticket in tenant A and one in tenant B
    a, b = make_tenant("acme"), make_tenant("globex")
    first = open_ticket(a, subject="Printer on fire")
    open_ticket(b, subject="Globex secret")
    agent = ApiClient(a.agent)
    # When an agent of A reads the feed from the start
    page = agent.get("/tickets/changes")
    # Then it gets A's ticket only, is caught up, and gets a cursor
    assert page.status_code == 200, page.content
    body = page.json()
    assert [(t["number"], t["subject"], t["deleted_at"]) for t in body["items"]] == [
        (1, "Printer on fire", None)
    ]
    assert body["more"] is False
    assert b"globex" not in page.content.lower()
    # And with that cursor, nothing until something changes
    assert agent.get("/tickets/changes", cursor=body["next_cursor"]).json()["items"] == []
    # When the ticket gets a reply, another is opened, and the first is deleted
    services.comment_add(organization=a.org, actor=a.agent, ticket=first, body="On it")
    open_ticket(a, subject="Scanner jammed")
    services.ticket_soft_delete(organization=a.org, actor=a.agent, ticket=first, reason="dup")
    later = agent.get("/tickets/changes", cursor=body["next_cursor"], limit=1)
    # Then the feed gives the changed tickets in the order of their last change, a page
    # at a time, the deleted one with its deletion time
    items = later.json()["items"]
    assert [t["number"] for t in items] == [2]
    assert later.json()["more"] is True
    last = agent.get("/tickets/changes", cursor=later.json()["next_cursor"], limit=1).json()
    assert [(t["number"], t["deleted_at"] is not None) for t in last["items"]] == [(1, True)]
    assert last["more"] is False
    end = agent.get("/tickets/changes", cursor=last["next_cursor"]).json()
    assert (end["items"], end["more"]) == ([], False)


@pytest.mark.django_db(transaction=True)
def test_a_customer_follows_their_own_tickets_only():
    a = make_tenant("acme")
    other = User.objects.create_user("other@acme.test", "pw-for-tests-1", organization=a.org,
                                     role="customer", full_name="Other Customer")  # fmt: skip
    open_ticket(a, subject="Mine")
    open_ticket(a, subject="Somebody else's", customer=other)
    page = ApiClient(a.customer).get("/tickets/changes")
    assert [t["subject"] for t in page.json()["items"]] == ["Mine"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "cursor",
    ["forged", "WzEsMl0", "WyItMSIsMl0", "Wy0xLDJd", "Wzk5OTk5OTk5OTk5OTk5OTk5OTk5LDFd"],
)
def test_a_cursor_the_server_did_not_give_out_is_a_problem_naming_it(cursor):
    # ([1,2] is well formed; then ["-1",2], [-1,2], and an xid past what a bigint holds)
    a = make_tenant("acme")
    response = ApiClient(a.agent).get("/tickets/changes", cursor=cursor)
    if cursor == "WzEsMl0":
        assert response.status_code == 200
        return
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "cursor"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("rows", [1, 50])
def test_the_change_feed_runs_the_same_queries_for_1_and_50_rows(rows):
    a = make_tenant("acme")
    for _ in range(rows):
        open_ticket(a)
    agent = ApiClient(a.agent)
    agent.get("/tickets/changes")  # warm: the token's last-use time is written once a minute
    with CaptureQueriesContext(connection) as captured:
        response = agent.get("/tickets/changes", limit=50)
    assert len(response.json()["items"]) == rows
    # (transaction), tenant, token lookup (which also sets the actor), the page, (commit)
    assert len(captured) == 5, [q["sql"][:80] for q in captured.captured_queries]
