"""The time a write happened, for the triggers that stamp rows with it.

The ticket history trigger and the `updated_at` triggers stamp rows with
`deskbase_now()`: the transaction's `now()`, unless `deskbase.at` is set. A
service given an explicit time (`at=`: an import, the demo's six weeks of past
work) runs its writes inside `happened_at(at)`, so the history rows and
`updated_at` it causes say when it happened, not when it was loaded.

The setting is local to the transaction (SET LOCAL). A service runs in a savepoint
of its caller's transaction, and a released savepoint keeps its settings: so the
setting is put back on the way out, and a later write in the same transaction
is stamped with its own time. On an error nothing is put back: rolling back the
savepoint undoes the setting.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime

from django.db import connections

AT_SETTING = "deskbase.at"


@contextlib.contextmanager
def happened_at(at: datetime | None, *, using: str = "default") -> Iterator[None]:
    """Within, the triggers stamp history and updated_at with `at` (None: now())."""
    if at is None:
        yield
        return
    connection = connections[using]
    if not connection.in_atomic_block:
        raise RuntimeError("happened_at() needs a transaction")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(current_setting(%s, true), ''), set_config(%s, %s, true)",
            [AT_SETTING, AT_SETTING, at.isoformat()],
        )
        outer = cursor.fetchone()[0]
    yield
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, %s, true)", [AT_SETTING, outer])
