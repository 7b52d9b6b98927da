# ruff: noqa: F811  (fixtures imported from cache_fixtures are parameters here)
"""The cache of hot reads: version keys bumped after commit, two tenants, Redis and not.

These tests commit (transaction=True): invalidation happens on commit, which a
test wrapped in one rolled-back transaction never reaches.
"""

from __future__ import annotations

import logging

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from deskbase import cached
from deskbase.core import cache as cachelayer
from deskbase.organizations.settings_services import organization_settings_update
from deskbase.sla.policies import sla_policy_create
from deskbase.tickets import canned
from deskbase.tickets.models import Category
from tests.api.helpers import ApiClient
from tests.dbtools.cache_fixtures import (  # noqa: F401  (fixtures)
    RedisServer,
    fresh_cache,
    redis_binary,
    redis_server,
    use_redis,
)
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=["local-memory", "redis"])
def backend(request, fresh_cache):
    if request.param == "local-memory":
        yield request.param
        return
    server = RedisServer(redis_binary())
    server.start()
    try:
        with use_redis(server.url):
            yield request.param
    finally:
        server.cleanup()


def _queries(call):
    with CaptureQueriesContext(connection) as captured:
        result = call()
    return result, [q["sql"] for q in captured.captured_queries]


def test_a_write_in_one_tenant_invalidates_its_entry_and_never_the_other(
    backend, tenant_a, tenant_b
):
    # given both tenants' settings are cached
    cached.organization_settings(tenant_a.org.id)
    zone_b = cached.organization_settings(tenant_b.org.id).timezone
    # when tenant A changes its time zone (and commits)
    organization_settings_update(
        organization=tenant_a.org, actor=tenant_a.admin, timezone="Pacific/Auckland"
    )
    # then A's next read comes from the database and shows the change ...
    fresh, sql = _queries(lambda: cached.organization_settings(tenant_a.org.id))
    assert fresh.timezone == "Pacific/Auckland"
    assert any("organizations_organization" in s for s in sql)
    assert fresh.id == tenant_a.org.id
    # ... and is cached again
    again, sql = _queries(lambda: cached.organization_settings(tenant_a.org.id))
    assert again.timezone == "Pacific/Auckland"
    assert sql == []
    # and tenant B is still served from the cache, unchanged, never A's row
    other, sql = _queries(lambda: cached.organization_settings(tenant_b.org.id))
    assert sql == []
    assert other.id == tenant_b.org.id
    assert other.timezone == zone_b
    stats = cachelayer.local_stats()["organization"]
    assert stats["hit"] >= 2
    assert stats["miss"] >= 3


def test_each_tenant_gets_only_its_own_rows(backend, tenant_a, tenant_b):
    # given an SLA policy, a category and a canned response in tenant A only
    sla_policy_create(
        organization=tenant_a.org, actor=tenant_a.admin, name="Gold", priority="high",
        customer_tier="basic", first_response_minutes=30, resolution_minutes=240,
    )  # fmt: skip
    canned.canned_response_create(
        organization=tenant_a.org, actor=tenant_a.admin, name="Hello", body="Hi"
    )
    with transaction.atomic():
        from deskbase.core.tenancy import tenant

        with tenant(tenant_a.org):
            Category.objects.create(organization=tenant_a.org, name="Billing")
    # when both tenants read (twice: once loaded, once cached)
    for _ in range(2):
        a_policies = cached.sla_policies(tenant_a.org)
        b_policies = cached.sla_policies(tenant_b.org)
        a_categories = cached.category_tree(tenant_a.org)
        b_categories = cached.category_tree(tenant_b.org)
        b_canned = cached.canned_responses(tenant_b.org)
        a_roster = cached.agent_roster(tenant_a.org)
    # then B sees none of A's rows
    assert [p.name for p in a_policies] == ["Gold"]
    assert b_policies == []
    assert [c.name for c in a_categories] == ["Billing"]
    assert b_categories == []
    assert b_canned == []
    assert {u.organization_id for u in a_roster} == {tenant_a.org.id}
    assert tenant_a.customer.id not in {u.id for u in a_roster}


def test_the_writing_transaction_sees_its_own_write_and_a_rollback_changes_nothing(
    fresh_cache, tenant_a
):
    before = cached.organization_settings(tenant_a.org).name

    class Undo(Exception):
        pass

    seen = []

    def rename_read_and_undo() -> None:
        with transaction.atomic():
            organization_settings_update(organization=tenant_a.org, actor=None, name="Renamed")
            seen.append(cached.organization_settings(tenant_a.org).name)
            raise Undo

    # when a transaction renames the organization, reads inside it, then rolls back
    with pytest.raises(Undo):
        rename_read_and_undo()
    # then inside it the cache was bypassed: it saw its own write
    assert seen == ["Renamed"]
    # and after the rollback the cached value is still right, and still served cached
    after, sql = _queries(lambda: cached.organization_settings(tenant_a.org))
    assert after.name == before
    assert sql == []


