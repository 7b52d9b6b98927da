"""Django's database sessions, with the read every signed-in request makes in plain SQL.

`SessionStore.load` reads the session row through the ORM, building and compiling
the query on every request; this reads the same row (a key, not expired) with one
fixed statement, which the connection prepares. Writes are Django's own.
"""

from __future__ import annotations

from django.contrib.sessions.backends import db
from django.db import connections, router
from django.utils import timezone


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        using = router.db_for_read(self.model)
        with connections[using].cursor() as cursor:
            cursor.execute(
                "SELECT session_data, expire_date FROM django_session"
                " WHERE session_key = %s AND expire_date > %s",
                [self.session_key, timezone.now()],
            )
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        return self.model(session_key=self.session_key, session_data=row[0], expire_date=row[1])
