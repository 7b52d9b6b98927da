"""A small keep-alive HTTP/1.1 client for the bench, and Server-Timing.

The client shares the machine (and, on 2 cores, the CPU) with the server it
measures, so it is kept lean: stdlib `http.client` parses every response's
headers through the e-mail package, which cost about as much Python time per
request as the API's list itself. This one writes the request bytes and reads the
status line, the headers and a Content-Length or chunked body from one socket.
"""

from __future__ import annotations

import contextlib
import re
import socket
import ssl
from dataclasses import dataclass
from typing import BinaryIO
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


class Headers:
    """Response headers: case-insensitive `get`, and `get_all` for repeated ones."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs

    def get(self, name: str, default: str | None = None) -> str | None:
        name = name.lower()
        for key, value in self._pairs:
            if key == name:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        name = name.lower()
        return [value for key, value in self._pairs if key == name]


class HttpProtocolError(OSError):
    """The server's answer was not HTTP/1.x as this client reads it."""


@dataclass(frozen=True)
class HttpResult:
    status: int
    headers: Headers
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
        self._tls = parts.scheme == "https"
        self._address = (parts.hostname, parts.port or (443 if self._tls else 80))
        self._host = parts.netloc.rpartition("@")[2]
        self._timeout = timeout
        self._socket: socket.socket | None = None
        self._reader: BinaryIO | None = None
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
            fresh = self._socket is None
            try:
                status, pairs, data = self._exchange(method, path, body, headers)
                break
            except (ConnectionError, HttpProtocolError):
                # The server closed an idle keep-alive connection: reconnect once.
                self.close()
                if attempt == 2 or fresh:
                    raise
        response_headers = Headers(pairs)
        for cookie in response_headers.get_all("set-cookie"):
            name, _, value = cookie.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value.strip()
        return HttpResult(status, response_headers, data)

    def _connect(self) -> tuple[socket.socket, BinaryIO]:
        sock = socket.create_connection(self._address, timeout=self._timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self._tls:
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self._address[0])
        self._socket = sock
        self._reader = sock.makefile("rb")
        return self._socket, self._reader

    def _exchange(
        self, method: str, path: str, body: bytes | None, headers: dict
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        sock, reader = self._socket, self._reader
        if sock is None or reader is None:
            sock, reader = self._connect()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self._host}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body is not None or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body or b'')}")
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b""))
        status_line = reader.readline(65537)
        if not status_line:
            raise HttpProtocolError("the server closed the connection")
        version, _, rest = status_line.decode("latin-1").partition(" ")
        if not version.startswith("HTTP/1.") or not rest[:3].isdigit():
            raise HttpProtocolError(f"not an HTTP/1.x status line: {status_line[:80]!r}")
        status = int(rest[:3])
        pairs = []
        while True:
            line = reader.readline(65537)
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            pairs.append((name.strip().lower(), value.strip()))
        found = dict(pairs)
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            data = b""
        elif "chunked" in found.get("transfer-encoding", "").lower():
            data = self._chunked(reader)
        elif "content-length" in found:
            data = reader.read(int(found["content-length"]))
        else:  # read to the end: the connection cannot be reused
            data = reader.read()
            found["connection"] = "close"
        if found.get("connection", "").lower() == "close":
            self.close()
        return status, pairs, data

    @staticmethod
    def _chunked(reader: BinaryIO) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int(reader.readline(65537).split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while reader.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            parts.append(reader.read(size))
            reader.readline(65537)  # the CRLF after the chunk

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
        with contextlib.suppress(OSError, HttpStatusError):
            self.request("POST", "/logout/", form={"csrfmiddlewaretoken": token},
                         expect=(200, 302))  # fmt: skip
        self.signed_in = False

    def close(self) -> None:
        if self._socket is not None:
            with contextlib.suppress(OSError):
                if self._reader is not None:
                    self._reader.close()
                self._socket.close()
        self._socket = self._reader = None
