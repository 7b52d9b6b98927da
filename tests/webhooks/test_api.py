"""/api/v1/webhooks: endpoints, the secret shown once, deliveries, replay, test ping and
statistics from one aggregate query; bad input named; lists at a fixed query count."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from deskbase.core.tenancy import tenant
from deskbase.outbox import delivery
from deskbase.webhooks import selectors
from deskbase.webhooks.models import Endpoint
from tests.api.helpers import ApiClient
from tests.webhooks.conftest import make_endpoint

pytestmark = pytest.mark.django_db


def log_rows(world, endpoint_id: int, durations: list[tuple[int, bool]], *, days_ago: int = 0):
    """Delivery log rows as the worker writes them (success, duration ms)."""
    at = timezone.now() - timedelta(days=days_ago)
    with tenant(world.org), transaction.atomic(), connection.cursor() as cursor:
        for index, (ms, ok) in enumerate(durations):
            cursor.execute(
                "INSERT INTO webhooks_delivery (organization_id, endpoint_id, message_id,"
                " event_type, attempt, url, request_headers, request_body, response_status,"
                " duration_ms, success, error, created_at)"
                " VALUES (%s, %s, %s, 'ticket.created', 1, 'https://x.test/', '{}', '{}',"
                " %s, %s, %s, %s, %s)",
                [world.org.id, endpoint_id, f"msg_{index}", 200 if ok else 500, ms, ok,
                 "" if ok else "the receiver answered 500 (refused)",
                 at + timedelta(seconds=index)],
            )  # fmt: skip


def test_an_admin_creates_an_endpoint_and_sees_its_secret_once(tenant_a, receiver):
    api = ApiClient(tenant_a.admin)
    made = api.post("/webhooks", {"url": receiver.url(), "event_types": ["ticket.created"],
                                  "description": "CRM sync"})  # fmt: skip
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["secret"].startswith("whsec_")
    assert (body["url"], body["event_types"], body["enabled"]) == (
        receiver.url(),
        ["ticket.created"],
        True,
    )
    # Then no later answer shows it, and it is not stored in clear
    shown = api.get(f"/webhooks/{body['id']}")
    listed = api.get("/webhooks")
    assert "secret" not in shown.json()
    assert body["secret"] not in shown.content.decode() + listed.content.decode()
    with tenant(tenant_a.org):
        assert body["secret"] not in Endpoint.objects.get(pk=body["id"]).secret
    # And a rotation shows the new one once, the old one still valid for a while
    rotated = api.post(f"/webhooks/{body['id']}/rotate-secret", {"keep_previous_hours": 2})
    assert rotated.status_code == 200
    assert rotated.json()["secret"] not in (body["secret"], "")
    assert rotated.json()["rotating"] is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "https://127.0.0.1/hook", "event_types": ["*"]}, "url"),
        ({"url": "https://2130706433/", "event_types": ["*"]}, "url"),
        ({"url": "http://93.184.215.14/", "event_types": ["*"]}, "url"),
        ({"url": "https://93.184.215.14/", "event_types": ["ticket.exploded"]}, "event_types"),
        ({"url": "https://93.184.215.14/", "event_types": []}, "event_types"),
        ({"url": "https://93.184.215.14/", "event_types": ["*"], "enabled": "maybe"}, "enabled"),
    ],
)
def test_bad_input_is_a_422_naming_the_field_and_changes_nothing(tenant_a, settings, body, field):
    settings.WEBHOOKS_ALLOW_PRIVATE_HOSTS = False
    answer = ApiClient(tenant_a.admin).post("/webhooks", body)
    assert answer.status_code == 422, answer.content
    assert answer["Content-Type"].startswith("application/problem+json")
    assert any(error["field"].split(".")[0] == field for error in answer.json()["errors"])
    with tenant(tenant_a.org):
        assert not Endpoint.objects.exists()


def test_patch_enables_again_and_clears_the_reason(tenant_a, receiver):
    endpoint, _ = make_endpoint(tenant_a, receiver.url())
    api = ApiClient(tenant_a.manager)
    off = api.patch(f"/webhooks/{endpoint.id}", {"enabled": False})
    assert off.json()["enabled"] is False
    assert off.json()["disabled_reason"]
    on = api.patch(f"/webhooks/{endpoint.id}", {"enabled": True, "event_types": ["comment.added"]})
    assert on.status_code == 200
    assert (on.json()["enabled"], on.json()["disabled_reason"], on.json()["event_types"]) == (
        True,
        "",
        ["comment.added"],
    )
    assert api.patch(f"/webhooks/{endpoint.id}", {"url": None}).status_code == 422


def test_test_ping_deliveries_and_replay(tenant_a, receiver):
    endpoint, secret = make_endpoint(tenant_a, receiver.url())
    api = ApiClient(tenant_a.admin)
    # When the admin sends a test message
    ping = api.post(f"/webhooks/{endpoint.id}/test")
    assert ping.status_code == 200, ping.content
    assert ping.json()["success"] is True
    assert ping.json()["event_type"] == "webhook.test"
    assert json.loads(receiver.requests[0].body)["type"] == "webhook.test"
    # Then it is in the endpoint's deliveries, with what was sent and answered
    page = api.get(f"/webhooks/{endpoint.id}/deliveries").json()
    [item] = page["items"]
    detail = api.get(f"/webhooks/deliveries/{item['id']}").json()
    assert detail["request_headers"]["webhook-id"] == receiver.requests[0].headers["webhook-id"]
    assert detail["response_body"] == "ok"
    assert secret not in json.dumps(detail)
    # When it is replayed, a new delivery follows (once the worker ran)
    replay = api.post(f"/webhooks/deliveries/{item['id']}/replay")
    assert replay.status_code == 202
    assert replay.json() == {"queued": True}
    assert api.post(f"/webhooks/deliveries/{item['id']}/replay").json() == {"queued": False}
    delivery.drain()
    items = api.get(f"/webhooks/{endpoint.id}/deliveries").json()["items"]
    assert [d["replay_of"] for d in items] == [item["id"], None]
    assert len(receiver.requests) == 2


def test_another_tenants_endpoint_and_delivery_answer_like_missing_ones(
    tenant_a, tenant_b, receiver
):
    theirs, _ = make_endpoint(tenant_b, receiver.url())
    ApiClient(tenant_b.admin).post(f"/webhooks/{theirs.id}/test")
    with tenant(tenant_b.org):
        [their_delivery] = selectors.deliveries(
            organization=tenant_b.org, actor=None, endpoint_id=theirs.id
        ).items
    api = ApiClient(tenant_a.admin)
    for path in (f"/webhooks/{theirs.id}", f"/webhooks/{theirs.id}/deliveries",
                 f"/webhooks/deliveries/{their_delivery.id}"):  # fmt: skip
        assert api.get(path).status_code == 404
    assert api.post(f"/webhooks/{theirs.id}/test").status_code == 404
    assert api.post(f"/webhooks/deliveries/{their_delivery.id}/replay").status_code == 404
    assert api.delete(f"/webhooks/{theirs.id}").status_code == 404
    assert api.get("/webhooks").json() == []
    assert len(receiver.requests) == 1  # tenant B's own test only


def test_agents_and_customers_are_refused(tenant_a):
    for person in (tenant_a.agent, tenant_a.customer):
        assert ApiClient(person).get("/webhooks").status_code == 403


def test_statistics_come_from_one_query_whatever_the_number_of_endpoints(tenant_a, receiver):
    first, _ = make_endpoint(tenant_a, receiver.url("/1"))
    second, _ = make_endpoint(tenant_a, receiver.url("/2"))
    third, _ = make_endpoint(tenant_a, receiver.url("/3"))
    log_rows(tenant_a, first.id, [(10, True), (20, True), (30, True), (1000, False)])
    log_rows(tenant_a, second.id, [(5, False)])
    log_rows(tenant_a, third.id, [(7, True)], days_ago=60)  # outside the 30 days
    with CaptureQueriesContext(connection) as queries:
        stats = selectors.statistics(organization=tenant_a.org, actor=tenant_a.admin)
    assert len([q for q in queries if "webhooks_delivery" in q["sql"]]) == 1
    assert len([q for q in queries if "SAVEPOINT" not in q["sql"]
                and "set_config" not in q["sql"]]) == 1  # fmt: skip
    one = stats[first.id]
    assert (one.calls, one.successes, one.failures) == (4, 3, 1)
    assert one.p50_ms == 25.0
    assert one.p95_ms == pytest.approx(1000 - 0.05 * 3 * (1000 - 30), rel=1e-6)
    assert one.last_success_at < one.last_failure_at
    assert (stats[second.id].calls, stats[second.id].successes) == (1, 0)
    assert stats[second.id].last_success_at is None
    assert third.id not in stats


def test_the_lists_run_a_fixed_number_of_queries(tenant_a, receiver):
    api = ApiClient(tenant_a.admin)
    endpoint, _ = make_endpoint(tenant_a, receiver.url())
    log_rows(tenant_a, endpoint.id, [(10, True)])

    def count(path: str) -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            answer = api.get(path)
        assert answer.status_code == 200
        body = answer.json()
        return len(body["items"] if isinstance(body, dict) else body), len(queries)

    count("/webhooks")  # warm: the token's first use is recorded once
    one_endpoint = count("/webhooks")
    one_delivery = count(f"/webhooks/{endpoint.id}/deliveries?limit=50")
    for index in range(49):
        make_endpoint(tenant_a, receiver.url(f"/{index}"))
    log_rows(tenant_a, endpoint.id, [(10, True)] * 60)
    fifty_endpoints = count("/webhooks")
    fifty_deliveries = count(f"/webhooks/{endpoint.id}/deliveries?limit=50")
    assert (one_endpoint[0], fifty_endpoints[0]) == (1, 50)
    assert one_endpoint[1] == fifty_endpoints[1]
    assert (one_delivery[0], fifty_deliveries[0]) == (1, 50)
    assert one_delivery[1] == fifty_deliveries[1]


def test_deliveries_page_by_cursor(tenant_a, receiver):
    endpoint, _ = make_endpoint(tenant_a, receiver.url())
    log_rows(tenant_a, endpoint.id, [(index, True) for index in range(5)])
    api = ApiClient(tenant_a.admin)
    first = api.get(f"/webhooks/{endpoint.id}/deliveries", limit=3).json()
    second = api.get(f"/webhooks/{endpoint.id}/deliveries", limit=3,
                     cursor=first["next_cursor"]).json()  # fmt: skip
    ids = [d["id"] for d in first["items"] + second["items"]]
    assert len(ids) == len(set(ids)) == 5
    assert second["next_cursor"] is None
    assert api.get(f"/webhooks/{endpoint.id}/deliveries", cursor="x").status_code == 422
