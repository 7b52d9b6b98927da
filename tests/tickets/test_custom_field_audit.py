"""Defining, changing and archiving a custom field (of tickets or of companies) is in
the audit log: who, which field, before → after; each organization sees only its own."""

from __future__ import annotations

import pytest

from deskbase.accounts.models import AuditAction, AuditLog
from deskbase.core.errors import ValidationFailed
from deskbase.tickets import customfields
from tests.web.helpers import signed_in

pytestmark = pytest.mark.django_db


def _entries(world) -> list[AuditLog]:
    return list(
        AuditLog.objects.filter(organization_id=world.org.id, action__startswith="custom_field")
        .order_by("id")
    )  # fmt: skip


def test_a_field_defined_changed_and_archived_is_audited(tenant_a, tenant_b):
    # Given a manager of A who defines a ticket field
    field = customfields.custom_field_create(
        organization=tenant_a.org, actor=tenant_a.manager, key="plan", label="Plan",
        field_type="select", options=["free", "pro"],
    )  # fmt: skip
    # When they change its label and options, then archive it
    customfields.custom_field_update(organization=tenant_a.org, actor=tenant_a.manager,
                                     field=field, label="Plan tier",
                                     options=["free", "pro", "enterprise"])  # fmt: skip
    customfields.custom_field_update(organization=tenant_a.org, actor=tenant_a.manager,
                                     field=field, archived=True)  # fmt: skip
    # Then three entries name who, which field and what changed
    created, changed, archived = _entries(tenant_a)
    assert created.action == AuditAction.CUSTOM_FIELD_CREATED
    assert created.actor_id == tenant_a.manager.id
    assert created.detail == {"applies_to": "ticket", "key": "plan", "label": "Plan",
                              "field_type": "select", "options": ["free", "pro"],
                              "position": 0}  # fmt: skip
    assert changed.action == AuditAction.CUSTOM_FIELD_CHANGED
    assert changed.detail == {
        "applies_to": "ticket", "key": "plan", "label": ["Plan", "Plan tier"],
        "options": [["free", "pro"], ["free", "pro", "enterprise"]],
    }  # fmt: skip
    assert archived.action == AuditAction.CUSTOM_FIELD_ARCHIVED
    assert archived.detail == {"applies_to": "ticket", "key": "plan", "label": "Plan tier"}
    # and B's log has none of them
    assert _entries(tenant_b) == []


def test_a_company_field_and_a_restore_are_audited_and_no_op_is_not(tenant_a):
    field = customfields.custom_field_create(
        organization=tenant_a.org, actor=tenant_a.admin, key="tier", label="Tier",
        field_type="text", applies_to="company",
    )  # fmt: skip
    customfields.custom_field_update(organization=tenant_a.org, actor=tenant_a.admin,
                                     field=field, archived=True)  # fmt: skip
    customfields.custom_field_update(organization=tenant_a.org, actor=tenant_a.admin,
                                     field=field, archived=False)  # fmt: skip
    # Saving the same label again changes nothing, and is not logged
    customfields.custom_field_update(organization=tenant_a.org, actor=tenant_a.admin,
                                     field=field, label="Tier")  # fmt: skip
    entries = _entries(tenant_a)
    assert [e.action for e in entries] == [
        AuditAction.CUSTOM_FIELD_CREATED, AuditAction.CUSTOM_FIELD_ARCHIVED,
        AuditAction.CUSTOM_FIELD_CHANGED,
    ]  # fmt: skip
    assert entries[0].detail["applies_to"] == "company"
    assert entries[2].detail == {"applies_to": "company", "key": "tier",
                                 "archived": [True, False]}  # fmt: skip


def test_a_refused_definition_leaves_no_entry(tenant_a):
    with pytest.raises(ValidationFailed):
        customfields.custom_field_create(organization=tenant_a.org, actor=tenant_a.admin,
                                         key="Bad Key", label="Bad", field_type="text")  # fmt: skip
    assert _entries(tenant_a) == []


def test_the_audit_page_shows_them_to_their_own_organization_only(tenant_a, tenant_b):
    # Given a field defined in A and one in B
    for world, key, label in ((tenant_a, "order", "Order number"),
                              (tenant_b, "contract", "Contract id")):  # fmt: skip
        customfields.custom_field_create(organization=world.org, actor=world.admin, key=key,
                                         label=label, field_type="text")  # fmt: skip
    # When each admin opens the audit log
    page_a = signed_in(tenant_a.admin).get("/manage/audit/").content.decode()
    page_b = signed_in(tenant_b.admin).get("/manage/audit/").content.decode()
    # Then each sees its own definition, with who and what, never the other's
    assert "Custom field defined" in page_a
    assert "Order number" in page_a
    assert "admin@acme.test" in page_a
    assert "Contract id" not in page_a
    assert "Contract id" in page_b
    assert "Order number" not in page_b
    # and the action is one of the log's filters
    filtered = signed_in(tenant_a.admin).get("/manage/audit/?action=custom_field_created")
    assert "Order number" in filtered.content.decode()
