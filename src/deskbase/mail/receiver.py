"""`deskbase mail serve`: mail pushed to deskbase by SMTP or LMTP (docs/mail-servers.md).

The organization's mail server (Postfix, Exim, a hosted relay) delivers the mail of
a push mailbox to this receiver, an aiosmtpd server:

- RCPT TO is accepted only for the address of an active push mailbox, or a
  plus-address of it (`support+token@`: the per-ticket reply address), compared
  case-insensitively across every organization (the owner role's global lookup;
  addresses are unique among mailboxes); any other recipient gets 550.
- DATA goes to `deskbase.mail.ingest.receive(source="push")` once per mailbox named
  by the recipients, with a Return-Path header of the envelope sender prepended (we
  are the final delivery, RFC 5321 4.4). 250 is answered only after `receive`
  returned, i.e. after its commit; when it fails (the database is down) the answer
  is 451 and the sending server keeps the message and tries again later: nothing
  is lost, and a retry of a message already committed is recognized by `receive`.
- A message larger than MAIL_MAX_MESSAGE_BYTES is refused with 552 while it arrives.
- In LMTP mode (`--lmtp`) the answer to DATA is one line per accepted recipient, as
  RFC 2033 requires, so one mailbox's failure does not make the others' retry.

Database work runs in a small thread pool, away from the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.db import connection
from django.db.models.functions import Lower

from deskbase.core.tenancy import tenant
from deskbase.mail.imap import Receive, default_receive, setting
from deskbase.mail.models import Inbound, Mailbox

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Messages one receiver process works on at once: while one waits for its commit's WAL
# flush, another is parsed (the bench's mail_ingest_throughput runs as many per process).
THREADS = 4
ACCEPTED = "250 2.0.0 Ok: received"
TRY_LATER = "451 4.3.0 Temporary failure, please try again later"
NO_SUCH = "550 5.1.1 <{address}>: no such mailbox here"
_CONTROL = re.compile(r"[\x00-\x1f\x7f<>]")


def find_mailbox(address: str) -> tuple[int, int] | None:
    """(mailbox id, organization id) of the active push mailbox at `address` or at the
    address without its +suffix; None if there is none."""
    address = address.strip().lower()
    local, at, domain = address.rpartition("@")
    if not at or not local:
        return None
    candidates = [address]
    if "+" in local:
        candidates.append(f"{local.split('+', 1)[0]}@{domain}")
    rows = {
        lower: (mailbox_id, organization_id)
        for lower, mailbox_id, organization_id in Mailbox.objects.annotate(
            lower_address=Lower("address")
        )
        .filter(lower_address__in=candidates, inbound=Inbound.PUSH, is_active=True)
        .values_list("lower_address", "id", "organization_id")
    }
    for candidate in candidates:  # the exact address first
        if candidate in rows:
            return rows[candidate]
    return None


def with_return_path(raw: bytes, mail_from: str | None) -> bytes:
    """`raw` with the envelope sender as its Return-Path (`<>` for a bounce)."""
    sender = _CONTROL.sub("", mail_from or "")
    newline = b"\r\n" if b"\r\n" in raw[:4096] else b"\n"
    return b"Return-Path: <" + sender.encode("utf-8", "replace") + b">" + newline + raw


class Handler:
    """aiosmtpd's handler: routes recipients to mailboxes and hands DATA to `receive`."""

    def __init__(
        self, *, receive: Receive | None = None, lmtp: bool = False, threads: int = THREADS
    ) -> None:
        self._receive = receive
        self.lmtp = lmtp
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="mail-serve")

    async def _db(self, func: Callable[..., T], *args: Any) -> T:
        def call() -> T:
            try:
                return func(*args)
            finally:
                connection.close()  # back to the pool

        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str,
        rcpt_options: list[str],
    ) -> str:  # fmt: skip
        try:
            found = await self._db(find_mailbox, address)
        except Exception:
            logger.exception("mail serve: looking up the recipient %r failed", address)
            return TRY_LATER
        if found is None:
            return NO_SUCH.format(address=_CONTROL.sub("", address))
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        routes: dict[str, tuple[int, int]] = getattr(envelope, "deskbase_routes", {})
        routes[address] = found
        envelope.deskbase_routes = routes  # type: ignore[attr-defined]  # RCPT's routes for DATA
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = with_return_path(envelope.original_content or b"", envelope.mail_from)
        routes: dict[str, tuple[int, int]] = getattr(envelope, "deskbase_routes", {})
        outcome: dict[int, str] = {}
        for address in envelope.rcpt_tos:
            mailbox_id, organization_id = routes[address]
            if mailbox_id not in outcome:
                outcome[mailbox_id] = await self._deliver(mailbox_id, organization_id, raw)
        if self.lmtp:
            return "\r\n".join(outcome[routes[address][0]] for address in envelope.rcpt_tos)
        # One answer for every recipient. A mailbox that failed: the sender tries the
        # whole message again later, and the mailboxes that did commit it recognize it
        # then. A mailbox removed since RCPT is not a reason to bounce the others' copy.
        return next((s for s in outcome.values() if s.startswith("4")), ACCEPTED)

    async def _deliver(self, mailbox_id: int, organization_id: int, raw: bytes) -> str:
        try:
            delivered = await self._db(self._receive_one, mailbox_id, organization_id, raw)
        except Exception:
            logger.exception("mail serve: mailbox %s could not receive a message", mailbox_id)
            return TRY_LATER
        if not delivered:
            return "550 5.1.1 this mailbox no longer receives mail"
        return ACCEPTED

    def _receive_one(self, mailbox_id: int, organization_id: int, raw: bytes) -> bool:
        with tenant(organization_id, savepoint=False):
            mailbox = Mailbox.objects.filter(
                pk=mailbox_id, inbound=Inbound.PUSH, is_active=True
            ).first()
        if mailbox is None:
            return False
        receive = self._receive or default_receive()
        receive(mailbox=mailbox, raw=raw, source="push")
        return True


