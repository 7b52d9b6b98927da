"""Passkeys (WebAuthn) as a second factor, with a software authenticator made in the test."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from deskbase.accounts.models import AuditLog, Passkey
from deskbase.core.tenancy import tenant
from tests.accounts.test_two_factor import forget_tenant, get, password_step
from tests.accounts.webauthn_authenticator import SoftAuthenticator

pytestmark = pytest.mark.django_db
ORIGIN = "http://testserver"  # the test client's scheme and host


def post_json(client: Client, path: str, body: dict | None = None):
    response = client.post(path, json.dumps(body or {}), content_type="application/json")
    forget_tenant()
    return response


def register(email: str = "agent@acme.test", organization: str = "acme") -> SoftAuthenticator:
    """Sign in with the password, add a passkey from the security page, sign out."""
    client = Client()
    password_step(client, organization, email)
    options = post_json(client, "/account/security/passkey-options").json()
    authenticator = SoftAuthenticator()
    added = post_json(client, "/account/security/passkey-add", {
        "name": "Laptop", "credential": authenticator.create(options, ORIGIN),
    })  # fmt: skip
    assert added.status_code == 200, added.content
    assert len(added.json()["codes"]) == 10
    return authenticator


def second_step(email: str = "agent@acme.test", organization: str = "acme"):
    client = Client()
    assert password_step(client, organization, email)["Location"] == "/login/verify/"
    options = get(client, "/login/verify/passkey").json()
    return client, options


def test_a_passkey_is_registered_and_signs_in(tenant_a, tenant_b, app_role):
    authenticator = register()
    with tenant(tenant_a.org):
        key = Passkey.objects.get(user_id=tenant_a.agent.id)
        assert AuditLog.objects.filter(action="passkey_added").count() == 1
    assert (key.name, bytes(key.credential_id)) == ("Laptop", authenticator.credential_id)
    client, options = second_step()
    assert options["rpId"] == "testserver"
    answer = post_json(client, "/login/verify/passkey",
                       {"credential": authenticator.get(options, ORIGIN)})  # fmt: skip
    assert answer.status_code == 200, answer.content
    assert answer.json() == {"redirect": "/"}
    assert get(client, "/desk/").status_code == 200
    with tenant(tenant_a.org):
        assert Passkey.objects.get(pk=key.pk).sign_count == 1
    with tenant(tenant_b.org):
        assert not Passkey.objects.exists()


def test_a_replayed_assertion_is_refused(tenant_a, app_role):
    authenticator = register()
    client, options = second_step()
    assertion = authenticator.get(options, ORIGIN)
    assert post_json(client, "/login/verify/passkey", {"credential": assertion}).status_code == 200
    # the same answer again: to a new sign-in (another challenge), and twice to one
    again, _ = second_step()
    assert post_json(again, "/login/verify/passkey", {"credential": assertion}).status_code == 422
    assert post_json(again, "/login/verify/passkey", {"credential": assertion}).status_code == 422
    assert get(again, "/desk/").status_code == 302


def test_another_origin_an_unknown_key_and_a_cloned_key_are_refused(tenant_a, app_role):
    authenticator = register()
    clone = authenticator.clone()
    for answer in (
        lambda options: authenticator.get(options, "http://evil.test"),
        lambda options: SoftAuthenticator().get(options, ORIGIN),
    ):
        client, options = second_step()
        refused = post_json(client, "/login/verify/passkey", {"credential": answer(options)})
        assert refused.status_code == 422
        assert get(client, "/desk/").status_code == 302
    client, options = second_step()
    first = post_json(client, "/login/verify/passkey",
                      {"credential": authenticator.get(options, ORIGIN)})  # fmt: skip
    assert first.status_code == 200
    # the clone's counter has not moved past the original's: a copied key
    client, options = second_step()
    copied = post_json(client, "/login/verify/passkey", {"credential": clone.get(options, ORIGIN)})
    assert copied.status_code == 422


def test_another_tenants_person_cannot_use_the_passkey(tenant_a, tenant_b, app_role):
    authenticator = register()
    register("agent@globex.test", "globex")
    client, options = second_step("agent@globex.test", "globex")
    answer = post_json(client, "/login/verify/passkey",
                       {"credential": authenticator.get(options, ORIGIN)})  # fmt: skip
    assert answer.status_code == 422
    assert get(client, "/desk/").status_code == 302