def test_ticket_create_reads_policy_and_calendar_from_the_cache(fresh_cache, tenant_a):
    # given a business-hours policy for high priority, standard customers
    policy = sla_policy_create(
        organization=tenant_a.org, actor=tenant_a.admin, name="High", priority="high",
        customer_tier="basic", first_response_minutes=60, resolution_minutes=480,
        business_hours=True,
    )  # fmt: skip
    open_ticket(tenant_a, priority="high")  # loads the cache
    # when another ticket is opened
    ticket, sql = _queries(lambda: open_ticket(tenant_a, priority="high"))
    # then it got the policy and due times without reading policies or holidays
    assert ticket.sla_policy_id == policy.id
    assert ticket.first_response_due_at is not None
    assert not any('FROM "sla_slapolicy"' in s for s in sql)
    assert not any('FROM "organizations_holiday"' in s for s in sql)
    # and a new policy (committed) is used at once by the next ticket
    urgent = sla_policy_create(
        organization=tenant_a.org, actor=tenant_a.admin, name="Urgent", priority="urgent",
        customer_tier="basic", first_response_minutes=15, resolution_minutes=120,
    )  # fmt: skip
    assert open_ticket(tenant_a, priority="urgent").sla_policy_id == urgent.id


def test_api_reads_are_cached_and_a_patch_is_seen_at_once(fresh_cache, tenant_a, tenant_b):
    admin_a, admin_b = ApiClient(tenant_a.admin), ApiClient(tenant_b.admin)
    assert admin_a.get("/organization").status_code == 200
    assert admin_b.get("/organization").json()["name"] == tenant_b.org.name
    # when A renames itself through the API
    assert admin_a.patch("/organization", {"name": "Acme Two"}).status_code == 200
    # then A reads the new name, B its own
    assert admin_a.get("/organization").json()["name"] == "Acme Two"
    assert admin_b.get("/organization").json()["name"] == tenant_b.org.name
    assert cachelayer.local_stats()["organization"]["hit"] >= 1


def test_using_a_canned_response_updates_the_cached_list(fresh_cache, tenant_a):
    response = canned.canned_response_create(
        organization=tenant_a.org, actor=tenant_a.admin, name="Thanks", body="Thank you"
    )
    agent = ApiClient(tenant_a.agent)
    assert agent.get("/canned-responses").json()[0]["usage_count"] == 0
    ticket = open_ticket(tenant_a)
    rendered = agent.post(f"/canned-responses/{response.id}/render", {"ticket": ticket.number})
    assert rendered.status_code == 200
    assert agent.get("/canned-responses").json()[0]["usage_count"] == 1


def test_a_category_of_another_tenant_is_refused_from_the_cached_tree(
    fresh_cache, tenant_a, tenant_b
):
    from deskbase.core.tenancy import tenant

    with tenant(tenant_b.org):
        theirs = Category.objects.create(organization=tenant_b.org, name="Theirs")
    with tenant(tenant_a.org):
        ours = Category.objects.create(organization=tenant_a.org, name="Ours")
    agent = ApiClient(tenant_a.agent)
    body = {"subject": "Help", "customer_id": tenant_a.customer.id}
    refused = agent.post("/tickets", {**body, "category_id": theirs.id})
    assert refused.status_code == 422
    assert "category_id" in refused.text
    made = agent.post("/tickets", {**body, "category_id": ours.id})
    assert made.status_code == 201
    assert made.json()["category"]["id"] == ours.id


def test_redis_going_away_mid_run_keeps_serving_uncached(
    fresh_cache, redis_server, tenant_a, caplog
):
    admin = ApiClient(tenant_a.admin)
    with use_redis(redis_server.url):
        # given the policies are cached in Redis
        assert admin.get("/sla-policies").status_code == 200
        assert admin.get("/sla-policies").status_code == 200
        assert cachelayer.local_stats()["sla_policies"]["hit"] >= 1
        # when Redis dies
        redis_server.kill()
        with caplog.at_level(logging.WARNING, logger="deskbase.cache"):
            # then requests are still served, from the database, and writes still commit
            assert admin.get("/sla-policies").json() == []
            created = admin.post("/sla-policies", {
                "name": "Gold", "priority": "high", "customer_tier": "basic",
                "first_response_minutes": 30, "resolution_minutes": 240,
            })  # fmt: skip
            assert created.status_code == 201
            assert [p["name"] for p in admin.get("/sla-policies").json()] == ["Gold"]
        assert "cache unavailable" in caplog.text
        assert cachelayer.local_stats()["sla_policies"]["error"] >= 1
        # and when Redis is back, the cache is used again
        redis_server.start()
        hits = cachelayer.local_stats()["sla_policies"]["hit"]
        assert [p["name"] for p in admin.get("/sla-policies").json()] == ["Gold"]
        assert [p["name"] for p in admin.get("/sla-policies").json()] == ["Gold"]
        assert cachelayer.local_stats()["sla_policies"]["hit"] == hits + 1


def test_cache_warm_and_stats_commands(fresh_cache, tenant_a, capsys):
    call_command("cache", "warm", organization=tenant_a.org.slug)
    cached.agent_roster(tenant_a.org)
    call_command("cache", "stats")
    out = capsys.readouterr().out
    assert f"warmed {tenant_a.org.slug}" in out
    assert "agent_roster" in out
    assert "hits" in out
