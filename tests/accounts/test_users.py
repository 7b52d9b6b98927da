"""Users sign in with an email address unique in their organization."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from deskbase.accounts import services
from deskbase.accounts.models import Role, User
from deskbase.core.errors import PermissionDenied, ValidationFailed
from deskbase.organizations.models import Organization
from tests.helpers import assert_sql_refused

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme() -> Organization:
    return Organization.objects.create(slug="acme", name="Acme")


def test_create_user_stores_the_email_in_lower_case_and_hashes_with_argon2(acme):
    user = User.objects.create_user(" Ann@Example.COM", "s3cret-pass", organization=acme)
    user.refresh_from_db()
    assert user.email == "ann@example.com"
    assert user.password.startswith("argon2")
    assert user.check_password("s3cret-pass")
    assert user.role == Role.CUSTOMER


def test_the_same_email_may_exist_once_per_organization(acme):
    other = Organization.objects.create(slug="other", name="Other")
    User.objects.create_user("ann@example.com", "pw-123456", organization=acme)
    # Another tenant may have its own ann@example.com: nothing reveals the first one
    User.objects.create_user("ann@example.com", "pw-123456", organization=other)
    # But not the same tenant, in any case
    with pytest.raises(ValidationError) as error:
        User.objects.create_user("ANN@example.com", "pw-123456", organization=acme)
    assert "already exists" in str(error.value)


INSERT = (
    "INSERT INTO accounts_user (email, role, password, organization_id, full_name, is_active,"
    " is_staff, is_superuser, customer_tier, availability, skills, max_concurrent_tickets,"
    " delete_reason) VALUES (%(email)s, %(role)s, '', %(org)s, '', true, false, false, %(tier)s,"
    " %(availability)s, %(skills)s::jsonb, %(max)s, '')"
)
GOOD = {
    "email": "ok@example.com",
    "role": "agent",
    "tier": "basic",
    "availability": None,
    "skills": "[]",
    "max": 5,
}


@pytest.mark.parametrize(
    ("field", "value", "constraint"),
    [
        ("email", "Upper@Example.com", "accounts_user_email_lowercase"),
        ("email", "not-an-address", "accounts_user_email_format"),
        ("role", "overlord", "accounts_user_role_valid"),
        ("customer_tier", "platinum", "accounts_user_customer_tier_valid"),
        ("max_concurrent_tickets", 0, "accounts_user_max_concurrent_range"),
        ("max_concurrent_tickets", 101, "accounts_user_max_concurrent_range"),
    ],
)
def test_each_rule_is_refused_by_postgresql_and_by_the_service(acme, field, value, constraint):
    # Given a raw SQL write that bypasses the model: PostgreSQL refuses it
    column = {"customer_tier": "tier", "max_concurrent_tickets": "max"}.get(field, field)
    with (
        pytest.raises(IntegrityError, match=constraint),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(INSERT, {**GOOD, "org": acme.id, column: value})
    # And the service refuses the same rule with an error naming the field,
    # except upper case, which the service normalizes instead of refusing
    kwargs = {"role": "agent", field: value} if field != "email" else {"role": "agent"}
    email = value if field == "email" else "new@example.com"
    if constraint == "accounts_user_email_lowercase":
        user = services.user_create(organization=acme, actor=None, email=email, **kwargs)
        assert user.email == value.lower()
        return
    with pytest.raises(ValidationFailed) as error:
        services.user_create(organization=acme, actor=None, email=email, **kwargs)
    assert error.value.field == field
    assert not User.objects.filter(email=email.lower()).exists()


def test_availability_belongs_to_agents_only(acme):
    assert_sql_refused(
        IntegrityError,
        "accounts_user_availability_staff_only",
        INSERT,
        {**GOOD, "org": acme.id, "role": "customer", "availability": "online"},
    )
    with pytest.raises(ValidationFailed) as error:
        services.user_create(
            organization=acme, actor=None, email="c@example.com", role="customer",
            availability="online",
        )  # fmt: skip
    assert error.value.field == "availability"


def test_agents_cannot_manage_people(tenant_a):
    with pytest.raises(PermissionDenied):
        services.user_create(organization=tenant_a.org, actor=tenant_a.agent, email="x@example.com")


def test_managers_manage_agents_and_customers_but_not_managers_or_admins(tenant_a):
    # A manager may create an agent
    services.user_create(organization=tenant_a.org, actor=tenant_a.manager,
                         email="new-agent@acme.test", role="agent")  # fmt: skip
    # But not an admin or another manager, nor promote anyone to admin
    for role in ("admin", "manager"):
        with pytest.raises(PermissionDenied):
            services.user_create(organization=tenant_a.org, actor=tenant_a.manager,
                                 email=f"{role}2@acme.test", role=role)  # fmt: skip
    with pytest.raises(PermissionDenied):
        services.user_update(organization=tenant_a.org, actor=tenant_a.manager,
                             user=tenant_a.agent, role="admin")  # fmt: skip
    with pytest.raises(PermissionDenied):
        services.user_soft_delete(organization=tenant_a.org, actor=tenant_a.manager,
                                  user=tenant_a.admin)  # fmt: skip


def test_creating_a_customer_leaves_the_rules_to_postgresql(acme):
    # Given an organization; when a customer is created (as incoming mail does)
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        user = services.user_create(
            organization=acme, actor=None, email="New@Client.example", role=Role.CUSTOMER,
            full_name="New Client",
        )  # fmt: skip
    # Then the rules are not read back one query each before the insert: the insert
    # is the only statement on users besides savepoints and the tenant's setting (the
    # database checks every rule), followed by the one lookup of a company by the
    # address's domain (deskbase.customers.subscribers)
    on_users = [
        q["sql"] for q in queries.captured_queries
        if "SAVEPOINT" not in q["sql"] and "deskbase.org_id" not in q["sql"]  # the tenant's
    ]  # fmt: skip
    assert len(on_users) == 2, on_users
    assert on_users[0].startswith("INSERT")
    assert on_users[1].startswith("SELECT")
    assert "customers_companydomain" in on_users[1]
    assert user.email == "new@client.example"


def test_a_second_account_with_the_same_address_names_the_field_and_changes_nothing(acme):
    # Given a customer
    services.user_create(organization=acme, actor=None, email="ann@example.com")
    # When the same address is created again, in another case
    with pytest.raises(ValidationFailed) as error:
        services.user_create(organization=acme, actor=None, email="ANN@example.com", full_name="x")
    # Then the error names the field with the rule's own message, and nothing changed
    assert error.value.field == "email"
    assert "already exists" in str(error.value)
    assert User.objects.filter(organization=acme, email="ann@example.com").count() == 1
    assert not User.objects.filter(full_name="x").exists()
