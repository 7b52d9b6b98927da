"""Calling the API as a person of a tenant, with a personal token."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection, transaction
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from deskbase.accounts.tokens import token_create


class ApiClient:
    def __init__(self, user: Any) -> None:
        self.user = user
        _, self.token = token_create(organization=user.organization, actor=user, name="tests")
        self.client = Client()

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **(extra or {})}

    def get(self, path: str, headers: dict[str, str] | None = None, **params: Any):
        return self.client.get(f"/api/v1{path}", params, headers=self._headers(headers))

    def post(self, path: str, body: Any = None, headers: dict[str, str] | None = None):
        return self.client.post(f"/api/v1{path}", body or {}, content_type="application/json",
                                headers=self._headers(headers))  # fmt: skip

    def patch(self, path: str, body: Any, headers: dict[str, str] | None = None):
        return self.client.patch(f"/api/v1{path}", body, content_type="application/json",
                                 headers=self._headers(headers))  # fmt: skip

    def delete(self, path: str, headers: dict[str, str] | None = None):
        return self.client.delete(f"/api/v1{path}", headers=self._headers(headers))


def list_size_and_queries(client: ApiClient, path: str) -> tuple[int, int]:
    """How many rows one GET of the list at `path` answers, and how many queries it runs."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return len(response.json()), len(queries)


@contextmanager
def module_world(django_db_blocker: Any, tmp_path_factory: Any) -> Iterator[None]:
    """For a module-scoped fixture: the database (and a media directory of its own) in
    one transaction, rolled back at the end, so that what the fixture makes is made once
    and each test runs in a savepoint of it."""
    media = tmp_path_factory.mktemp("media")
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=media):
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
