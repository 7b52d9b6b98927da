"""/api/v1/users and /api/v1/teams: who sees whom, who changes whom, isolation, pages."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deskbase.accounts.models import Team, TeamMembership, User
from deskbase.core.tenancy import tenant
from tests.api.helpers import ApiClient, list_size_and_queries

pytestmark = pytest.mark.django_db


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {person["id"] for person in response.json()["items"]}


def field_of(response) -> str:
    return response.json()["errors"][0]["field"]


def everyone(world) -> set[int]:
    return {world.admin.id, world.manager.id, world.agent.id, world.customer.id}


def add_customers(world, count: int, start: int = 0) -> None:
    with tenant(world.org):
        User.objects.bulk_create(
            User(organization=world.org, email=f"c{start + i}@{world.org.slug}.test",
                 role="customer")
            for i in range(count)
        )  # fmt: skip


# ------------------------------------------------------------------ reading
def test_staff_list_everyone_customers_only_themselves(tenant_a, tenant_b, app_role):
    # Given two tenants with a person of each role
    # When each person of tenant A lists the users
    for person in (tenant_a.admin, tenant_a.manager, tenant_a.agent):
        # Then staff see all of A and nobody of B
        assert ids(ApiClient(person).get("/users")) == everyone(tenant_a)
    # And a customer sees only themselves
    assert ids(ApiClient(tenant_a.customer).get("/users")) == {tenant_a.customer.id}


def test_reading_one_person(tenant_a, tenant_b, app_role):
    agent, customer = ApiClient(tenant_a.agent), ApiClient(tenant_a.customer)
    read = agent.get(f"/users/{tenant_a.customer.id}")
    assert read.status_code == 200
    assert (read.json()["email"], read.json()["role"]) == ("customer@acme.test", "customer")
    assert "password" not in read.json()
    # A customer reads themselves, and nobody else
    assert customer.get(f"/users/{tenant_a.customer.id}").status_code == 200
    assert customer.get(f"/users/{tenant_a.agent.id}").status_code == 404
    # Another tenant's person is a 404, even for its admin
    missing = ApiClient(tenant_b.admin).get(f"/users/{tenant_a.agent.id}")
    assert missing.status_code == 404
    assert missing["Content-Type"] == "application/problem+json"


def test_pages_by_cursor(tenant_a, app_role):
    add_customers(tenant_a, 5)
    admin = ApiClient(tenant_a.admin)
    seen: list[int] = []
    cursor = ""
    while True:
        page = admin.get("/users", limit=3, cursor=cursor, role="customer").json()
        seen += [person["id"] for person in page["items"]]
        assert len(page["items"]) <= 3
        if page["next_cursor"] is None:
            break
        cursor = page["next_cursor"]
    assert len(seen) == 6
    assert seen == sorted(seen)
    assert field_of(admin.get("/users", cursor="abc")) == "cursor"
    assert field_of(admin.get("/users", limit=0)) == "limit"


def test_listing_costs_the_same_queries_for_1_and_50(tenant_a, app_role):
    admin = ApiClient(tenant_a.admin)
    with tenant(tenant_a.org):
        team = Team.objects.create(organization=tenant_a.org, name="Support")
    admin.get("/users")  # the token's first use records it: not compared

    def count() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            response = admin.get("/users", role="customer", limit=100)
        assert response.status_code == 200
        return len(response.json()["items"]), len(queries)

    rows_one, queries_one = count()
    add_customers(tenant_a, 49)
    with tenant(tenant_a.org):
        TeamMembership.objects.create(organization=tenant_a.org, team=team, user=tenant_a.agent)
    rows_fifty, queries_fifty = count()
    assert (rows_one, rows_fifty) == (1, 50)
    assert queries_one == queries_fifty
    staff = admin.get("/users", role="agent").json()["items"]
    assert staff[0]["teams"] == [{"id": team.id, "name": "Support"}]


# ------------------------------------------------------------------ creating
def test_who_may_add_whom(tenant_a, app_role):
    admin, manager = ApiClient(tenant_a.admin), ApiClient(tenant_a.manager)
    new = {"email": "New@Acme.test", "full_name": "New", "password": "a-long-pass-phrase"}
    # Admins add anyone, managers agents and customers
    made = admin.post("/users", {**new, "role": "admin"})
    assert made.status_code == 201, made.content
    assert (made.json()["email"], made.json()["role"]) == ("new@acme.test", "admin")
    agent = manager.post(
        "/users",
        {
            **new,
            "email": "a2@acme.test",
            "role": "agent",
            "skills": ["billing"],
            "max_concurrent_tickets": 5,
        },
    )
    assert agent.status_code == 201, agent.content
    assert agent.json()["availability"] == "offline"
    assert manager.post("/users", {"email": "c2@acme.test"}).json()["role"] == "customer"
    # But managers neither add admins nor managers, and others add nobody
    for role in ("manager", "admin"):
        refused = manager.post("/users", {**new, "email": f"{role}2@acme.test", "role": role})
        assert refused.status_code == 403
    for person in (tenant_a.agent, tenant_a.customer):
        assert ApiClient(person).post("/users", {"email": "y@acme.test"}).status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "customer@acme.test"}, "email"),
        ({"email": "not-an-address"}, "email"),
        ({"email": "z@acme.test", "password": "123"}, "password"),
        ({"email": "z@acme.test", "availability": "online"}, "availability"),
        ({"email": "z@acme.test", "role": "root"}, "role"),
        ({"email": "z@acme.test", "organization_id": 2}, "organization_id"),
        ({"email": "z@acme.test", "is_staff": True}, "is_staff"),
        ({"email": "z@acme.test", "max_concurrent_tickets": 0}, "max_concurrent_tickets"),
    ],
)
def test_bad_new_people_name_the_field(tenant_a, app_role, body, field):
    response = ApiClient(tenant_a.admin).post("/users", body)
    assert response.status_code == 422, response.content
    assert field in {e["field"] for e in response.json()["errors"]}, response.json()


def test_an_email_of_another_tenant_is_free_here(tenant_a, tenant_b, app_role):
    response = ApiClient(tenant_b.admin).post("/users", {"email": "customer@acme.test"})
    assert response.status_code == 201
    assert ids(ApiClient(tenant_a.admin).get("/users")) == everyone(tenant_a)


# ------------------------------------------------------------------ changing
def test_people_change_their_own_name_and_agents_their_availability(tenant_a, app_role):
    agent = ApiClient(tenant_a.agent)
    me = f"/users/{tenant_a.agent.id}"
    changed = agent.patch(me, {"full_name": "Ann", "availability": "away"})
    assert changed.status_code == 200, changed.content
    assert (changed.json()["full_name"], changed.json()["availability"]) == ("Ann", "away")
    # But not their own limits, role or skills, nor anyone else's name
    assert agent.patch(me, {"max_concurrent_tickets": 99}).status_code == 403
    assert agent.patch(me, {"skills": ["all"]}).status_code == 403
    assert agent.patch(f"/users/{tenant_a.customer.id}", {"full_name": "x"}).status_code == 403
    # A customer changes their name; availability is for agents; others are absent
    customer = ApiClient(tenant_a.customer)
    mine = f"/users/{tenant_a.customer.id}"
    assert customer.patch(mine, {"full_name": "Carl"}).json()["full_name"] == "Carl"
    assert field_of(customer.patch(mine, {"availability": "online"})) == "availability"
    assert customer.patch(mine, {"customer_tier": "enterprise"}).status_code == 403
    assert customer.patch(f"/users/{tenant_a.agent.id}", {"full_name": "x"}).status_code == 404


def test_managers_manage_agents_and_customers_only(tenant_a, app_role):
    manager = ApiClient(tenant_a.manager)
    agent = f"/users/{tenant_a.agent.id}"
    changed = manager.patch(agent, {"skills": ["billing"], "max_concurrent_tickets": 3})
    assert changed.status_code == 200
    assert (changed.json()["skills"], changed.json()["max_concurrent_tickets"]) == (["billing"], 3)
    tier = manager.patch(f"/users/{tenant_a.customer.id}", {"customer_tier": "premium"})
    assert tier.json()["customer_tier"] == "premium"
    # Promotions above agent and changes to admins are for admins
    assert manager.patch(agent, {"role": "manager"}).status_code == 403
    assert manager.patch(agent, {"role": "admin"}).status_code == 403
    assert manager.patch(f"/users/{tenant_a.admin.id}", {"full_name": "x"}).status_code == 403
    admin = ApiClient(tenant_a.admin)
    assert admin.patch(agent, {"role": "manager"}).json()["role"] == "manager"


def test_nobody_demotes_or_deactivates_themselves(tenant_a, app_role):
    admin = ApiClient(tenant_a.admin)
    me = f"/users/{tenant_a.admin.id}"
    assert field_of(admin.patch(me, {"role": "agent"})) == "role"
    assert field_of(admin.patch(me, {"is_active": False})) == "is_active"
    assert field_of(admin.patch(me, {"full_name": None})) == "full_name"
    assert field_of(admin.patch(me, {"email": "x@acme.test"})) == "email"


def test_another_tenants_people_cannot_be_changed(tenant_a, tenant_b, app_role):
    b_admin = ApiClient(tenant_b.admin)
    path = f"/users/{tenant_a.agent.id}"
    assert b_admin.patch(path, {"full_name": "x"}).status_code == 404
    assert b_admin.delete(path).status_code == 404
    assert b_admin.post(f"{path}/restore").status_code == 404
    with tenant(tenant_a.org):
        assert User.objects.get(pk=tenant_a.agent.id).full_name == "Acme Agent"


# ------------------------------------------------------------------ removing
def test_remove_and_restore(tenant_a, app_role):
    admin, agent = ApiClient(tenant_a.admin), ApiClient(tenant_a.agent)
    customer = f"/users/{tenant_a.customer.id}"
    # When an admin removes a customer
    assert admin.delete(customer).status_code == 204
    # Then staff no longer see them, admins find them among the removed
    assert agent.get(customer).status_code == 404
    assert tenant_a.customer.id not in ids(agent.get("/users"))
    assert ids(admin.get("/users", deleted="true")) == {tenant_a.customer.id}
    assert admin.get(customer).json()["deleted_at"] is not None
    assert agent.get("/users", deleted="true").status_code == 403
    # And restoring brings them back
    assert agent.post(f"{customer}/restore").status_code == 404
    restored = admin.post(f"{customer}/restore")
    assert restored.status_code == 200
    assert (restored.json()["deleted_at"], restored.json()["is_active"]) == (None, True)
    assert admin.post(f"{customer}/restore").status_code == 404  # not removed any more
    # Nobody removes themselves; managers do not remove admins; agents nobody
    assert field_of(admin.delete(f"/users/{tenant_a.admin.id}")) == "user"
    assert ApiClient(tenant_a.manager).delete(f"/users/{tenant_a.admin.id}").status_code == 403
    assert agent.delete(customer).status_code == 403


# ------------------------------------------------------------------ teams
def test_teams(tenant_a, tenant_b, app_role):
    manager = ApiClient(tenant_a.manager)
    # When a manager creates a team and adds the agent (twice: no harm)
    team = manager.post("/teams", {"name": "Billing", "description": "Invoices"})
    assert team.status_code == 201, team.content
    members = f"/teams/{team.json()['id']}/members"
    assert manager.post(members, {"user_id": tenant_a.agent.id}).status_code == 200
    added = manager.post(members, {"user_id": tenant_a.agent.id})
    # Then the team lists the agent once
    assert [m["id"] for m in added.json()["members"]] == [tenant_a.agent.id]
    listed = ApiClient(tenant_a.agent).get("/teams")
    assert [(t["name"], len(t["members"])) for t in listed.json()] == [("Billing", 1)]
    # But customers join no team, and other tenants' people and teams do not exist here
    assert field_of(manager.post(members, {"user_id": tenant_a.customer.id})) == "user_id"
    assert field_of(manager.post(members, {"user_id": tenant_b.agent.id})) == "user_id"
    b_manager = ApiClient(tenant_b.manager)
    assert b_manager.post(members, {"user_id": tenant_b.agent.id}).status_code == 404
    assert b_manager.get("/teams").json() == []
    # And names are unique; agents create no teams; customers see none
    assert field_of(manager.post("/teams", {"name": "Billing"})) == "name"
    assert b_manager.post("/teams", {"name": "Billing"}).status_code == 201
    assert ApiClient(tenant_a.agent).post("/teams", {"name": "Mine"}).status_code == 403
    assert ApiClient(tenant_a.agent).post(members, {"user_id": tenant_a.agent.id}).status_code == (
        403
    )
    assert ApiClient(tenant_a.customer).get("/teams").status_code == 403


def test_team_list_costs_the_same_queries_for_1_and_50(tenant_a, app_role):
    agent = ApiClient(tenant_a.agent)
    with tenant(tenant_a.org):
        Team.objects.create(organization=tenant_a.org, name="t00")
    agent.get("/teams")  # the token's first use records it: not compared

    rows_one, queries_one = list_size_and_queries(agent, "/teams")
    with tenant(tenant_a.org):
        teams = Team.objects.bulk_create(
            Team(organization=tenant_a.org, name=f"t{i:02}") for i in range(1, 50)
        )
        TeamMembership.objects.bulk_create(
            TeamMembership(organization=tenant_a.org, team=team, user=person)
            for team in teams
            for person in (tenant_a.agent, tenant_a.manager)
        )
    rows_fifty, queries_fifty = list_size_and_queries(agent, "/teams")
    assert (rows_one, rows_fifty) == (1, 50)
    assert queries_one == queries_fifty
