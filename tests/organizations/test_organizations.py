"""Organizations: unique slugs, valid calendars; soft delete of people and comments."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from deskbase.accounts import services as people
from deskbase.accounts.models import User
from deskbase.core.errors import Conflict, ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.organizations.services import organization_create
from deskbase.tickets import services
from deskbase.tickets.models import TicketComment
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db


def insert_org(slug: str, **columns: str) -> None:
    values = {"timezone": "UTC", "tier": "free", **columns}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO organizations_organization (slug, name, tier, settings, timezone,"
            " business_hours, delete_reason) VALUES (%s, 'X', %s, '{}', %s, '{}', '')",
            [slug, values["tier"], values["timezone"]],
        )


def test_slugs_are_unique_in_the_database_and_in_the_service():
    organization_create(slug="acme", name="Acme")
    with pytest.raises(IntegrityError, match="organizations_organization_slug"):
        insert_org("acme")
    with pytest.raises(ValidationFailed) as error:
        organization_create(slug="ACME", name="Acme again")
    assert error.value.field == "slug"


@pytest.mark.parametrize(
    ("column", "value", "constraint", "field"),
    [
        ("tier", "platinum", "organizations_organization_tier_valid", "tier"),
        ("timezone", "Mars/Olympus", "unknown time zone", "timezone"),
    ],
)
def test_tier_and_timezone_are_checked_twice(column, value, constraint, field):
    with pytest.raises(IntegrityError, match=constraint):
        insert_org("x1", **{column: value})
    with pytest.raises(ValidationFailed) as error:
        organization_create(slug="x2", name="X", **{column: value})
    assert error.value.field == field


def test_business_hours_must_be_well_formed():
    with pytest.raises(ValidationFailed) as error:
        organization_create(slug="x", name="X", business_hours={"mon": [["17:00", "09:00"]]})
    assert error.value.field == "business_hours"


def test_people_are_soft_deleted_and_restored(tenant_a, app_role):
    people.user_soft_delete(organization=tenant_a.org, actor=tenant_a.admin,
                            user=tenant_a.customer, reason="left")  # fmt: skip
    with tenant(tenant_a.org):
        assert not User.objects.filter(pk=tenant_a.customer.pk).exists()
        gone = User.all_objects.get(pk=tenant_a.customer.pk)
    assert (gone.is_active, gone.delete_reason) == (False, "left")
    with pytest.raises(Conflict):
        people.user_soft_delete(organization=tenant_a.org, actor=tenant_a.admin,
                                user=tenant_a.customer)  # fmt: skip
    people.user_restore(organization=tenant_a.org, actor=tenant_a.admin, user=tenant_a.customer)
    with tenant(tenant_a.org):
        assert User.objects.get(pk=tenant_a.customer.pk).is_active


def test_comments_are_soft_deleted_and_hidden_from_the_conversation(tenant_a, app_role):
    ticket = open_ticket(tenant_a)
    comment = services.comment_add(organization=tenant_a.org, actor=tenant_a.customer,
                                   ticket=ticket, body="oops, my password is hunter2")  # fmt: skip
    services.comment_soft_delete(organization=tenant_a.org, actor=tenant_a.customer,
                                 comment=comment, reason="posted a secret")  # fmt: skip
    with tenant(tenant_a.org):
        assert not TicketComment.objects.filter(pk=comment.pk).exists()
    services.comment_restore(organization=tenant_a.org, actor=tenant_a.agent, comment=comment)
    with tenant(tenant_a.org):
        assert TicketComment.objects.filter(pk=comment.pk).exists()
