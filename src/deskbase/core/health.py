"""GET /health: is the database reachable, which PostgreSQL, which migrations are pending."""

from __future__ import annotations

import functools
import logging

from django.db import DatabaseError, OperationalError, connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from deskbase.core import overload
from deskbase.core.db import router

logger = logging.getLogger(__name__)


@functools.cache
def known_migrations() -> frozenset[tuple[str, str]]:
    """Every migration on disk; read once per process since the code cannot change under it."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return frozenset(loader.graph.nodes)


def database_report() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version'), current_user")
        version, role = cursor.fetchone()
    applied = set(MigrationRecorder(connection).applied_migrations())
    pending = sorted(f"{app}.{name}" for app, name in known_migrations() - applied)
    return {"reachable": True, "version": version, "role": role, "unapplied_migrations": pending}


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    try:
        database = database_report()
    except DatabaseError as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        reachable = not isinstance(exc, OperationalError)
        reason = f"database {'error' if reachable else 'unreachable'}: {detail}"
        logger.warning("health check failed: %s", reason)
        return JsonResponse(
            {"status": "unavailable", "reason": reason, "database": {"reachable": reachable}},
            status=503,
        )
    status = "ok" if not database["unapplied_migrations"] else "migrations_pending"
    # This process's admission gate (requests in flight, waiting, refused), when served
    # through it (deskbase.core.overload).
    body: dict = {"status": status, "database": database, "server": overload.report()}
    if router.replicas():
        # Reads fall back to the primary when a replica is down or lags: not a failure.
        body["replicas"] = router.report()
    return JsonResponse(body)
