"""Editing in the tenant administration: an SLA policy, a holiday, a team's members and a
canned response, with the API's permissions (docs/permissions.md) and two tenants."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from deskbase.accounts import services as people
from deskbase.accounts.models import TeamMembership
from deskbase.organizations import services as org_services
from deskbase.organizations.models import Holiday
from deskbase.sla import policies
from deskbase.sla.models import SlaPolicy
from deskbase.tickets import canned
from deskbase.tickets.models import CannedResponse
from tests.web.helpers import queries_of, signed_in

pytestmark = pytest.mark.django_db


def _policy(world, name="Urgent basic"):
    return policies.sla_policy_create(
        organization=world.org, actor=None, name=name, priority="urgent",
        customer_tier="basic", first_response_minutes=30, resolution_minutes=240,
        business_hours=True,
    )  # fmt: skip


def _state(policy):
    row = SlaPolicy.objects.get(pk=policy.pk)
    return (row.name, row.first_response_minutes, row.resolution_minutes, row.business_hours)


SLA_FORM = {"name": "Urgent, around the clock", "first_response_minutes": "15",
            "resolution_minutes": "120"}  # fmt: skip


# ------------------------------------------------------------------ SLA policies
@pytest.mark.parametrize("role", ["admin", "manager"])
def test_admins_and_managers_edit_an_sla_policy(tenant_a, tenant_b, role):
    # given a business-hours policy in each tenant
    policy, other = _policy(tenant_a), _policy(tenant_b)
    client = signed_in(getattr(tenant_a, role))
    # when the form shows it and is sent with new targets and the box unticked
    page = client.get(f"/manage/sla/{policy.id}/")
    response = client.post(f"/manage/sla/{policy.id}/", SLA_FORM)
    # then the policy has them, the list links to the form, the other tenant's is untouched
    assert page.status_code == 200
    assert 'for="p-first"' in page.content.decode()
    assert response.status_code == 302
    assert _state(policy) == ("Urgent, around the clock", 15, 120, False)
    assert f"/manage/sla/{policy.id}/" in client.get("/manage/sla/").content.decode()
    assert _state(other) == ("Urgent basic", 30, 240, True)


@pytest.mark.parametrize("role", ["agent", "customer"])
def test_others_may_not_edit_an_sla_policy(tenant_a, tenant_b, role):
    policy = _policy(tenant_a)
    client = signed_in(getattr(tenant_a, role))
    assert client.get(f"/manage/sla/{policy.id}/").status_code == 403
    assert client.post(f"/manage/sla/{policy.id}/", SLA_FORM).status_code == 403
    assert _state(policy) == ("Urgent basic", 30, 240, True)


def test_another_tenants_sla_policy_is_not_found(tenant_a, tenant_b):
    other = _policy(tenant_b)
    client = signed_in(tenant_a.admin)
    assert client.get(f"/manage/sla/{other.id}/").status_code == 404
    assert client.post(f"/manage/sla/{other.id}/", SLA_FORM).status_code == 404
    assert _state(other) == ("Urgent basic", 30, 240, True)


def _field_error(body: str, input_id: str) -> str:
    """The error shown beside one input of a form ("" when none)."""
    found = re.search(rf'<p class="field-error" id="{input_id}-error">(.*?)</p>', body, re.S)
    if found:
        assert f'aria-describedby="{input_id}-error"' in body
    return found.group(1) if found else ""


@pytest.mark.parametrize(
    ("field", "value", "input_id"),
    [("first_response_minutes", "0", "p-first"),
     ("resolution_minutes", "soon", "p-res"),
     ("resolution_minutes", str(366 * 24 * 60 + 1), "p-res"),
     ("resolution_minutes", "10", "p-res"),  # shorter than the first response
     ("name", "  ", "p-name")],
)  # fmt: skip
def test_bad_sla_input_shows_the_form_naming_the_field(tenant_a, tenant_b, field, value, input_id):
    policy = _policy(tenant_a)
    client = signed_in(tenant_a.manager)
    sent = {**SLA_FORM, field: value}
    response = client.post(f"/manage/sla/{policy.id}/", sent)
    body = response.content.decode()
    assert response.status_code == 422
    assert _field_error(body, input_id)  # the error is beside the input it is about
    assert 'name="first_response_minutes"' in body  # the form again, with what was sent
    if field != "name":
        assert f'value="{sent[field]}"' in body
    assert _state(policy) == ("Urgent basic", 30, 240, True)


NEW_POLICY = {"name": "Urgent for everyone", "priority": "urgent", "customer_tier": "basic",
              "first_response_minutes": "45", "resolution_minutes": "300"}  # fmt: skip


def test_a_refused_new_policy_keeps_what_was_typed(tenant_a, tenant_b):
    # Given an active policy for urgent tickets of basic customers (and one in tenant B)
    _policy(tenant_a), _policy(tenant_b)
    client = signed_in(tenant_a.manager)
    # When a manager creates another one for the same priority and tier, clock unticked
    response = client.post("/manage/sla/", NEW_POLICY)
    body = response.content.decode()
    # Then the form comes back with every value typed, and an error in plain words that
    # names nothing missing from the form
    assert response.status_code == 422
    assert 'value="Urgent for everyone"' in body
    assert '<option value="urgent" selected>' in body
    assert '<option value="basic" selected>' in body
    assert 'value="45"' in body
    assert 'value="300"' in body
    assert 'name="business_hours" checked' not in body
    assert "already" in body
    assert "Urgent" in body
    assert "valid from" not in body.lower()
    assert "valid_from" not in body
    assert SlaPolicy.objects.filter(organization=tenant_a.org).count() == 1


def test_a_refused_new_policy_shows_the_error_beside_its_field(tenant_a):
    client = signed_in(tenant_a.manager)
    response = client.post("/manage/sla/", {**NEW_POLICY, "resolution_minutes": "30",
                                            "business_hours": "on"})  # fmt: skip
    body = response.content.decode()
    assert response.status_code == 422
    assert "cannot be shorter than the first response" in _field_error(body, "p-res")
    assert _field_error(body, "p-first") == ""
    assert 'name="business_hours" checked' in body
    assert 'value="Urgent for everyone"' in body
    assert not SlaPolicy.objects.filter(organization=tenant_a.org).exists()


# ------------------------------------------------------------------ holidays
def _holiday(world, day="2026-12-25"):
    return org_services.holiday_add(
        organization=world.org, actor=None, date=dt.date.fromisoformat(day), name="Christmas"
    )


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_admins_and_managers_remove_a_holiday(tenant_a, tenant_b, role):
    # given a holiday on the same day in both tenants, and another one here
    holiday, kept, other = _holiday(tenant_a), _holiday(tenant_a, "2027-01-01"), _holiday(tenant_b)
    client = signed_in(getattr(tenant_a, role))
    assert f"/manage/organization/holidays/{holiday.id}/remove" in (
        client.get("/manage/organization/").content.decode()
    )
    # when one is removed
    response = client.post(f"/manage/organization/holidays/{holiday.id}/remove")
    # then only that one is gone
    assert response.status_code == 302
    assert not Holiday.objects.filter(pk=holiday.pk).exists()
    assert Holiday.objects.filter(pk__in=[kept.pk, other.pk]).count() == 2
    page = client.get("/manage/organization/").content.decode()
    assert f"holidays/{holiday.id}/remove" not in page
    assert f"holidays/{kept.id}/remove" in page


@pytest.mark.parametrize("role", ["agent", "customer"])
def test_others_may_not_remove_a_holiday(tenant_a, tenant_b, role):
    holiday = _holiday(tenant_a)
    client = signed_in(getattr(tenant_a, role))
    assert client.post(f"/manage/organization/holidays/{holiday.id}/remove").status_code == 403
    assert Holiday.objects.filter(pk=holiday.pk).exists()


def test_another_tenants_holiday_is_not_found(tenant_a, tenant_b):
    other = _holiday(tenant_b)
    client = signed_in(tenant_a.admin)
    assert client.post(f"/manage/organization/holidays/{other.id}/remove").status_code == 404
    assert client.post("/manage/organization/holidays/999999/remove").status_code == 404
    assert Holiday.objects.filter(pk=other.pk).exists()


def test_removing_a_holiday_is_post_only(tenant_a):
    holiday = _holiday(tenant_a)
    client = signed_in(tenant_a.admin)
    assert client.get(f"/manage/organization/holidays/{holiday.id}/remove").status_code == 405
    assert Holiday.objects.filter(pk=holiday.pk).exists()


# ------------------------------------------------------------------ team members
def _team_with_agent(world):
    team = people.team_create(organization=world.org, actor=None, name="Billing")
    people.team_add_member(organization=world.org, actor=None, team=team, user=world.agent)
    people.team_add_member(organization=world.org, actor=None, team=team, user=world.manager)
    return team


def _members(team):
    return set(TeamMembership.objects.filter(team=team).values_list("user_id", flat=True))


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_admins_and_managers_remove_an_agent_from_a_team(tenant_a, tenant_b, role):
    # given a team of two in each tenant
    team, other = _team_with_agent(tenant_a), _team_with_agent(tenant_b)
    client = signed_in(getattr(tenant_a, role))
    url = f"/manage/teams/{team.id}/members/{tenant_a.agent.id}/remove"
    assert url in client.get("/manage/teams/").content.decode()
    # when the agent is taken out
    response = client.post(url)
    # then only the agent left that team
    assert response.status_code == 302
    assert _members(team) == {tenant_a.manager.id}
    assert _members(other) == {tenant_b.agent.id, tenant_b.manager.id}


@pytest.mark.parametrize("role", ["agent", "customer"])
def test_others_may_not_remove_team_members(tenant_a, tenant_b, role):
    team = _team_with_agent(tenant_a)
    client = signed_in(getattr(tenant_a, role))
    url = f"/manage/teams/{team.id}/members/{tenant_a.manager.id}/remove"
    assert client.post(url).status_code == 403
    assert _members(team) == {tenant_a.agent.id, tenant_a.manager.id}


def test_another_tenants_team_or_person_is_not_found(tenant_a, tenant_b):
    team, other = _team_with_agent(tenant_a), _team_with_agent(tenant_b)
    client = signed_in(tenant_a.admin)
    for team_id in (other.id, team.id):
        url = f"/manage/teams/{team_id}/members/{tenant_b.agent.id}/remove"
        assert client.post(url).status_code == 404
    assert _members(other) == {tenant_b.agent.id, tenant_b.manager.id}
    assert _members(team) == {tenant_a.agent.id, tenant_a.manager.id}


def test_removing_someone_not_in_the_team_names_the_user(tenant_a, tenant_b):
    team = _team_with_agent(tenant_a)
    client = signed_in(tenant_a.admin)
    response = client.post(
        f"/manage/teams/{team.id}/members/{tenant_a.admin.id}/remove", follow=True
    )
    assert "user: This person is not in the team." in response.content.decode()
    assert _members(team) == {tenant_a.agent.id, tenant_a.manager.id}


def test_the_teams_page_runs_as_many_queries_for_one_member_as_for_fifty(tenant_a):
    team = _team_with_agent(tenant_a)
    client = signed_in(tenant_a.admin)
    one = queries_of(client, "/manage/teams/")
    for n in range(48):
        person = people.user_create(
            organization=tenant_a.org, actor=None, email=f"agent{n}@acme.test",
            password=None, role="agent", full_name=f"Agent {n}",
        )  # fmt: skip
        people.team_add_member(organization=tenant_a.org, actor=None, team=team, user=person)
    assert len(_members(team)) == 50
    assert queries_of(client, "/manage/teams/") == one


# ------------------------------------------------------------------ canned responses
def _canned(world, actor, name, personal):
    return canned.canned_response_create(
        organization=world.org, actor=actor, name=name, body="Hello {{ customer.name }}",
        personal=personal,
    )  # fmt: skip


def _text(row):
    found = CannedResponse.objects.get(pk=row.pk)
    return (found.name, found.body, found.owner_id)


CANNED_FORM = {"name": "Greeting", "body": "Good morning {{ customer.name }}"}


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_admins_and_managers_edit_a_shared_response(tenant_a, tenant_b, role):
    # given a shared response in each tenant
    shared = _canned(tenant_a, tenant_a.admin, "Hello", personal=False)
    other = _canned(tenant_b, tenant_b.admin, "Hello", personal=False)
    client = signed_in(getattr(tenant_a, role))
    assert 'for="c-body"' in client.get(f"/manage/canned/{shared.id}/").content.decode()
    # when it is renamed and rewritten
    response = client.post(f"/manage/canned/{shared.id}/", CANNED_FORM)
    # then it is still shared, with the new text; the other tenant's is untouched
    assert response.status_code == 302
    assert _text(shared) == ("Greeting", "Good morning {{ customer.name }}", None)
    assert _text(other) == ("Hello", "Hello {{ customer.name }}", None)


def test_an_agent_edits_their_own_response_but_not_a_shared_one(tenant_a, tenant_b):
    mine = _canned(tenant_a, tenant_a.agent, "Mine", personal=True)
    shared = _canned(tenant_a, tenant_a.admin, "Hello", personal=False)
    client = signed_in(tenant_a.agent)
    assert f"/manage/canned/{mine.id}/" in client.get("/manage/canned/").content.decode()
    assert client.post(f"/manage/canned/{mine.id}/", CANNED_FORM).status_code == 302
    assert _text(mine) == ("Greeting", "Good morning {{ customer.name }}", tenant_a.agent.id)
    assert client.get(f"/manage/canned/{shared.id}/").status_code == 403
    assert client.post(f"/manage/canned/{shared.id}/", CANNED_FORM).status_code == 403
    assert _text(shared) == ("Hello", "Hello {{ customer.name }}", None)


def test_a_customer_may_not_edit_responses(tenant_a, tenant_b):
    shared = _canned(tenant_a, tenant_a.admin, "Hello", personal=False)
    client = signed_in(tenant_a.customer)
    assert client.post(f"/manage/canned/{shared.id}/", CANNED_FORM).status_code == 403
    assert _text(shared) == ("Hello", "Hello {{ customer.name }}", None)


def test_someone_elses_personal_or_another_tenants_response_is_not_found(tenant_a, tenant_b):
    agents = _canned(tenant_a, tenant_a.agent, "Mine", personal=True)
    other = _canned(tenant_b, tenant_b.admin, "Hello", personal=False)
    client = signed_in(tenant_a.admin)
    for row in (agents, other):
        assert client.get(f"/manage/canned/{row.id}/").status_code == 404
        assert client.post(f"/manage/canned/{row.id}/", CANNED_FORM).status_code == 404
    assert _text(agents) == ("Mine", "Hello {{ customer.name }}", tenant_a.agent.id)
    assert _text(other) == ("Hello", "Hello {{ customer.name }}", None)


@pytest.mark.parametrize(
    ("form", "named"),
    [({"name": " ", "body": "Hi"}, "name:"),
     ({"name": "Greeting", "body": ""}, "body:"),
     ({"name": "Greeting", "body": "Hi {{ nonsense }}"}, "body:"),
     ({"name": "Taken", "body": "Hi"}, "name:")],
)  # fmt: skip
def test_bad_canned_input_shows_the_form_naming_the_field(tenant_a, tenant_b, form, named):
    shared = _canned(tenant_a, tenant_a.admin, "Hello", personal=False)
    _canned(tenant_a, tenant_a.admin, "Taken", personal=False)
    client = signed_in(tenant_a.manager)
    response = client.post(f"/manage/canned/{shared.id}/", form)
    body = response.content.decode()
    assert response.status_code == 422
    assert named in body
    assert 'name="body"' in body
    assert _text(shared) == ("Hello", "Hello {{ customer.name }}", None)
