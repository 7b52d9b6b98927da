"""Signed-in HTTP clients for any subject, without knowing a password.

Generated users have no known password, so the bench writes the session row
that signing in would write (user, backend, password hash digest, tenant) and
hands the cookie to its client. The server accepts it only if it shares the
bench's database and DESKBASE_SECRET_KEY: the local `deskbase up` does. The
rows are deleted when the scenario ends.
"""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django.contrib import auth

from deskbase.accounts.models import User
from deskbase.core.tenancy import tenant
from deskbase.core.tenant_middleware import SESSION_KEY as TENANT_SESSION_KEY


def _store(session_key: str | None = None):
    return import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)


def open_session(organization_id: int, user_id: int) -> str:
    """A new session signed in as the user; returns its key (the session cookie's value)."""
    with tenant(organization_id):
        user = User.objects.get(pk=user_id)
    store = _store()
    store[auth.SESSION_KEY] = user._meta.pk.value_to_string(user)
    store[auth.BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[auth.HASH_SESSION_KEY] = user.get_session_auth_hash()
    store[TENANT_SESSION_KEY] = organization_id  # what accounts.signals keeps at sign-in
    store.create()
    return store.session_key


def close_session(session_key: str) -> None:
    _store(session_key).delete()
