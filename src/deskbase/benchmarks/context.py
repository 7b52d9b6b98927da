"""What a scenario's prepare function gets: the subjects, the options, HTTP clients."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from django.conf import settings

from deskbase.benchmarks import sessions
from deskbase.benchmarks.httpclient import HttpClient, HttpStatusError, Login
from deskbase.benchmarks.subjects import Subjects


class Skip(Exception):
    """The scenario cannot run here (no data for it, no sign-in ...); the reason is reported."""


@dataclass
class Context:
    subjects: Subjects | None = None
    base_url: str | None = None
    login: Login | None = None
    # For scenarios that prepare data per call (e.g. one row to delete per sample).
    samples: int = 200
    concurrency: int = 1
    _clients: list[HttpClient] = field(default_factory=list)
    _sessions: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def need_subjects(self) -> Subjects:
        if self.subjects is None:
            raise Skip("needs the database to pick its subjects (unreachable, or --no-database)")
        return self.subjects

    def http_client(self) -> HttpClient:
        """A new client (own connection and cookies), closed when the scenario ends."""
        if self.base_url is None:
            raise Skip("needs --http URL")
        client = HttpClient(self.base_url)
        with self._lock:
            self._clients.append(client)
        return client

    def client_for(self, user_id: int) -> HttpClient:
        """A client signed in as a user of the subjects' organization (sessions.py)."""
        organization_id = self.need_subjects().organization_id
        key = sessions.open_session(organization_id, user_id)
        with self._lock:
            self._sessions.append(key)
        client = self.http_client()
        client.cookies[settings.SESSION_COOKIE_NAME] = key
        return client

    def agent_client(self) -> tuple[HttpClient, str]:
        """A client signed in as --login through the form, else as the busiest agent."""
        if self.login is None:
            if self.subjects is None:
                raise Skip(
                    "needs --login SLUG:EMAIL:PASSWORD, or the database to sign in its agent"
                )
            return self.client_for(self.subjects.agent_id), self.subjects.agent_email
        client = self.http_client()
        try:
            client.sign_in(self.login)
        except HttpStatusError as error:
            raise Skip(f"{error} (check --login SLUG:EMAIL:PASSWORD)") from None
        return client, self.login.email

    def close_clients(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, []
            keys, self._sessions = self._sessions, []
        for client in clients:
            client.sign_out()  # a form sign-in's session row goes too
            client.close()
        for key in keys:
            sessions.close_session(key)
