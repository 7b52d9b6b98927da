"""The Django admin is not offered on the web: it bypassed the services' rules (shared
tables such as auth_group across tenants, the organization's slug and tier, other agents'
personal canned responses). Tenants administer in /manage/, which follows the services;
platform operators use the `deskbase` command."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import Client

from deskbase.accounts.models import User
from deskbase.organizations.models import Organization
from deskbase.tickets import canned
from deskbase.tickets.models import CannedResponse
from tests.web.helpers import signed_in


def admin_urls(*ids: int) -> list[str]:
    """Every page the Django admin had: index, each changelist, add and change page."""
    urls = ["/admin/", "/admin/login/", "/admin/logout/", "/admin/password_change/"]
    for model in admin.site._registry:
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        urls += [base, f"{base}add/", *(f"{base}{pk}/change/" for pk in ids)]
    return urls


def tenant_admin(world) -> Client:
    """An organization's admin with the Django flags the demo admin had."""
    User.objects.filter(pk=world.admin.pk).update(is_staff=True, is_superuser=True)
    return signed_in(User.objects.get(pk=world.admin.pk))


def test_no_admin_page_answers_a_tenant_admin_and_none_fails(tenant_a, tenant_b):
    client = tenant_admin(tenant_a)
    urls = admin_urls(tenant_a.org.id, tenant_b.org.id, tenant_a.agent.id)
    assert any("/auth/group/" in url for url in urls)  # the crawl covers the shared tables
    assert any("/procrastinate/" in url for url in urls)
    for url in urls:
        response = client.get(url)
        assert response.status_code == 404, (url, response.status_code)
        assert "Not found" in response.content.decode()
    for url in admin_urls(tenant_a.org.id):
        assert Client().get(url).status_code == 404, url  # nor anyone signed out


def test_a_tenant_admin_cannot_create_or_change_shared_groups(tenant_a, tenant_b):
    group = Group.objects.create(name="platform")
    client = tenant_admin(tenant_a)
    assert client.post("/admin/auth/group/add/", {"name": "acme-made"}).status_code == 404
    response = client.post(f"/admin/auth/group/{group.id}/change/", {"name": "renamed"})
    assert response.status_code == 404
    assert list(Group.objects.values_list("name", flat=True)) == ["platform"]


def test_a_tenant_admin_changes_neither_their_slug_and_tier_nor_another_org(tenant_a, tenant_b):
    client = tenant_admin(tenant_a)
    for org in (tenant_a.org, tenant_b.org):
        changed = {"name": "Mine now", "slug": "taken", "tier": "enterprise"}
        assert client.post(f"/admin/organizations/organization/{org.id}/change/",
                           changed).status_code == 404  # fmt: skip
    assert client.post("/admin/organizations/organization/add/",
                       {"name": "New", "slug": "new"}).status_code == 404  # fmt: skip
    # The product's own page changes the settings, never the slug or the tier.
    hours = {f"hours_{day}": "09:00-17:00" for day in ("mon", "tue", "wed", "thu", "fri")}
    client.post("/manage/organization/", {"name": "Acme 2", "timezone": "UTC", **hours,
                                          "slug": "taken", "tier": "enterprise"})  # fmt: skip
    mine = Organization.objects.get(pk=tenant_a.org.pk)
    assert (mine.name, mine.slug, mine.tier) == ("Acme 2", "acme", tenant_a.org.tier)
    theirs = Organization.objects.get(pk=tenant_b.org.pk)
    assert (theirs.name, theirs.slug) == ("Globex", "globex")
    assert not Organization.objects.filter(slug="new").exists()


def test_a_tenant_admin_sees_no_other_agents_personal_canned_responses(tenant_a, tenant_b):
    personal = canned.canned_response_create(
        organization=tenant_a.org, actor=tenant_a.agent, name="Agent's own", body="psst",
        personal=True,
    )  # fmt: skip
    theirs = canned.canned_response_create(
        organization=tenant_b.org, actor=tenant_b.admin, name="Globex shared", body="hi",
        personal=False,
    )  # fmt: skip
    client = tenant_admin(tenant_a)
    for row in (personal, theirs):
        url = f"/admin/tickets/cannedresponse/{row.id}/change/"
        assert client.get(url).status_code == 404
        assert client.get(f"/manage/canned/{row.id}/").status_code == 404
    listing = client.get("/manage/canned/").content.decode()
    assert "Agent&#x27;s own" not in listing
    assert "Agent's own" not in listing
    assert "Globex shared" not in listing
    assert CannedResponse.objects.get(pk=personal.pk).body == "psst"
