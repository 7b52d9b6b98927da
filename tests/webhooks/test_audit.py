"""Who added, changed, rotated or removed a webhook endpoint, and when the failures of
its receiver disabled it, is in the organization's audit log (and only in its own)."""

from __future__ import annotations

import pytest

from deskbase.accounts.models import AuditLog
from deskbase.core.tenancy import tenant
from deskbase.outbox import delivery
from deskbase.tickets import services as tickets
from deskbase.webhooks import services
from tests.webhooks.conftest import make_endpoint

pytestmark = pytest.mark.django_db


def audit_rows(world) -> list[AuditLog]:
    with tenant(world.org):
        return list(
            AuditLog.objects.filter(
                organization_id=world.org.id, action__startswith="webhook_"
            ).order_by("created_at", "id")
        )


def test_each_change_of_an_endpoint_is_audited_with_its_actor(
    tenant_a, tenant_b, receiver, app_role
):
    # Given an admin of A who adds, edits, rotates and removes an endpoint
    endpoint, _secret = make_endpoint(tenant_a, receiver.url(), ["ticket.created"])
    services.endpoint_update(organization=tenant_a.org, actor=tenant_a.admin,
                             endpoint_id=endpoint.pk, event_types=["*"], enabled=False)  # fmt: skip
    services.endpoint_rotate_secret(organization=tenant_a.org, actor=tenant_a.admin,
                                    endpoint_id=endpoint.pk, keep_previous_hours=0)  # fmt: skip
    services.endpoint_delete(organization=tenant_a.org, actor=tenant_a.admin,
                             endpoint_id=endpoint.pk)  # fmt: skip
    # Then A's audit log names each act, its actor and the endpoint
    rows = audit_rows(tenant_a)
    assert [row.action for row in rows] == [
        "webhook_created", "webhook_changed", "webhook_secret_rotated", "webhook_deleted",
    ]  # fmt: skip
    assert {row.actor_id for row in rows} == {tenant_a.admin.id}
    assert {row.detail["url"] for row in rows} == {receiver.url()}
    assert {row.detail["endpoint"] for row in rows} == {endpoint.pk}
    assert rows[1].detail["event_types"] == ["*"]
    assert rows[1].detail["enabled"] is False
    # And B's audit log shows none of it
    assert audit_rows(tenant_b) == []


def test_an_endpoint_disabled_by_a_410_is_audited_without_an_actor(tenant_a, tenant_b, receiver):
    # Given an endpoint whose receiver answers 410 Gone
    make_endpoint(tenant_a, receiver.url(), ["ticket.created"])
    receiver.default = (410, b"gone", {})
    # When an event is delivered to it
    tickets.ticket_create(organization=tenant_a.org, actor=tenant_a.agent, subject="Gone",
                          customer=tenant_a.customer)  # fmt: skip
    delivery.drain()
    # Then the audit log says the endpoint was disabled, why, and by nobody
    disabled = [row for row in audit_rows(tenant_a) if row.action == "webhook_disabled"]
    assert len(disabled) == 1
    assert disabled[0].actor_id is None
    assert "410" in disabled[0].detail["reason"]
    assert audit_rows(tenant_b) == []