class ReceiverController(Controller):
    """aiosmtpd's threaded controller, speaking SMTP or LMTP.

    `shared_port`: several processes listen on the one port (SO_REUSEPORT), the kernel
    spreading the connections among them (`deskbase mail serve --processes N`: one
    receiver is one Python process, bound to one core).
    """

    def __init__(self, handler: Handler, *, shared_port: bool = False, **kwargs: Any) -> None:
        self.lmtp = handler.lmtp
        self.shared_port = shared_port
        super().__init__(handler, **kwargs)

    def factory(self) -> SMTP:
        server_class = LMTP if self.lmtp else SMTP
        return server_class(self.handler, **self.SMTP_kwargs)

    def _create_server(self) -> Any:
        if not self.shared_port:
            return super()._create_server()
        return self.loop.create_server(
            self._factory_invoker, host=self.hostname, port=self.port, ssl=self.ssl_context,
            reuse_port=True,
        )  # fmt: skip

    def _trigger_server(self) -> None:
        # aiosmtpd connects to the port once to make the protocol (and see it fail
        # early); on a shared port that connection may reach another process, so the
        # protocol is made here instead.
        if not self.shared_port:
            super()._trigger_server()
            return
        self._factory_invoker()


def controller(
    *, host: str, port: int, lmtp: bool = False, receive: Receive | None = None,
    shared_port: bool = False,
) -> ReceiverController:  # fmt: skip
    """A receiver ready to start(); stop() it when done."""
    handler = Handler(receive=receive, lmtp=lmtp)
    return ReceiverController(
        handler, shared_port=shared_port, hostname=host, port=port,
        data_size_limit=int(setting("MAIL_MAX_MESSAGE_BYTES")),
        ready_timeout=30,  # a loaded machine may take more than aiosmtpd's 5 s to start
        # The envelope's addresses and the message are passed on as they came.
        decode_data=False,
    )  # fmt: skip
