"""Django's PostgreSQL backend, plus what this connection's transaction has SET LOCAL.

`deskbase.core.tenancy` sets the tenant and actor with SET LOCAL in every
transaction; a request sets them once, then each selector or service asks for
the same pair again. Knowing what is already set spares that round trip. The
value is only trusted while nothing could have undone it: every commit,
rollback, savepoint rollback, autocommit switch and close forgets it (a SET
LOCAL ends with its transaction and is undone with a rolled-back savepoint).
"""

from __future__ import annotations

import time

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    # (organization id, actor id) as strings, exactly as set; None when unknown.
    tenant_settings: tuple[str, str] | None = None

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
