"""The two database roles: the owner migrates, the application role owns nothing."""

from __future__ import annotations

import os

import psycopg
import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def app_connection() -> psycopg.Connection:
    """The application role, on the test database the suite migrated."""
    params = psycopg.conninfo.conninfo_to_dict(os.environ["DATABASE_APP_URL"])
    params["dbname"] = connection.settings_dict["NAME"]
    return psycopg.connect(**params, autocommit=True)


def test_application_role_owns_no_table_and_cannot_bypass_rls():
    if not os.environ.get("DATABASE_APP_URL"):
        pytest.skip("the suite runs with one database role")
    with app_connection() as conn:
        owned = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
            "WHERE r.rolname = current_user"
        ).fetchone()[0]
        attributes = conn.execute(
            "SELECT rolsuper, rolbypassrls, rolcreaterole FROM pg_roles"
            " WHERE rolname = current_user"
        ).fetchone()
    assert owned == 0
    assert attributes == (False, False, False)


def test_application_role_may_use_the_tables_but_not_change_the_schema():
    if not os.environ.get("DATABASE_APP_URL"):
        pytest.skip("the suite runs with one database role")
    with app_connection() as conn:
        # Given the application role: it reads and writes rows of shared tables
        assert conn.execute("SELECT count(*) FROM django_migrations").fetchone()[0] > 0
        conn.execute("INSERT INTO django_session VALUES ('k', 'v', now())")
        conn.execute("DELETE FROM django_session WHERE session_key = 'k'")
        # But it cannot alter, drop or create tables
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("ALTER TABLE accounts_user ADD COLUMN x int")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DROP TABLE django_migrations")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE public.intruder (x int)")
