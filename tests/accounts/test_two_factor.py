"""Two-factor sign-in with an authenticator app (real TOTP codes) and recovery codes."""

from __future__ import annotations

import time

import pyotp
import pytest
from django.db import connection
from django.test import Client

from deskbase.accounts import two_factor
from deskbase.accounts.models import AuditLog, RecoveryCode, TotpDevice
from deskbase.accounts.tokens import token_create
from deskbase.core.errors import PermissionDenied, ValidationFailed
from deskbase.core.tenancy import tenant

pytestmark = pytest.mark.django_db
PASSWORD = "pw-for-tests-1"


def forget_tenant() -> None:
    # Each request of a real server is its own transaction; in a test they share the
    # test's, so forget the tenant a request set, as a new transaction would.
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('deskbase.org_id', '', true)")
    connection.forget_tenant()


def post(client: Client, path: str, data: dict, **extra):
    response = client.post(path, data, **extra)
    forget_tenant()
    return response


def get(client: Client, path: str):
    response = client.get(path)
    forget_tenant()
    return response


def wrong_code(secret: str) -> str:
    """Six digits that no step near now produces: certainly not valid."""
    totp = pyotp.TOTP(secret)
    step = int(time.time()) // 30
    near = {totp.generate_otp(s) for s in range(step - 3, step + 4)}
    return next(c for c in (f"{n:06d}" for n in range(1000)) if c not in near)


def enrol(world, person=None) -> tuple[str, list[str]]:
    """Turn two-factor sign-in on for a person; returns the secret and the recovery codes."""
    person = person or world.agent
    secret = two_factor.totp_begin(organization=world.org, actor=person)
    codes = two_factor.totp_confirm(
        organization=world.org, actor=person, code=pyotp.TOTP(secret).now()
    )
    forget_tenant()
    return secret, codes


def password_step(client: Client, organization: str = "acme", email: str = "agent@acme.test"):
    return post(
        client, "/login/", {"organization": organization, "username": email, "password": PASSWORD}
    )


def test_the_secret_is_stored_encrypted_and_confirmed_by_a_real_code(tenant_a, app_role):
    secret, codes = enrol(tenant_a)
    with tenant(tenant_a.org):
        device = TotpDevice.objects.get(user_id=tenant_a.agent.id)
        stored = list(RecoveryCode.objects.filter(user_id=tenant_a.agent.id))
    assert secret not in device.secret  # encrypted at rest
    assert device.confirmed_at is not None
    assert len(codes) == len(stored) == 10
    assert not any(code in {r.code_hash for r in stored} for code in codes)  # digests only


def test_a_wrong_first_code_turns_nothing_on(tenant_a, app_role):
    secret = two_factor.totp_begin(organization=tenant_a.org, actor=tenant_a.agent)
    with pytest.raises(ValidationFailed) as refused:
        two_factor.totp_confirm(
            organization=tenant_a.org, actor=tenant_a.agent, code=wrong_code(secret)
        )
    assert "code" in refused.value.errors
    with tenant(tenant_a.org):
        assert not two_factor.has_two_factor(tenant_a.agent)


def test_signing_in_takes_a_current_code_after_the_password(tenant_a, tenant_b, app_role):
    secret, _ = enrol(tenant_a)
    client = Client()
    response = password_step(client)
    assert response.status_code == 302
    assert response["Location"] == "/login/verify/"
    assert get(client, "/desk/").status_code == 302  # not signed in by the password alone
    # the code of the next step: the one of now was used up by the set-up
    code = pyotp.TOTP(secret).at(time.time() + 30)
    assert post(client, "/login/verify/", {"code": code}).status_code == 302
    assert get(client, "/desk/").status_code == 200


def test_a_replayed_code_is_refused(tenant_a, app_role):
    secret, _ = enrol(tenant_a)
    code = pyotp.TOTP(secret).at(time.time() + 30)
    first = Client()
    password_step(first)
    assert post(first, "/login/verify/", {"code": code}).status_code == 302
    second = Client()
    password_step(second)
    response = post(second, "/login/verify/", {"code": code})
    assert response.status_code == 422
    assert b"not valid" in response.content
    assert get(second, "/desk/").status_code == 302
    with tenant(tenant_a.org):
        assert AuditLog.objects.filter(action="two_factor_failed").count() == 1


def test_a_wrong_code_is_refused_and_five_end_the_attempt(tenant_a, app_role):
    secret, _ = enrol(tenant_a)
    client = Client()
    password_step(client)
    for _ in range(4):
        assert post(client, "/login/verify/", {"code": wrong_code(secret)}).status_code == 422
    response = post(client, "/login/verify/", {"code": wrong_code(secret)})
    assert response["Location"] == "/login/"
    # even the right code now needs the password again
    late = post(client, "/login/verify/", {"code": pyotp.TOTP(secret).at(time.time() + 30)})
    assert late["Location"] == "/login/"
    assert get(client, "/desk/").status_code == 302
    # and the wrong codes counted as failed sign-ins: the password step is throttled now
    again = password_step(Client())
    assert again.status_code == 200
    assert b"/login/verify/" not in again.content


