"""Each administration rule holds the same through the API, the web pages and the
services themselves (the commands and jobs call those): it is written once, in the
service layer, and both transports only translate the refusal."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from deskbase.accounts import services as people
from deskbase.accounts.models import User
from deskbase.core.errors import PermissionDenied, ValidationFailed
from deskbase.organizations import services as org_services
from deskbase.organizations.models import Holiday
from deskbase.sla import policies
from deskbase.sla.models import MAX_TARGET_MINUTES, SlaPolicy
from tests.api.helpers import ApiClient
from tests.web.helpers import signed_in

pytestmark = pytest.mark.django_db

TRANSPORTS = ("api", "web")


def _web_profile(person: User, **changes: str) -> dict[str, str]:
    """The profile form as the page fills it in for `person`, with `changes` typed over."""
    form = {"full_name": person.full_name, "role": person.role}
    if person.is_active:
        form["is_active"] = "on"
    if person.role == "customer":
        form["customer_tier"] = person.customer_tier
    else:
        form["availability"] = person.availability or "offline"
        form["max_concurrent_tickets"] = str(person.max_concurrent_tickets)
    form.update(changes)
    if form.get("is_active") == "":
        del form["is_active"]
    return form


def _state(person: User) -> tuple:
    row = User.all_objects.get(pk=person.pk)
    return row.full_name, row.role, row.is_active, row.deleted_at


# ------------------------------------------------------------------ the rank rule
def _create(transport: str, actor: User, **body: str):
    if transport == "api":
        return ApiClient(actor).post("/users", body)
    return signed_in(actor).post("/manage/people/", body)


def _change(transport: str, actor: User, person: User, **changes: str):
    if transport == "api":
        return ApiClient(actor).patch(f"/users/{person.id}", changes)
    return signed_in(actor).post(f"/manage/people/{person.id}/", _web_profile(person, **changes))


def _remove(transport: str, actor: User, person: User):
    if transport == "api":
        return ApiClient(actor).delete(f"/users/{person.id}")
    return signed_in(actor).post(f"/manage/people/{person.id}/remove")


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("role", ["admin", "manager"])
def test_a_manager_may_not_add_an_admin_or_a_manager(tenant_a, tenant_b, transport, role):
    # Given a manager of tenant A (and tenant B beside it)
    # When they add someone with a senior role
    response = _create(transport, tenant_a.manager, email="boss@acme.test", role=role)
    # Then it is forbidden and no one is added anywhere
    assert response.status_code == 403
    assert not User.all_objects.filter(email="boss@acme.test").exists()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_manager_adds_agents_and_customers(tenant_a, tenant_b, transport):
    for role in ("agent", "customer"):
        response = _create(transport, tenant_a.manager, email=f"{role}2@acme.test", role=role)
        assert response.status_code in (201, 302), response.content[:300]
        added = User.objects.get(email=f"{role}2@acme.test")
        assert (added.organization_id, added.role) == (tenant_a.org.id, role)
    assert not User.objects.filter(organization=tenant_b.org, email__endswith="2@acme.test")


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    ("target", "changes"),
    [("admin", {"full_name": "Renamed"}), ("manager", {"full_name": "Renamed"}),
     ("agent", {"role": "manager"}), ("customer", {"role": "admin"}), ("admin", {})],
)  # fmt: skip
def test_a_manager_may_not_change_a_senior_nor_grant_a_senior_role(
    tenant_a, tenant_b, transport, target, changes
):
    # Given a manager and another person of tenant A
    person = getattr(tenant_a, target)
    if target == "manager":
        person = people.user_create(organization=tenant_a.org, actor=None, role="manager",
                                    email="second-manager@acme.test")  # fmt: skip
    before = _state(person)
    # When the manager changes that person's profile (or sends it back unchanged)
    response = _change(transport, tenant_a.manager, person, **changes)
    # Then it is forbidden, whatever was sent, and nothing changed
    assert response.status_code == 403
    assert _state(person) == before


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_an_agent_may_not_change_someone_else_even_sending_nothing(tenant_a, tenant_b, transport):
    # The answer does not depend on what was sent: an empty change is refused as well
    # (the API answered 200 to an empty PATCH of someone else's profile).
    before = _state(tenant_a.customer)
    assert _change(transport, tenant_a.agent, tenant_a.customer).status_code == 403
    assert _state(tenant_a.customer) == before


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_manager_may_not_remove_an_admin(tenant_a, tenant_b, transport):
    before = _state(tenant_a.admin)
    assert _remove(transport, tenant_a.manager, tenant_a.admin).status_code == 403
    assert _state(tenant_a.admin) == before


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_another_tenants_person_is_absent_for_every_change(tenant_a, tenant_b, transport):
    before = _state(tenant_b.agent)
    assert _change(transport, tenant_a.admin, tenant_b.agent, full_name="x").status_code == 404
    assert _remove(transport, tenant_a.admin, tenant_b.agent).status_code == 404
    assert _state(tenant_b.agent) == before


def test_the_roles_a_form_offers_are_the_ones_the_service_lets_grant(tenant_a):
    assert [v for v, _ in people.grantable_roles(tenant_a.manager)] == ["agent", "customer"]
    assert [v for v, _ in people.grantable_roles(tenant_a.admin)] == [
        "admin", "manager", "agent", "customer",
    ]  # fmt: skip
    page = signed_in(tenant_a.manager).get("/manage/people/").content.decode()
    offered = page.split('id="u-role"', 1)[1].split("</select>", 1)[0]
    assert 'value="agent"' in offered
    assert 'value="admin"' not in offered
    assert 'value="manager"' not in offered


# ------------------------------------------------------------------ nobody demotes themselves
@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [({"role": "agent"}, "role", "You cannot change your own role."),
     ({"is_active": False}, "is_active", "You cannot deactivate yourself.")],
)  # fmt: skip
def test_nobody_changes_their_own_role_or_deactivates_themselves(
    tenant_a, tenant_b, transport, changes, field, message
):
    # Given the admin of tenant A
    admin = tenant_a.admin
    before = _state(admin)
    # When they demote or deactivate themselves
    if transport == "api":
        response = ApiClient(admin).patch(f"/users/{admin.id}", changes)
        # Then it is refused, naming the field
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == field
    else:
        form = _web_profile(admin, **{k: v or "" for k, v in changes.items()})
        response = signed_in(admin).post(f"/manage/people/{admin.id}/", form, follow=True)
        # Then the page says why
        assert message in response.content.decode()
    assert _state(admin) == before


@pytest.mark.parametrize(
    ("changes", "field"), [({"role": "agent"}, "role"), ({"is_active": False}, "is_active")]
)
def test_the_self_rules_hold_for_a_direct_call_of_the_service(tenant_a, changes, field):
    # A job or a command calling the service directly gets the same refusal.
    with pytest.raises(ValidationFailed) as refused:
        people.user_update(organization=tenant_a.org, actor=tenant_a.admin,
                           user=tenant_a.admin, **changes)  # fmt: skip
    assert field in refused.value.errors
    assert _state(tenant_a.admin)[1:3] == ("admin", True)


# ------------------------------------------------------------------ passwords
@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("password", ["short", "12345678901", "password123"])
def test_a_weak_password_is_refused_when_adding_someone(tenant_a, tenant_b, transport, password):
    # When an admin adds someone with a password Django's validators refuse
    body = {"email": "weak@acme.test", "role": "agent", "password": password}
    if transport == "api":
        response = ApiClient(tenant_a.admin).post("/users", body)
        # Then the API names the password
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "password"
    else:
        response = signed_in(tenant_a.admin).post("/manage/people/", body, follow=True)
        # Then the page names the password
        assert "password:" in response.content.decode()
    assert not User.all_objects.filter(email="weak@acme.test").exists()


def test_a_weak_password_is_refused_from_the_command_line_too(tenant_a):
    with pytest.raises(CommandError, match="password"):
        call_command("createuser", "acme", "weak@acme.test", "--password", "12345678")
    with pytest.raises(ValidationFailed) as refused:
        people.user_create(organization=tenant_a.org, actor=None, email="weak2@acme.test",
                           password="short")  # fmt: skip
    assert "password" in refused.value.errors
    assert not User.all_objects.filter(email__startswith="weak").exists()


def test_a_good_password_signs_in_and_no_password_means_no_sign_in(tenant_a):
    made = people.user_create(organization=tenant_a.org, actor=tenant_a.admin,
                              email="ok@acme.test", password="a-long-passphrase-9")  # fmt: skip
    assert made.check_password("a-long-passphrase-9")
    nobody = people.user_create(organization=tenant_a.org, actor=tenant_a.admin,
                                email="none@acme.test", password=None)  # fmt: skip
    assert not nobody.has_usable_password()


# ------------------------------------------------------------------ SLA target bounds
POLICY = {"name": "Urgent basic", "priority": "urgent", "customer_tier": "basic",
          "first_response_minutes": 15}  # fmt: skip


def _new_policy(transport: str, actor: User, resolution: int):
    if transport == "api":
        return ApiClient(actor).post("/sla-policies", {**POLICY, "resolution_minutes": resolution})
    form = {**POLICY, "first_response_minutes": "15", "resolution_minutes": str(resolution)}
    return signed_in(actor).post("/manage/sla/", form)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_an_sla_target_past_a_year_is_refused_naming_the_field(tenant_a, tenant_b, transport):
    response = _new_policy(transport, tenant_a.manager, MAX_TARGET_MINUTES + 1)
    assert response.status_code == 422
    if transport == "api":
        assert response.json()["errors"][0]["field"] == "resolution_minutes"
    else:
        assert 'aria-describedby="p-res-error"' in response.content.decode()
    assert not SlaPolicy.objects.exists()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_an_sla_target_of_exactly_a_year_is_taken(tenant_a, tenant_b, transport):
    response = _new_policy(transport, tenant_a.manager, MAX_TARGET_MINUTES)
    assert response.status_code in (201, 302), response.content[:300]
    policy = SlaPolicy.objects.get()
    assert (policy.organization_id, policy.resolution_minutes) == (
        tenant_a.org.id, MAX_TARGET_MINUTES,
    )  # fmt: skip


@pytest.mark.parametrize("field", ["first_response_minutes", "resolution_minutes"])
def test_the_sla_services_refuse_a_target_past_a_year(tenant_a, field):
    # A direct call (a command, a job, a future transport) meets the same bound.
    targets = {"first_response_minutes": 15, "resolution_minutes": 60, field: 10**7}
    with pytest.raises(ValidationFailed) as refused:
        policies.sla_policy_create(organization=tenant_a.org, actor=tenant_a.admin,
                                   name="Long", priority="low", customer_tier="basic",
                                   **targets)  # fmt: skip
    assert field in refused.value.errors
    policy = policies.sla_policy_create(organization=tenant_a.org, actor=tenant_a.admin,
                                        name="Ok", priority="low", customer_tier="basic",
                                        first_response_minutes=15,
                                        resolution_minutes=60)  # fmt: skip
    with pytest.raises(ValidationFailed) as refused:
        policies.sla_policy_update(organization=tenant_a.org, actor=tenant_a.admin,
                                   policy=policy, **{field: 10**7})  # fmt: skip
    assert field in refused.value.errors


def test_the_database_refuses_a_target_past_a_year(tenant_a):
    policy = policies.sla_policy_create(organization=tenant_a.org, actor=None, name="Ok",
                                        priority="low", customer_tier="basic",
                                        first_response_minutes=15,
                                        resolution_minutes=60)  # fmt: skip
    refused = pytest.raises(IntegrityError, match="sla_slapolicy_resolution_bounded")
    with refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE sla_slapolicy SET resolution_minutes = %s WHERE id = %s",
                       [MAX_TARGET_MINUTES + 1, policy.id])  # fmt: skip


def test_the_api_schema_shows_the_domains_bound(client):
    spec = client.get("/api/openapi.json").json()
    target = spec["components"]["schemas"]["SlaPolicyIn"]["properties"]["resolution_minutes"]
    assert target["maximum"] == MAX_TARGET_MINUTES


# ------------------------------------------------------------------ holidays
def _add_holiday(transport: str, actor: User, day: str):
    if transport == "api":
        return ApiClient(actor).post("/organization/holidays", {"date": day, "name": "Closed"})
    return signed_in(actor).post("/manage/organization/holidays", {"date": day, "name": "Closed"})


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("role", ["agent", "customer"])
def test_only_admins_and_managers_add_holidays(tenant_a, tenant_b, transport, role):
    response = _add_holiday(transport, getattr(tenant_a, role), "2026-12-24")
    assert response.status_code == 403
    assert not Holiday.objects.exists()


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("role", ["admin", "manager"])
def test_admins_and_managers_add_a_holiday_to_their_own_organization(
    tenant_a, tenant_b, transport, role
):
    response = _add_holiday(transport, getattr(tenant_a, role), "2026-12-24")
    assert response.status_code in (201, 302), response.content[:300]
    added = Holiday.objects.get()
    assert (added.organization_id, added.date) == (tenant_a.org.id, dt.date(2026, 12, 24))


def test_the_holiday_service_checks_the_actor(tenant_a, tenant_b):
    # A direct call as an agent is refused like the transports refuse it
    for actor in (tenant_a.agent, tenant_a.customer):
        with pytest.raises(PermissionDenied):
            org_services.holiday_add(organization=tenant_a.org, actor=actor,
                                     date=dt.date(2026, 12, 24), name="Closed")  # fmt: skip
    assert not Holiday.objects.exists()
    # and an operator (no actor) or a manager may
    org_services.holiday_add(organization=tenant_a.org, actor=tenant_a.manager,
                             date=dt.date(2026, 12, 24), name="Closed")  # fmt: skip
    assert list(Holiday.objects.values_list("organization_id", flat=True)) == [tenant_a.org.id]
