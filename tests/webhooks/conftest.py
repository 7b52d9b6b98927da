"""A real HTTP receiver on 127.0.0.1 (a thread with http.server), and endpoints pointing
at it. Loopback is reachable only because the tests set WEBHOOKS_ALLOW_PRIVATE_HOSTS."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from deskbase.outbox.models import OutboxMessage
from deskbase.webhooks import client, services


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Records every request; answers from `script` (status, body, headers) in turn,
    then with `default`."""

    port: int = 0
    requests: list[Received] = field(default_factory=list)
    script: list[tuple[int, bytes, dict[str, str]]] = field(default_factory=list)
    default: tuple[int, bytes, dict[str, str]] = (200, b"ok", {})
    delay: float = 0.0
    connections: int = 0  # TCP connections accepted

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self) -> tuple[int, bytes, dict[str, str]]:
        return self.script.pop(0) if self.script else self.default


def _handler(receiver: Receiver, protocol: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = protocol
        disable_nagle_algorithm = True  # no delayed-ACK wait on a kept connection

        def setup(self) -> None:
            receiver.connections += 1
            super().setup()

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            receiver.requests.append(
                Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            if receiver.delay:
                time.sleep(receiver.delay)
            status, answer, headers = receiver.answer()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            with contextlib.suppress(OSError):
                self.wfile.write(answer)

        do_GET = do_POST

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@contextlib.contextmanager
def serving(protocol: str) -> Iterator[Receiver]:
    made = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(made, protocol))
    server.daemon_threads = True
    made.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield made
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """HTTP/1.0: the receiver closes the connection after each answer."""
    with serving("HTTP/1.0") as made:
        yield made


@pytest.fixture
def keepalive_receiver() -> Iterator[Receiver]:
    """HTTP/1.1: the receiver keeps the connection open, as most servers do."""
    with serving("HTTP/1.1") as made:
        yield made
    client.close_connections()


@pytest.fixture(autouse=True)
def private_hosts(settings) -> None:
    """The tests' receiver is on 127.0.0.1: allowed for these tests only."""
    settings.WEBHOOKS_ALLOW_PRIVATE_HOSTS = True


def make_endpoint(world: Any, url: str, events: list[str] | None = None):
    return services.endpoint_create(
        organization=world.org, actor=world.admin, url=url, event_types=events or ["*"]
    )


def make_due() -> None:
    """As if the retry's wait had passed."""
    with transaction.atomic():
        OutboxMessage.objects.filter(state="pending").update(next_attempt_at=timezone.now())
