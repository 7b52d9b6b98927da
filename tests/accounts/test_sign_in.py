"""Signing in names the organization; the session then carries the tenant."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def sign_in(client, organization: str, email: str, password: str = "pw-for-tests-1"):  # noqa: S107
    response = client.post(
        "/login/", {"organization": organization, "username": email, "password": password}
    )
    # Each request of a real server is its own transaction; in a test they share the
    # test's, so forget the tenant the sign-in set, as a new transaction would.
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('deskbase.org_id', '', true)")
    return response


def test_a_user_signs_in_to_their_organization(client, tenant_a, tenant_b, app_role):
    response = sign_in(client, "acme", "agent@acme.test")
    assert response.status_code == 302
    home = client.get("/")
    assert home.status_code == 200
    assert b"Acme" in home.content
    assert b"Globex" not in home.content


def test_the_wrong_organization_or_password_is_refused_alike(client, tenant_a, tenant_b, app_role):
    for organization, email, password in (
        ("globex", "agent@acme.test", "pw-for-tests-1"),  # exists, but in another tenant
        ("acme", "agent@acme.test", "wrong"),
        ("nowhere", "agent@acme.test", "pw-for-tests-1"),
    ):
        response = sign_in(client, organization, email, password)
        assert response.status_code == 200
        assert b"did not match" in response.content
        assert client.get("/").status_code == 302  # still signed out


def test_the_same_email_in_two_organizations_signs_in_to_the_named_one(
    client, tenant_a, tenant_b, app_role
):
    from deskbase.accounts.services import user_create

    for world in (tenant_a, tenant_b):
        user_create(organization=world.org, actor=None, email="pat@example.test",
                    password="pat-password-1", full_name=f"Pat of {world.org.name}")  # fmt: skip
    sign_in(client, "globex", "pat@example.test", "pat-password-1")
    assert b"Pat of Globex" in client.get("/").content
