"""A real SMTP relay on 127.0.0.1 (aiosmtpd) that keeps every message it accepts, as bytes.

`Relay.start()` listens on a free port; `relay.refuse_rcpt` / `refuse_data` make it
answer with a given reply instead of accepting. Tests point a mailbox at it and
read `relay.messages` (envelope and raw bytes, as received on the wire).
"""

from __future__ import annotations

import email
import email.policy
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from deskbase.mail.models import Mailbox
from deskbase.testing.plugin import free_port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    def header(self, name: str) -> str | None:
        """The header's value unfolded (a long References is folded over lines)."""
        value = self.message[name]
        return None if value is None else " ".join(str(value).split())

    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None
        return part.get_content().replace("\r\n", "\n")

    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        assert part is not None
        return part.get_content()


@dataclass
class Handler:
    messages: list[Received] = field(default_factory=list)
    refuse_rcpt: str | None = None  # e.g. "550 5.1.1 No such user"
    refuse_data: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:  # fmt: skip
        if self.refuse_rcpt:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse_data:
            return self.refuse_data
        with self.lock:
            self.messages.append(
                Received(
                    envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content)
                )
            )
        return "250 Message accepted for delivery"


class Relay:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.handler = Handler()
        self.controller: Controller | None = None

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    def start(self) -> Relay:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture(name="relay")
def relay_fixture() -> Iterator[Relay]:
    running = Relay().start()
    yield running
    running.stop()


def make_mailbox(organization: Any, relay_port: int, *, address: str = "support@acme.test",
                 **fields: Any) -> Mailbox:  # fmt: skip
    """A mailbox that sends through the relay (plain SMTP on loopback)."""
    return Mailbox.objects.create(
        organization=organization, name="Support", address=address,
        smtp_host="127.0.0.1", smtp_port=relay_port, smtp_security="none", **fields,
    )  # fmt: skip