def test_a_recovery_code_signs_in_once(tenant_a, app_role):
    _, codes = enrol(tenant_a)
    client = Client()
    password_step(client)
    assert post(client, "/login/verify/", {"code": codes[0].upper()}).status_code == 302
    again = Client()
    password_step(again)
    assert post(again, "/login/verify/", {"code": codes[0]}).status_code == 422
    with tenant(tenant_a.org):
        assert two_factor.recovery_codes_left(tenant_a.agent) == 9
        assert AuditLog.objects.filter(action="recovery_code_used").count() == 1


def test_the_api_session_sign_in_asks_for_the_code_but_tokens_are_unaffected(tenant_a, app_role):
    secret, _ = enrol(tenant_a)
    with tenant(tenant_a.org):
        _, token = token_create(organization=tenant_a.org, actor=tenant_a.agent, name="ci")
    forget_tenant()
    body = {"organization": "acme", "email": "agent@acme.test", "password": PASSWORD}
    refused = post(Client(), "/api/v1/auth/login", body, content_type="application/json")
    assert refused.status_code == 401
    assert refused["Content-Type"] == "application/problem+json"
    assert "code" in refused.json()["detail"]
    code = pyotp.TOTP(secret).at(time.time() + 30)
    ok = post(Client(), "/api/v1/auth/login", {**body, "code": code},
              content_type="application/json")  # fmt: skip
    assert ok.status_code == 200
    me = Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert me.status_code == 200


def test_staff_of_an_organization_that_requires_it_are_sent_to_enrol(tenant_a, tenant_b, app_role):
    with tenant(tenant_a.org):
        tenant_a.org.require_staff_two_factor = True
        tenant_a.org.save(update_fields=["require_staff_two_factor"])
    forget_tenant()
    client = Client()
    response = password_step(client)
    assert response["Location"] == "/account/security/two-factor"
    assert get(client, "/desk/")["Location"] == "/account/security/two-factor"
    page = get(client, "/account/security/two-factor")
    assert page.status_code == 200
    assert b"<svg" in page.content
    secret = page.content.split(b'id="totp-secret">')[1].split(b"<")[0].decode()
    done = post(client, "/account/security/two-factor", {"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200
    assert b"recovery-codes" in done.content
    assert get(client, "/desk/").status_code == 200
    # customers are not asked; another organization's staff neither
    assert password_step(Client(), email="customer@acme.test")["Location"] == "/"
    assert password_step(Client(), "globex", "agent@globex.test")["Location"] == "/"


def test_an_admin_reset_is_audited_and_ends_the_persons_sessions(tenant_a, tenant_b, app_role):
    secret, _ = enrol(tenant_a)
    client = Client()
    password_step(client)
    post(client, "/login/verify/", {"code": pyotp.TOTP(secret).at(time.time() + 30)})
    assert get(client, "/desk/").status_code == 200
    admin = Client()
    password_step(admin, email="admin@acme.test")
    response = post(admin, f"/manage/people/{tenant_a.agent.id}/two-factor-reset", {})
    assert response.status_code == 302
    with tenant(tenant_a.org):
        assert not two_factor.has_two_factor(tenant_a.agent)
        entry = AuditLog.objects.get(action="two_factor_reset")
    assert (entry.actor_id, entry.subject_id) == (tenant_a.admin.id, tenant_a.agent.id)
    assert get(client, "/desk/").status_code == 302  # the lost phone's session is over
    # another organization's admin cannot reach this person: a 404, nothing changes
    enrol(tenant_a)
    other = Client()
    password_step(other, "globex", "admin@globex.test")
    assert (
        post(other, f"/manage/people/{tenant_a.agent.id}/two-factor-reset", {}).status_code == 404
    )
    with tenant(tenant_a.org):
        assert two_factor.has_two_factor(tenant_a.agent)


def test_agents_cannot_reset_and_managers_not_admins(tenant_a, app_role):
    enrol(tenant_a, tenant_a.admin)
    with pytest.raises(PermissionDenied):
        two_factor.two_factor_reset(
            organization=tenant_a.org, actor=tenant_a.agent, user=tenant_a.admin
        )
    with pytest.raises(PermissionDenied):
        two_factor.two_factor_reset(
            organization=tenant_a.org, actor=tenant_a.manager, user=tenant_a.admin
        )


def test_turning_it_off_needs_a_code(tenant_a, app_role):
    secret, _ = enrol(tenant_a)
    with pytest.raises(ValidationFailed):
        two_factor.two_factor_disable(
            organization=tenant_a.org, actor=tenant_a.agent, code=wrong_code(secret)
        )
    two_factor.two_factor_disable(
        organization=tenant_a.org, actor=tenant_a.agent,
        code=pyotp.TOTP(secret).at(time.time() + 30),
    )  # fmt: skip
    with tenant(tenant_a.org):
        assert not two_factor.has_two_factor(tenant_a.agent)
