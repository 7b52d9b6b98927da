"""Users sign in with an email address; the database keeps emails unique and well-formed."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from deskbase.accounts.models import Role, User
from deskbase.organizations.models import Organization

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


def test_a_second_user_with_the_same_email_in_any_case_is_refused(acme):
    User.objects.create_user("ann@example.com", "pw-123456", organization=acme)
    with pytest.raises(ValidationError) as error:
        User.objects.create_user("ANN@example.com", "pw-123456", organization=acme)
    assert "email" in error.value.message_dict


@pytest.mark.parametrize(
    ("column", "value", "constraint"),
    [
        ("email", "Upper@Example.com", "accounts_user_email_lowercase"),
        ("email", "not-an-address", "accounts_user_email_format"),
        ("role", "overlord", "accounts_user_role_valid"),
    ],
)
def test_the_database_refuses_what_the_model_refuses(acme, column, value, constraint):
    # Given a raw SQL write that bypasses the model
    values = {"email": "ok@example.com", "role": "agent"} | {column: value}
    with (
        pytest.raises(IntegrityError, match=constraint),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "INSERT INTO accounts_user (email, role, password, organization_id, full_name,"
            " is_active, is_staff, is_superuser)"
            " VALUES (%s, %s, '', %s, '', true, false, false)",
            [values["email"], values["role"], acme.id],
        )
    # And through the model the same rule is an error naming the field,
    # except upper case, which the model normalizes instead of refusing
    user = User(email=values["email"], role=values["role"], organization=acme)
    user.set_password("pw-123456")
    if constraint == "accounts_user_email_lowercase":
        user.full_clean()
        assert user.email == value.lower()
        return
    with pytest.raises(ValidationError) as error:
        user.full_clean()
    assert column in error.value.message_dict
