"""Privileges of the application role, applied after every migrate.

The owner role owns the schema; the application role may read and write rows
but owns nothing, so it can neither change the schema nor escape row-level
security. Default privileges cover tables created later by the owner (for
example partitions created by maintenance jobs).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connections
from psycopg.conninfo import conninfo_to_dict

logger = logging.getLogger(__name__)


def application_role() -> str | None:
    """The application role's name, or None when it is the role that migrates."""
    app_user = conninfo_to_dict(settings.DESKBASE_APP_DATABASE_URL).get("user")
    return str(app_user) if app_user else None


def grant_application_role(using: str = "default", **kwargs) -> None:
    role = application_role()
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        (current,) = cursor.fetchone()
        if role is None or role == current:
            return
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone() is None:
            logger.warning("application role %s does not exist; no privileges granted", role)
            return
        statements = [
            "GRANT USAGE ON SCHEMA public TO {role}",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
            "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
            "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {role}",
        ]
        quoted = connection.ops.quote_name(role)
        for statement in statements:
            cursor.execute(statement.format(role=quoted))
