"""Signing in through the API, tokens, and throttled guessing."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.api.helpers import ApiClient

pytestmark = pytest.mark.django_db


def sign_in(client: Client, password: str, organization: str = "acme", address="10.0.0.1"):
    return client.post(
        "/api/v1/auth/login",
        {"organization": organization, "email": "agent@acme.test", "password": password},
        content_type="application/json",
        REMOTE_ADDR=address,
    )


def test_session_sign_in_and_who_am_i(tenant_a, tenant_b, app_role):
    client = Client()
    response = sign_in(client, "pw-for-tests-1")
    assert response.status_code == 200
    assert response.json()["organization_id"] == tenant_a.org.id
    assert client.get("/api/v1/me").json()["email"] == "agent@acme.test"


def test_repeated_failures_are_throttled_per_account_with_retry_after(tenant_a, app_role):
    client = Client()
    for _ in range(5):
        assert sign_in(client, "wrong").status_code == 401
    # Now even the right password is refused for a while, and the answer says how long
    blocked = sign_in(client, "pw-for-tests-1")
    assert blocked.status_code == 429
    assert int(blocked["Retry-After"]) > 0
    assert "Too many failed sign-ins" in blocked.json()["detail"]


def test_one_address_guessing_many_accounts_is_throttled(tenant_a, app_role):
    client = Client()
    for i in range(20):
        response = client.post(
            "/api/v1/auth/login",
            {"organization": "acme", "email": f"nobody{i}@acme.test", "password": "x"},
            content_type="application/json",
            REMOTE_ADDR="10.9.9.9",
        )
        assert response.status_code == 401
    assert sign_in(Client(), "pw-for-tests-1", address="10.9.9.9").status_code == 429
    assert sign_in(Client(), "pw-for-tests-1", address="10.1.1.1").status_code == 200


def test_the_web_form_is_throttled_too(client, tenant_a, app_role):
    form = {"organization": "acme", "username": "agent@acme.test"}
    for _ in range(5):
        client.post("/login/", {**form, "password": "wrong"}, REMOTE_ADDR="10.0.0.2")
    page = client.post("/login/", {**form, "password": "pw-for-tests-1"}, REMOTE_ADDR="10.0.0.2")
    assert page.status_code == 200
    assert b"Too many failed sign-ins" in page.content


def test_tokens_are_listed_revoked_and_stored_hashed(tenant_a, app_role):
    api = ApiClient(tenant_a.agent)
    created = api.post("/tokens", {"name": "laptop"})
    assert created.status_code == 201
    plain = created.json()["token"]
    assert plain.startswith(f"dsk_{tenant_a.org.id}_")
    from deskbase.accounts.models import ApiToken
    from deskbase.core.tenancy import tenant

    with tenant(tenant_a.org):
        stored = ApiToken.objects.get(pk=created.json()["id"])
    assert plain not in (stored.token_hash, stored.prefix)
    names = [t["name"] for t in api.get("/tokens").json()]
    assert names == ["laptop", "tests"]
    assert api.delete(f"/tokens/{created.json()['id']}").status_code == 204
    revoked = Client().get("/api/v1/me", headers={"Authorization": f"Bearer {plain}"})
    assert revoked.status_code == 401


def test_a_token_cannot_be_moved_to_another_tenant(tenant_a, tenant_b, app_role):
    api = ApiClient(tenant_a.agent)
    secret = api.token.split("_", 2)[2]
    forged = f"dsk_{tenant_b.org.id}_{secret}"
    assert (
        Client().get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    )


def test_spec_and_docs_are_served(client):
    spec = client.get("/api/openapi.json")
    assert spec.status_code == 200
    assert "/api/v1/tickets" in spec.json()["paths"]
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()  # assets are served locally
