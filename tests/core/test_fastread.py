"""RowReader: the instances it makes are the ORM's, and it sees what the manager sees."""

from __future__ import annotations

import pytest

from deskbase.accounts.models import User
from deskbase.accounts.readers import USERS
from deskbase.core.tenancy import tenant

pytestmark = pytest.mark.django_db


def test_a_user_read_equals_the_orms(tenant_a, tenant_b, app_role):
    # Given an agent with skills (a JSON field: a converter applies)
    with tenant(tenant_a.org):
        User.objects.filter(pk=tenant_a.agent.pk).update(skills=["billing", "de"])
        # When it is read by primary key
        read = USERS.get(tenant_a.agent.pk)
        expected = User.objects.get(pk=tenant_a.agent.pk)
        # Then every field is the ORM's, and the instance behaves as one from the ORM
        assert read is not None
        for field in User._meta.concrete_fields:
            assert getattr(read, field.attname) == getattr(expected, field.attname), field.name
        assert read.skills == ["billing", "de"]
        assert not read._state.adding
        assert read._state.db == "default"
        assert read.organization_id == tenant_a.org.id


def test_deleted_and_other_tenants_users_are_not_found(tenant_a, tenant_b, app_role):
    with tenant(tenant_a.org):
        User.all_objects.filter(pk=tenant_a.customer.pk).update(deleted_at="2026-01-01T00:00Z")
        # A deleted user: not found, as User.objects would not find it
        assert USERS.get(tenant_a.customer.pk) is None
        assert not User.objects.filter(pk=tenant_a.customer.pk).exists()
        # Another tenant's user: row-level security hides it
        assert USERS.get(tenant_b.agent.pk) is None
        assert USERS.get(-1) is None
