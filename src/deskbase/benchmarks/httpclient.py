"""A small keep-alive HTTP client for the bench (stdlib http.client), and Server-Timing."""

from __future__ import annotations

import contextlib
import http.client
import re
from dataclasses import dataclass
from email.message import Message
from urllib.parse import urlencode, urlsplit

# deskbase.core.middleware.ServerTimingMiddleware writes exactly this.
SERVER_TIMING = re.compile(
    r'total;dur=(?P<total>[\d.]+), db;dur=(?P<db>[\d.]+);desc="(?P<queries>\d+) quer(?:y|ies)"'
)


@dataclass(frozen=True)
class Login:
    organization: str
    email: str
    password: str

    @classmethod
    def parse(cls, value: str) -> Login:
        organization, _, rest = value.partition(":")
        email, _, password = rest.partition(":")
        if not (organization and email and password):
            raise ValueError("a login is SLUG:EMAIL:PASSWORD")
        return cls(organization, email, password)


@dataclass(frozen=True)
class ServerTiming:
    total_ms: float
    db_ms: float
    queries: int

    @classmethod
    def parse(cls, header: str | None) -> ServerTiming | None:
        match = SERVER_TIMING.search(header or "")
        if match is None:
            return None
        return cls(float(match["total"]), float(match["db"]), int(match["queries"]))


@dataclass(frozen=True)
class HttpResult:
    status: int
    headers: Message
    body: bytes

    @property
    def timing(self) -> ServerTiming | None:
        return ServerTiming.parse(self.headers.get("Server-Timing"))


class HttpStatusError(Exception):
    """A response with a status the scenario did not expect: counted as an error."""


class HttpClient:
    """One keep-alive connection with its own cookies: one client of the server."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        factory = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        self._connection = factory(parts.hostname, parts.port, timeout=timeout)
        self._prefix = parts.path.rstrip("/")
        self.cookies: dict[str, str] = {}
        self.signed_in = False  # through the form (sessions the bench writes close themselves)
        self.headers: dict[str, str] = {}  # sent with every request, e.g. an API token

    def request(
        self, method: str, path: str, *, form: dict[str, str] | None = None,
        expect: tuple[int, ...] = (200,),
    ) -> HttpResult:  # fmt: skip
        headers = {"Accept": "text/html,application/json", **self.headers}
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        result = self._send(method, self._prefix + path, body, headers)
        if result.status not in expect:
            raise HttpStatusError(f"{method} {path} answered {result.status}, expected {expect}")
        return result

    def get(self, path: str, *, expect: tuple[int, ...] = (200,)) -> HttpResult:
        return self.request("GET", path, expect=expect)

    def _send(self, method: str, path: str, body: bytes | None, headers: dict) -> HttpResult:
        for attempt in (1, 2):
            try:
                self._connection.request(method, path, body=body, headers=headers)
                response = self._connection.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server closed an idle keep-alive connection: reconnect once.
                self._connection.close()
                if attempt == 2:
                    raise
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, value = cookie.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value.strip()
        return HttpResult(response.status, response.headers, data)

    def sign_in(self, login: Login) -> None:
        """Sign in through the form at /login/ (organization slug, email, password)."""
        self.get("/login/")
        token = self.cookies.get("csrftoken")
        if not token:
            raise HttpStatusError("GET /login/ set no csrftoken cookie")
        form = {"csrfmiddlewaretoken": token, "organization": login.organization,
                "username": login.email, "password": login.password}  # fmt: skip
        result = self.request("POST", "/login/", form=form, expect=(200, 302))
        if result.status != 302 or "sessionid" not in self.cookies:
            raise HttpStatusError(f"sign-in as {login.email} in {login.organization!r} failed")
        self.signed_in = True

    def sign_out(self) -> None:
        """POST /logout/ if signed in through the form; best effort (the run is over)."""
        token = self.cookies.get("csrftoken")
        if not (self.signed_in and token):
            return
        with contextlib.suppress(OSError, http.client.HTTPException, HttpStatusError):
            self.request("POST", "/logout/", form={"csrfmiddlewaretoken": token},
                         expect=(200, 302))  # fmt: skip
        self.signed_in = False

    def close(self) -> None:
        self._connection.close()
