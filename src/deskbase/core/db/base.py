"""Django's PostgreSQL backend, plus what this connection's transaction has SET LOCAL,
and a pool that fails at once while the database is unreachable.

`deskbase.core.tenancy` sets the tenant and actor with SET LOCAL in every
transaction; a request sets them once, then each selector or service asks for
the same pair again. Knowing what is already set spares that round trip. The
value is only trusted while nothing could have undone it: every commit,
rollback, savepoint rollback, autocommit switch and close forgets it (a SET
LOCAL ends with its transaction and is undone with a rolled-back savepoint).

Outages. psycopg's pool makes a request wait up to its whole timeout for a
connection, and retries a failed connection in the background with a back-off of
seconds to minutes, so with PostgreSQL gone every request hung for the timeout and
then failed as a 500. Here a request waits for the pool in short slices and gives
up (DatabaseUnavailable, which deskbase.core.outage answers with a 503) as soon as
a connection attempt made meanwhile has failed, or at once while the last attempt
failed within Reachability.retry_seconds and a fresh one fails too. A pool merely
busy still gets its full timeout: no connection attempt fails then.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from django.db.backends.postgresql import base
from django.db.utils import OperationalError
from psycopg import IsolationLevel
from psycopg_pool import PoolTimeout

from deskbase.core.db.pool import REACHABILITY

# How long one wait for the pool lasts before the reachability is looked at again.
WAIT_SLICE_SECONDS = 0.05


class DatabaseUnavailable(OperationalError):
    """No connection to PostgreSQL could be had: it is down, unreachable or saturated."""


if TYPE_CHECKING:

    class _Base(base.DatabaseWrapper):
        """The private hooks overridden below, which django-stubs does not declare."""

        def _commit(self) -> None: ...
        def _rollback(self) -> None: ...
        def _savepoint_rollback(self, sid: str) -> None: ...
        def _set_autocommit(self, autocommit: bool) -> None: ...
        def _close(self) -> None: ...

else:
    _Base = base.DatabaseWrapper


class DatabaseWrapper(_Base):
    # (organization id, actor id) as strings, exactly as set; None when unknown.
    tenant_settings: tuple[str, str] | None = None

    def get_new_connection(self, conn_params):
        pool = self.pool
        if pool is None or "isolation_level" in self.settings_dict["OPTIONS"]:
            return super().get_new_connection(conn_params)
        # Django's own steps for a pooled connection at the default isolation level.
        self.isolation_level = IsolationLevel.READ_COMMITTED
        pool.open()
        return self._getconn(pool)

    @staticmethod
    def _getconn(pool):
        if REACHABILITY.down():
            raise DatabaseUnavailable(REACHABILITY.reason)
        started = time.monotonic()
        deadline = started + pool.timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                return pool.getconn(timeout=max(min(WAIT_SLICE_SECONDS, remaining), 0.001))
            except PoolTimeout:
                if REACHABILITY.failed_since(started):
                    raise DatabaseUnavailable(REACHABILITY.reason) from None
                if remaining <= WAIT_SLICE_SECONDS:
                    raise DatabaseUnavailable(
                        f"no database connection free within {pool.timeout:g} s"
                    ) from None

    def forget_tenant(self) -> None:
        self.tenant_settings = None

    def _commit(self):
        self.tenant_settings = None
        return super()._commit()

    def _rollback(self):
        self.tenant_settings = None
        return super()._rollback()

    def _savepoint_rollback(self, sid):
        self.tenant_settings = None
        return super()._savepoint_rollback(sid)

    def _set_autocommit(self, autocommit):
        self.tenant_settings = None
        return super()._set_autocommit(autocommit)

    def _close(self):
        self.tenant_settings = None
        if self.connection is not None and self.pool:
            self.connection._deskbase_returned_at = time.monotonic()  # see pool.check_connection
        return super()._close()
