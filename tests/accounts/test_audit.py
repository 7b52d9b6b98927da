"""The security audit log and browser sessions are written as the acts happen, per tenant."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from deskbase.accounts import audit
from deskbase.accounts.models import AuditLog, UserSession
from deskbase.accounts.services import user_soft_delete, user_update
from deskbase.accounts.tokens import token_create, token_revoke
from deskbase.core.tenancy import tenant

pytestmark = pytest.mark.django_db


def sign_in(client: Client, password: str = "pw-for-tests-1", organization: str = "acme"):  # noqa: S107
    return client.post(
        "/api/v1/auth/login",
        {"organization": organization, "email": "agent@acme.test", "password": password},
        content_type="application/json", REMOTE_ADDR="10.0.0.7", HTTP_USER_AGENT="TestBrowser/1",
    )  # fmt: skip


def actions(world) -> list[str]:
    with tenant(world.org):
        return list(AuditLog.objects.order_by("id").values_list("action", flat=True))


def test_a_session_sign_in_is_logged_and_starts_a_session(tenant_a, tenant_b, app_role):
    assert sign_in(Client()).status_code == 200
    with tenant(tenant_a.org):
        entry = AuditLog.objects.get(action="signed_in")
        session = UserSession.objects.get(user_id=tenant_a.agent.id)
    assert (entry.actor_id, entry.subject_id, entry.address) == (
        tenant_a.agent.id, tenant_a.agent.id, "10.0.0.7",
    )  # fmt: skip
    assert (session.address, session.user_agent, session.ended_at) == (
        "10.0.0.7", "TestBrowser/1", None,
    )  # fmt: skip
    assert actions(tenant_b) == []  # the other tenant sees none of it


def test_failed_sign_ins_are_logged_under_the_named_organization(tenant_a, tenant_b, app_role):
    assert sign_in(Client(), "wrong").status_code == 401
    assert sign_in(Client(), "wrong", organization="nowhere").status_code == 401
    with tenant(tenant_a.org):
        entry = AuditLog.objects.get()
    assert entry.action == "sign_in_failed"
    assert entry.detail == {"email": "agent@acme.test"}
    assert actions(tenant_b) == []


def test_signing_out_is_logged_and_ends_the_session(tenant_a, app_role):
    client = Client()
    sign_in(client)
    assert client.post("/api/v1/auth/logout").status_code == 204
    assert actions(tenant_a) == ["signed_in", "signed_out"]
    with tenant(tenant_a.org):
        assert UserSession.objects.get().ended_at is not None


def test_last_seen_moves_at_most_once_a_minute(tenant_a, app_role):
    client = Client()
    sign_in(client)
    with tenant(tenant_a.org):
        started = UserSession.objects.get().last_seen_at
    client.get("/api/v1/me")
    with tenant(tenant_a.org):
        assert UserSession.objects.get().last_seen_at == started  # within the minute
    session = client.session
    session[audit.SESSION_SEEN] = (timezone.now() - timedelta(minutes=2)).isoformat()
    session.save()
    client.get("/api/v1/me")
    with tenant(tenant_a.org):
        assert UserSession.objects.get().last_seen_at > started


def test_tokens_role_changes_and_removals_are_logged(tenant_a, tenant_b, app_role):
    token, _ = token_create(organization=tenant_a.org, actor=tenant_a.agent, name="ci")
    token_revoke(organization=tenant_a.org, actor=tenant_a.agent, token_id=token.id)
    user_update(
        organization=tenant_a.org, actor=tenant_a.admin, user=tenant_a.agent, role="manager"
    )
    user_update(organization=tenant_a.org, actor=tenant_a.admin, user=tenant_a.agent, full_name="X")
    user_soft_delete(organization=tenant_a.org, actor=tenant_a.admin, user=tenant_a.customer)
    assert actions(tenant_a) == ["token_created", "token_revoked", "role_changed", "user_removed"]
    with tenant(tenant_a.org):
        change = AuditLog.objects.get(action="role_changed")
    assert (change.actor_id, change.subject_id) == (tenant_a.admin.id, tenant_a.agent.id)
    assert change.detail == {"old": "agent", "new": "manager"}
    assert actions(tenant_b) == []
