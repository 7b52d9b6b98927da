"""What a search may show: the caller's tenant only; a customer's own tickets and
public comments only. Run as the application role, under row-level security."""

from __future__ import annotations

import pytest

from deskbase.tickets import services
from tests.search.helpers import numbers, search
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(tenant_a, tenant_b, app_role):
    from deskbase.accounts.models import User
    from deskbase.core.tenancy import tenant

    with tenant(tenant_a.org):
        other_customer = User.objects.create_user(
            "second@acme.test", "pw-for-tests-1", organization=tenant_a.org, role="customer",
            full_name="Second Customer",
        )  # fmt: skip
    own = open_ticket(tenant_a, subject="Walrus invoice")
    services.comment_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=own,
                         body="A private walrus note", kind="internal")  # fmt: skip
    theirs = open_ticket(tenant_a, subject="Walrus refund", customer=other_customer)
    b_ticket = open_ticket(tenant_b, subject="Walrus in tenant B")
    return own, theirs, b_ticket


def test_staff_see_their_tenant_only(world, tenant_a, tenant_b):
    own, theirs, b_ticket = world
    found = search(tenant_a.agent, "walrus")
    assert set(numbers(found)) == {own.number, theirs.number}
    assert [c["ticket_number"] for c in found.groups["comments"].items] == [own.number]
    assert numbers(search(tenant_b.agent, "walrus")) == [b_ticket.number]
    for group in found.groups.values():
        assert "tenant B" not in str(group.items)


def test_a_customer_sees_own_tickets_and_public_comments(world, tenant_a):
    own, theirs, _ = world
    found = search(tenant_a.customer, "walrus")
    assert numbers(found) == [own.number]
    assert found.groups["comments"].items == []  # the only comment is internal
    assert set(found.groups) == {"tickets", "comments", "attachments"}
    # Another customer's ticket number does not go anywhere
    assert search(tenant_a.customer, f"#{theirs.number}").direct is None
    assert search(tenant_a.customer, f"#{own.number}").direct["number"] == own.number


def test_a_customer_cannot_ask_for_staff_types(world, tenant_a):
    found = search(tenant_a.customer, "walrus", types=["users", "canned_responses"])
    assert found.groups == {}
