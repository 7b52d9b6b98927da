"""The connection forgets the tenant it set whenever Django ends what a SET LOCAL lives in.

deskbase.core.db.base overrides private methods of Django's DatabaseWrapper (commit,
rollback, savepoint rollback, autocommit switch, close) to drop the remembered
(organization, actor). If an upgrade of Django stopped calling one, a later transaction
would trust a tenant PostgreSQL no longer has, and row-level security would answer
every read with nothing. Each hook is exercised here through Django's public API.
"""

from __future__ import annotations

import inspect

import pytest
from django.db import connection, connections, transaction
from django.db.backends.postgresql import base as django_postgresql

from deskbase.core.db import base as deskbase_db
from deskbase.core.tenancy import current_tenant, set_tenant, tenant

ORG_A, ORG_B = 101, 202
# Methods of our wrapper that Django does not have: ours alone, nothing to override.
OWN = {"forget_tenant", "_getconn"}
HOOKS = ("_commit", "_rollback", "_savepoint_rollback", "_set_autocommit", "_close")


class Boom(Exception):
    pass


def remembered():
    return connection.tenant_settings


def set_then_fail(organization_id: int) -> None:
    """A transaction (or savepoint, when nested) that sets a tenant, then fails."""
    with transaction.atomic():
        set_tenant(organization_id)
        assert remembered() == (str(organization_id), "")
        raise Boom


def test_the_connection_is_deskbase_s_wrapper():
    assert isinstance(connections["default"], deskbase_db.DatabaseWrapper)


def test_every_overridden_method_still_exists_on_django_s_wrapper():
    ours = {
        name
        for name, value in vars(deskbase_db.DatabaseWrapper).items()
        if callable(value) or isinstance(value, staticmethod)
    } - OWN
    assert set(HOOKS) <= ours
    missing = sorted(name for name in ours if not hasattr(django_postgresql.DatabaseWrapper, name))
    assert missing == [], f"Django's DatabaseWrapper no longer has {missing}"
    for name in HOOKS:
        # Same signature as Django's, so Django's callers still reach ours.
        mine = inspect.signature(getattr(deskbase_db.DatabaseWrapper, name))
        django = inspect.signature(getattr(django_postgresql.DatabaseWrapper, name))
        assert list(mine.parameters) == list(django.parameters), name


@pytest.mark.django_db(transaction=True)
class TestEachHook:
    """Given a remembered tenant, when Django ends its transaction one way, it is forgotten."""

    def test_commit_forgets(self):
        with transaction.atomic():
            set_tenant(ORG_A)
            assert remembered() == (str(ORG_A), "")
        assert remembered() is None
        with transaction.atomic():
            assert current_tenant() is None

    @pytest.mark.parametrize("end", [transaction.commit, transaction.rollback],
                             ids=["explicit_commit", "explicit_rollback"])  # fmt: skip
    def test_explicit_end_forgets(self, end):
        transaction.set_autocommit(False)
        try:
            with transaction.atomic():  # commit_on_exit is off: the transaction stays open
                set_tenant(ORG_A)
            assert remembered() == (str(ORG_A), "")
            end()
            assert remembered() is None
        finally:
            transaction.set_autocommit(True)

    def test_rollback_forgets(self):
        with pytest.raises(Boom):
            set_then_fail(ORG_A)
        assert remembered() is None
        with transaction.atomic():
            assert current_tenant() is None

    def test_savepoint_rollback_forgets_and_the_outer_tenant_is_read_again(self):
        with transaction.atomic():
            set_tenant(ORG_A)
            with pytest.raises(Boom):
                set_then_fail(ORG_B)
            # The savepoint's SET LOCAL is undone: PostgreSQL is back to A.
            assert remembered() is None
            assert current_tenant() == ORG_A

    def test_explicit_savepoint_rollback_forgets(self):
        with transaction.atomic():
            set_tenant(ORG_A)
            sid = transaction.savepoint_create()
            set_tenant(ORG_B)
            transaction.savepoint_rollback(sid)
            assert remembered() is None
            assert current_tenant() == ORG_A

    def test_released_savepoint_keeps_what_it_set(self):
        with transaction.atomic():
            set_tenant(ORG_A)
            with transaction.atomic():
                set_tenant(ORG_B)
            # A released savepoint keeps its SET LOCAL: remembering it is right.
            assert remembered() == (str(ORG_B), "")
            assert current_tenant() == ORG_B

    def test_nested_tenant_puts_the_outer_one_back(self):
        with tenant(ORG_A):
            with tenant(ORG_B):
                assert current_tenant() == ORG_B
            assert remembered() == (str(ORG_A), "")
            assert current_tenant() == ORG_A

    @pytest.mark.parametrize("autocommit", [False, True])
    def test_autocommit_switch_forgets(self, autocommit):
        connection.ensure_connection()
        # Given what a transaction had left remembered (no statement open on the
        # connection, so psycopg accepts the switch either way).
        transaction.set_autocommit(not autocommit)
        connection.tenant_settings = (str(ORG_A), "")
        try:
            transaction.set_autocommit(autocommit)
            assert remembered() is None
        finally:
            transaction.set_autocommit(True)

    def test_close_forgets(self):
        connection.ensure_connection()
        connection.tenant_settings = (str(ORG_A), "")
        connection.close()
        assert remembered() is None
        with transaction.atomic():
            assert current_tenant() is None

    def test_forgotten_after_a_commit_is_not_served_to_the_next_transaction(self):
        # The user-visible case: a second transaction on the same connection must
        # set its own tenant, not trust the first one's.
        with tenant(ORG_A):
            pass
        with transaction.atomic():
            assert current_tenant() is None
            set_tenant(ORG_B)
            assert current_tenant() == ORG_B
