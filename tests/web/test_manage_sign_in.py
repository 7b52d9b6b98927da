"""/manage/sign-in/: the organization's sign-in rules and single sign-on, admins only."""

from __future__ import annotations

import pytest

from deskbase.accounts import oidc
from deskbase.core.tenancy import tenant
from deskbase.organizations.models import Organization
from tests.web.helpers import signed_in

pytestmark = pytest.mark.django_db
URL = "/manage/sign-in/"


def rules(world) -> tuple:
    with tenant(world.org):
        org = Organization.objects.get(pk=world.org.id)
    return org.require_staff_two_factor, org.session_idle_minutes, org.session_max_hours


def test_an_admin_sets_the_rules_of_their_organization_only(tenant_a, tenant_b):
    response = signed_in(tenant_a.admin).post(URL, {
        "form": "rules", "require_staff_two_factor": "on", "session_idle_minutes": "30",
        "session_max_hours": "",
    })  # fmt: skip
    assert response.status_code == 302
    assert rules(tenant_a) == (True, 30, None)
    assert rules(tenant_b) == (False, None, None)


def test_out_of_range_timeouts_are_refused_naming_the_field(tenant_a):
    client = signed_in(tenant_a.admin)
    for field, value in (("session_idle_minutes", "1"), ("session_max_hours", "99999"),
                         ("session_idle_minutes", "soon")):  # fmt: skip
        response = client.post(URL, {"form": "rules", field: value}, follow=True)
        assert field.replace("_", " ") in response.content.decode()
    assert rules(tenant_a) == (False, None, None)


def test_managers_read_and_cannot_change_customers_cannot_see(tenant_a):
    manager = signed_in(tenant_a.manager)
    assert manager.get(URL).status_code == 200
    assert manager.post(URL, {"form": "rules", "session_idle_minutes": "30"}).status_code == 403
    assert rules(tenant_a) == (False, None, None)
    assert signed_in(tenant_a.customer).get(URL).status_code == 403
    assert signed_in(tenant_a.agent).get(URL).status_code == 403


def test_an_admin_configures_single_sign_on_and_the_secret_stays_hidden(tenant_a, tenant_b):
    client = signed_in(tenant_a.admin)
    response = client.post(URL, {
        "form": "sso", "enabled": "on", "issuer": "https://login.acme.test/",
        "client_id": "desk", "client_secret": "very-secret",
        "allowed_domains": "acme.test, Acme.io", "role_claim": "groups",
        "role_map": "support=agent\nleads=manager", "default_role": "customer",
    })  # fmt: skip
    assert response.status_code == 302
    provider = oidc.provider_of(tenant_a.org.id)
    assert provider is not None
    assert (provider.issuer, provider.allowed_domains, provider.role_map) == (
        "https://login.acme.test", ["acme.io", "acme.test"],
        {"support": "agent", "leads": "manager"},
    )  # fmt: skip
    assert "very-secret" not in provider.client_secret
    page = client.get(URL).content.decode()
    assert "very-secret" not in page
    assert "login.acme.test" in page
    assert oidc.provider_of(tenant_b.org.id) is None
    assert "login.acme.test" not in signed_in(tenant_b.admin).get(URL).content.decode()
