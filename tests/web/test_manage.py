"""Tenant administration: admins and managers, with the API's rank rules."""

from __future__ import annotations

from deskbase.accounts.models import Team, User
from deskbase.organizations.models import Organization
from deskbase.sla.models import SlaPolicy
from deskbase.tickets.models import CannedResponse
from tests.web.helpers import signed_in

HOURS = {f"hours_{d}": "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")}


def test_agents_cannot_enter_administration_but_manage_their_canned(tenant_a):
    client = signed_in(tenant_a.agent)
    for url in ("/manage/organization/", "/manage/sla/", "/manage/teams/", "/manage/people/"):
        assert client.get(url).status_code == 403, url
    client.post("/manage/canned/", {"name": "Mine", "body": "Hi"})
    assert CannedResponse.objects.get(name="Mine").owner_id == tenant_a.agent.id


def test_admin_changes_settings_and_hours(tenant_a, tenant_b):
    client = signed_in(tenant_a.admin)
    client.post("/manage/organization/", {"name": "Acme Support", "timezone": "Europe/Paris",
                                          **HOURS, "hours_sat": "10:00-12:00"})  # fmt: skip
    org = Organization.objects.get(pk=tenant_a.org.pk)
    assert org.name == "Acme Support"
    assert org.business_hours["sat"] == [["10:00", "12:00"]]
    assert org.business_hours["sun"] == []
    assert Organization.objects.get(pk=tenant_b.org.pk).name == "Globex"


def test_manager_may_not_change_settings(tenant_a):
    client = signed_in(tenant_a.manager)
    response = client.post("/manage/organization/", {"name": "Hijacked", "timezone": "UTC",
                                                     **HOURS})  # fmt: skip
    assert response.status_code == 403
    assert Organization.objects.get(pk=tenant_a.org.pk).name == "Acme"


def test_bad_hours_are_a_message_naming_the_field(tenant_a):
    client = signed_in(tenant_a.admin)
    response = client.post("/manage/organization/", {"name": "Acme", "timezone": "UTC",
                                                     "hours_mon": "nine to five"},
                           follow=True)  # fmt: skip
    assert "business hours: mon:" in response.content.decode()


def test_manager_creates_policy_team_and_people(tenant_a):
    client = signed_in(tenant_a.manager)
    client.post("/manage/sla/", {"name": "Urgent basic", "priority": "urgent",
                                 "customer_tier": "basic", "first_response_minutes": "30",
                                 "resolution_minutes": "240", "business_hours": "on"})  # fmt: skip
    policy = SlaPolicy.objects.get(organization=tenant_a.org, name="Urgent basic")
    client.post(f"/manage/sla/{policy.id}/deactivate")
    assert SlaPolicy.objects.get(pk=policy.pk).is_active is False
    client.post("/manage/teams/", {"name": "Billing"})
    team = Team.objects.get(organization=tenant_a.org, name="Billing")
    client.post(f"/manage/teams/{team.id}/members", {"user": tenant_a.agent.id})
    assert list(team.members.all()) == [tenant_a.agent]
    client.post("/manage/people/", {"email": "new@acme.test", "role": "agent",
                                    "password": "a-long-pass-phrase-1"})  # fmt: skip
    assert User.objects.get(organization=tenant_a.org, email="new@acme.test").role == "agent"


def test_manager_may_not_create_or_remove_an_admin(tenant_a):
    client = signed_in(tenant_a.manager)
    response = client.post("/manage/people/", {"email": "boss@acme.test", "role": "admin"})
    assert response.status_code == 403
    assert not User.objects.filter(email="boss@acme.test").exists()
    response = client.post(f"/manage/people/{tenant_a.admin.id}/remove")
    assert response.status_code == 403
    assert User.objects.get(pk=tenant_a.admin.pk).deleted_at is None


def test_another_tenants_person_cannot_be_removed(tenant_a, tenant_b):
    client = signed_in(tenant_a.admin)
    response = client.post(f"/manage/people/{tenant_b.agent.id}/remove")
    assert response.status_code == 404
    assert User.objects.get(pk=tenant_b.agent.pk).deleted_at is None
    listing = client.get("/manage/people/").content.decode()
    assert "agent@globex.test" not in listing


def test_admin_edits_a_customer_tier_and_an_agent_limit(tenant_a):
    client = signed_in(tenant_a.admin)
    assert client.get(f"/manage/people/{tenant_a.customer.id}/").status_code == 200
    client.post(f"/manage/people/{tenant_a.customer.id}/",
                {"full_name": "Acme Customer", "role": "customer", "customer_tier": "premium",
                 "is_active": "on"})  # fmt: skip
    assert User.objects.get(pk=tenant_a.customer.pk).customer_tier == "premium"
    client.post(f"/manage/people/{tenant_a.agent.id}/",
                {"full_name": "Acme Agent", "role": "agent", "availability": "away",
                 "max_concurrent_tickets": "5", "is_active": "on"})  # fmt: skip
    agent = User.objects.get(pk=tenant_a.agent.pk)
    assert (agent.availability, agent.max_concurrent_tickets) == ("away", 5)


def test_manager_cannot_promote_or_change_own_role(tenant_a):
    client = signed_in(tenant_a.manager)
    response = client.post(f"/manage/people/{tenant_a.agent.id}/",
                           {"full_name": "x", "role": "admin", "availability": "online",
                            "max_concurrent_tickets": "20", "is_active": "on"})  # fmt: skip
    assert response.status_code == 403
    assert User.objects.get(pk=tenant_a.agent.pk).role == "agent"
    response = client.post(f"/manage/people/{tenant_a.manager.id}/",
                           {"full_name": "Acme Manager", "role": "agent",
                            "availability": "online", "max_concurrent_tickets": "20",
                            "is_active": "on"}, follow=True)  # fmt: skip
    assert "role: You cannot change your own role." in response.content.decode()
    assert User.objects.get(pk=tenant_a.manager.pk).role == "manager"
    assert client.get(f"/manage/people/{tenant_a.admin.id}/").status_code == 200


def test_another_tenants_or_a_missing_person_is_a_404_not_a_redirect(tenant_a, tenant_b):
    client = signed_in(tenant_a.admin)
    for user_id in (tenant_b.agent.id, 999_999):
        response = client.get(f"/manage/people/{user_id}/")
        assert response.status_code == 404, (user_id, response.get("Location"))
        assert "Not found" in response.content.decode()
        post = client.post(f"/manage/people/{user_id}/", {"full_name": "Hijacked"})
        assert post.status_code == 404
        assert client.post(f"/manage/people/{user_id}/remove").status_code == 404
    assert User.objects.get(pk=tenant_b.agent.pk).full_name == "Globex Agent"
    assert User.all_objects.get(pk=tenant_b.agent.pk).deleted_at is None
