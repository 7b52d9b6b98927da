"""Django's database sessions, with fewer statements.

- The read every signed-in request makes is one fixed statement in plain SQL, which
  the connection prepares (Django's builds and compiles an ORM query each time).
- A sign-in cycles the key: the new key's row is written by the save at the end of
  the request, in one INSERT (Django checks the key is free with a SELECT, inserts
  the row at once and updates it again at the end of the same request). `create()`
  still saves at once, as Django documents, but without the SELECT: a 32-character
  random key does not collide in practice, and if it ever did the INSERT says so
  and a new key is drawn.
- Saves are one statement without a savepoint: an INSERT that does nothing on a
  taken key, or an UPDATE of the existing row. An UPDATE that finds no row (the
  session was ended meanwhile, e.g. signed out in another tab) raises UpdateError
  as Django's does: an ended session is never written back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError, UpdateError
from django.db import connections, router
from django.utils import timezone
from django.utils.crypto import get_random_string


class SessionStore(db.SessionStore):
    _unsaved = False  # created in this request, not in the database yet

    if TYPE_CHECKING:  # SessionBase's private accessors, which django-stubs leaves out
        _session: dict[str, Any]

        def _get_session(self, no_load: bool = False) -> dict[str, Any]: ...

    def _get_session_from_db(self):
        key = self.session_key  # set: SessionBase loads a session only when it has a key
        if key is None:
            return None
        using = router.db_for_read(self.model)
        with connections[using].cursor() as cursor:
            cursor.execute(
                "SELECT session_data, expire_date FROM django_session"
                " WHERE session_key = %s AND expire_date > %s",
                [key, timezone.now()],
            )
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        return self.model(session_key=key, session_data=row[0], expire_date=row[1])

    def create(self) -> None:
        """A new key, saved at once (Django's contract): one INSERT, no SELECT first."""
        self._session_key = get_random_string(32, VALID_KEY_CHARS)
        self._unsaved = True
        self._insert()
        self.modified = True

    def cycle_key(self) -> None:
        """A new key for the same data (at sign-in), saved with the request's last save."""
        data = self._session
        key = self.session_key
        self._session_key = get_random_string(32, VALID_KEY_CHARS)
        self._unsaved = True
        self.modified = True
        self._session_cache = data
        if key:
            self.delete(key)

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return self.create()
        if must_create or self._unsaved:
            self._insert()
        else:
            self._update()

    def _insert(self) -> None:
        data = self._get_session(no_load=True)
        table = self.model._meta.db_table
        using = router.db_for_write(self.model)
        for _attempt in range(3):
            with connections[using].cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {table} (session_key, session_data, expire_date)"  # noqa: S608
                    " VALUES (%s, %s, %s) ON CONFLICT (session_key) DO NOTHING",
                    [self.session_key, self.encode(data), self.get_expiry_date()],
                )
                if cursor.rowcount == 1:
                    self._unsaved = False
                    return
            if not self._unsaved:
                raise CreateError  # Django's contract for save(must_create=True)
            self._session_key = get_random_string(32, VALID_KEY_CHARS)
        raise CreateError

    def _update(self) -> None:
        data = self._get_session()
        table = self.model._meta.db_table
        using = router.db_for_write(self.model)
        with connections[using].cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET session_data = %s, expire_date = %s"  # noqa: S608
                " WHERE session_key = %s",
                [self.encode(data), self.get_expiry_date(), self.session_key],
            )
            if cursor.rowcount != 1:
                raise UpdateError

    def delete(self, session_key: str | None = None) -> None:
        if session_key is None or session_key == self._session_key:
            self._unsaved = False
        super().delete(session_key)
