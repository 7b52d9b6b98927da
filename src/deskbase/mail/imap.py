"""Fetching a mailbox by IMAP (docs/mail-servers.md).

One pass over a mailbox's folder:

1. SELECT the folder and compare its UIDVALIDITY with the stored one. A new value
   means the server renumbered the folder (restored, recreated, migrated): it is
   stored and reading starts again from UID 0. Nothing doubles: `receive` keeps one
   message per (organization, mailbox, Message-ID hash).
2. `UID SEARCH UID <last+1>:*`, keeping only UIDs above the last one seen (a range
   `n:*` always names the folder's highest UID, even when it is below n).
3. For each, in UID order, its RFC822.SIZE first. A message larger than
   MAIL_MAX_MESSAGE_BYTES is never downloaded: its header alone goes to review with
   the cause "too large". Others are read whole with BODY.PEEK[] (the server marks
   nothing) and handed to `deskbase.mail.ingest.receive`, which commits.
4. Only after `receive` returned is the message flagged (\\Seen \\Flagged) or moved to
   the archive folder, and only then is the mailbox's last UID advanced. A crash
   anywhere in between (the process killed with -9) leaves the message to be read
   again on the next pass; `receive` recognizes it and nothing doubles.

A message whose `receive` fails (the database went away, a defect) is neither
flagged nor passed: the last UID stays below it so the next pass tries it again,
the error is recorded on the mailbox, and the messages after it are still handled.

A server that refuses the login or cannot be reached is recorded on the mailbox
(`last_error`: the server's answer, never the password; `last_checked_at`), shown in
the administration and by `deskbase jobs status`; a pass that succeeds clears it.
"""

from __future__ import annotations

import ast
import contextlib
import logging
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.conf import settings
from django.db.models import F, Value
from django.db.models.functions import Greatest, Now
from imapclient import IMAPClient, SocketTimeout
from imapclient.exceptions import IMAPClientError
from imapclient.imap4 import IMAP4WithTimeout
from imapclient.tls import IMAP4_TLS
from imapclient.tls import wrap_socket as tls_wrap_socket

from deskbase.core.tenancy import tenant
from deskbase.mail import hosts
from deskbase.mail.crypto import SecretUnreadable, decrypt
from deskbase.mail.hosts import HostRefused
from deskbase.mail.models import Inbound, Mailbox, Security

logger = logging.getLogger(__name__)

# Settings read at each use, with these defaults (docs/mail-servers.md).
DEFAULTS: dict[str, Any] = {
    "MAIL_MAX_MESSAGE_BYTES": 25 * 1024 * 1024,
    "MAIL_POLL_SECONDS": 60,  # between passes when the server offers no IDLE
    "MAIL_IMAP_TIMEOUT_SECONDS": 30,  # connecting, and each read or write
}
# RFC 2177: a client should re-issue IDLE at least every 29 minutes, or servers
# drop it as inactive.
IDLE_SECONDS = 25 * 60
FLAGS = (b"\\Seen", b"\\Flagged")
SIZE_CHUNK = 500  # UIDs per FETCH RFC822.SIZE
MAX_ERROR = 2000


def setting(name: str) -> Any:
    return getattr(settings, name, DEFAULTS[name])


class Receive(Protocol):
    def __call__(
        self, *, mailbox: Mailbox, raw: bytes, source: str,
        imap_uidvalidity: int | None = None, imap_uid: int | None = None,
    ) -> Any: ...  # fmt: skip


class ReceiveTooLarge(Protocol):
    def __call__(
        self, *, mailbox: Mailbox, header: bytes, size: int, source: str,
        imap_uidvalidity: int | None = None, imap_uid: int | None = None,
    ) -> Any: ...  # fmt: skip


class ServerError(Exception):
    """The server refused us or could not be reached; the text is what it answered."""


@dataclass
class PassResult:
    """What one pass over a mailbox did."""

    mailbox_id: int
    address: str
    received: int = 0  # messages handed over and committed (new or already known)
    too_large: int = 0  # of which only the header was read
    failed: int = 0  # messages whose receive raised: tried again next pass
    uidvalidity_changed: bool = False
    error: str = ""  # the server refused or failed: nothing (more) was read
    message_errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.error and not self.failed

    def describe(self) -> str:
        parts = [f"{self.received} received"]
        if self.too_large:
            parts.append(f"{self.too_large} too large (header only, in review)")
        if self.failed:
            parts.append(f"{self.failed} failed (tried again next time)")
        if self.uidvalidity_changed:
            parts.append("UIDVALIDITY changed: folder read again from the start")
        text = ", ".join(parts)
        if self.error:
            text += f"; ERROR: {self.error}"
        return text


# ------------------------------------------------------------------ the mailbox row
def load_mailbox(mailbox_id: int, organization_id: int) -> Mailbox | None:
    """The mailbox if it still fetches by IMAP (active, not deleted), else None."""
    with tenant(organization_id, savepoint=False):
        return Mailbox.objects.filter(pk=mailbox_id, is_active=True, inbound=Inbound.IMAP).first()


def _update(mailbox: Mailbox, **values: Any) -> None:
    with tenant(mailbox.organization_id):
        Mailbox.objects.filter(pk=mailbox.pk).update(**values)


def record_error(mailbox: Mailbox, error: str) -> None:
    """The server's answer on the mailbox, for the administration and `jobs status`."""
    mailbox.last_error = error[:MAX_ERROR]
    _update(mailbox, last_error=mailbox.last_error, last_checked_at=Now())


def record_checked(mailbox: Mailbox) -> None:
    mailbox.last_error = ""
    _update(mailbox, last_error="", last_checked_at=Now())


def restart_folder(mailbox: Mailbox, uidvalidity: int) -> None:
    """A new UIDVALIDITY: remember it, and read the folder again from UID 0."""
    mailbox.imap_uidvalidity, mailbox.imap_last_uid = uidvalidity, 0
    _update(mailbox, imap_uidvalidity=uidvalidity, imap_last_uid=0)


def advance_last_uid(mailbox: Mailbox, uid: int) -> None:
    """Past `uid`: never backwards, and only under the UIDVALIDITY it belongs to."""
    with tenant(mailbox.organization_id):
        Mailbox.objects.filter(pk=mailbox.pk, imap_uidvalidity=mailbox.imap_uidvalidity).update(
            imap_last_uid=Greatest(F("imap_last_uid"), Value(uid))
        )
    mailbox.imap_last_uid = max(mailbox.imap_last_uid, uid)


# ------------------------------------------------------------------ the server's answers
def server_text(exc: BaseException) -> str:
    """What the server said, as text: imaplib hands it over as a bytes repr."""
    text = str(exc).strip()
    if text.startswith(("b'", 'b"')):
        try:
            value = ast.literal_eval(text)
            if isinstance(value, bytes):
                text = value.decode(errors="replace")
        except (ValueError, SyntaxError):
            pass
    return text or type(exc).__name__


def _hide(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text


def default_receive() -> Receive:
    from deskbase.mail.ingest import receive

    return receive


def default_receive_too_large() -> ReceiveTooLarge:
    from deskbase.mail.oversize import receive_too_large

    return receive_too_large


# ------------------------------------------------------------------ the client
class _PinnedPlain(IMAP4WithTimeout):
    """imapclient's plain connection, to the address resolved and checked once."""

    def __init__(self, host: str, port: int, timeout: float | None, *, address: str) -> None:
        self._address = address
        super().__init__(host, port, timeout)

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        seconds = timeout if timeout is not None else self._timeout
        return socket.create_connection((self._address, self.port), seconds)


class _PinnedTLS(IMAP4_TLS):
    """imapclient's TLS connection to the checked address; the certificate is checked
    against the host name."""

    def __init__(self, host: str, port: int, context: ssl.SSLContext | None,
                 timeout: float | None, *, address: str) -> None:  # fmt: skip
        self._address = address
        super().__init__(host, port, context, timeout)

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        seconds = timeout if timeout is not None else self._timeout
        sock = socket.create_connection((self._address, self.port), seconds)
        return tls_wrap_socket(sock, self.ssl_context, self.host)


class PinnedIMAPClient(IMAPClient):
    """IMAPClient connecting to `address` (deskbase.mail.hosts.resolve) for `host`."""

    def __init__(self, host: str, *, address: str, **kwargs: Any) -> None:
        self._address = address
        super().__init__(host, **kwargs)

    def _create_IMAP4(self) -> Any:  # imapclient.s name
        seconds = getattr(self._timeout, "connect", None)
        if self.ssl:
            return _PinnedTLS(self.host, self.port, self.ssl_context, seconds,
                              address=self._address)  # fmt: skip
        return _PinnedPlain(self.host, self.port, seconds, address=self._address)


def connect(mailbox: Mailbox, *, timeout: float | None = None) -> IMAPClient:
    """A connection to the mailbox's IMAP server (TLS or STARTTLS as configured), not
    logged in. The host is resolved and checked once (HostRefused: an internal address)
    and that address is the one connected to."""
    seconds = float(timeout if timeout is not None else setting("MAIL_IMAP_TIMEOUT_SECONDS"))
    port = mailbox.imap_port or (993 if mailbox.imap_security == Security.TLS else 143)
    address = hosts.resolve(mailbox.imap_host, port, field="imap_host")
    context = ssl.create_default_context()
    client = PinnedIMAPClient(
        mailbox.imap_host, address=address, port=port,
        ssl=mailbox.imap_security == Security.TLS, ssl_context=context,
        timeout=SocketTimeout(connect=seconds, read=seconds),
    )  # fmt: skip
    if mailbox.imap_security == Security.STARTTLS:
        client.starttls(context)
    return client


def check_login(mailbox: Mailbox, password: str, *, timeout: float) -> str:
    """The administration's connection test: connect, log in, open the folder read-only
    (nothing on the server or the mailbox row changes); the server's answer to the login.
    Raises what the server or the connection raised (IMAPClientError, OSError),
    HostRefused for an internal address."""
    client = connect(mailbox, timeout=timeout)
    try:
        said = client.login(mailbox.imap_username, password)
        client.select_folder(mailbox.imap_folder or "INBOX", readonly=True)
        answer = said.decode("utf-8", "replace") if isinstance(said, bytes) else str(said)
        return answer.strip() or "logged in"
    finally:
        with contextlib.suppress(Exception):
            client.logout()


# ------------------------------------------------------------------ one connection
class ImapSession:
    """One connection to a mailbox's server with its folder selected."""

    def __init__(
        self,
        mailbox: Mailbox,
        *,
        receive: Receive | None = None,
        receive_too_large: ReceiveTooLarge | None = None,
    ) -> None:
        self.mailbox = mailbox
        self._receive = receive
        self._receive_too_large = receive_too_large
        self.client: IMAPClient | None = None
        self.capabilities: tuple[bytes, ...] = ()

    # -------------------------------------------------------------- connect
    def open(self) -> PassResult:
        """Log in and select the folder; a ServerError with the server's answer if refused."""
        mailbox = self.mailbox
        result = PassResult(mailbox.pk, mailbox.address)
        try:
            password = decrypt(mailbox.imap_password)
        except SecretUnreadable as exc:
            raise ServerError(str(exc)) from None
        where = f"{mailbox.imap_host}:{mailbox.imap_port}"
        try:
            self.client = self._connect()
        except (OSError, IMAPClientError) as exc:
            text = _hide(server_text(exc), password)
            raise ServerError(f"cannot connect to {where}: {text}") from None
        try:
            self.client.login(mailbox.imap_username, password)
        except IMAPClientError as exc:
            self.close()
            text = _hide(server_text(exc), password)
            raise ServerError(f"{where} refused the login: {text}") from None
        except OSError as exc:
            self.close()
            raise ServerError(f"{where} failed during the login: {server_text(exc)}") from None
        try:
            self.capabilities = tuple(self.client.capabilities())
            selected = self.client.select_folder(mailbox.imap_folder)
            if mailbox.imap_archive_folder and not self.client.folder_exists(
                mailbox.imap_archive_folder
            ):
                self.client.create_folder(mailbox.imap_archive_folder)
        except (OSError, IMAPClientError) as exc:
            self.close()
            raise ServerError(
                f"{where}: cannot open the folder {mailbox.imap_folder!r}: {server_text(exc)}"
            ) from None
        uidvalidity = int(selected[b"UIDVALIDITY"])
        if mailbox.imap_uidvalidity != uidvalidity:
            if mailbox.imap_uidvalidity is not None:
                result.uidvalidity_changed = True
                logger.warning(
                    "mailbox %s (%s): UIDVALIDITY changed from %s to %s; reading the folder"
                    " again (known messages are recognized by their Message-ID)",
                    mailbox.pk, mailbox.address, mailbox.imap_uidvalidity, uidvalidity,
                )  # fmt: skip
            restart_folder(mailbox, uidvalidity)
        return result

    def _connect(self) -> IMAPClient:
        try:
            return connect(self.mailbox)
        except HostRefused as exc:
            raise ServerError(exc.errors["imap_host"][0]) from None

    def close(self) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        try:
            client.logout()
        except Exception:  # a connection already gone has nothing to log out of
            with contextlib.suppress(Exception):
                client.shutdown()

    # -------------------------------------------------------------- read
    def fetch_new(self, result: PassResult | None = None) -> PassResult:
        """Hand every message above the last seen UID to `receive`, in UID order."""
        mailbox = self.mailbox
        result = result or PassResult(mailbox.pk, mailbox.address)
        client = self._client()
        last = mailbox.imap_last_uid
        uids = sorted(uid for uid in client.search(["UID", f"{last + 1}:*"]) if uid > last)
        if not uids:
            return result
        blocked = False  # a failed message keeps the last UID below it
        for uid, size in self._sizes(uids):
            if self._one(uid, size, result):
                if not blocked:
                    advance_last_uid(mailbox, uid)
            else:
                blocked = True
        if result.message_errors:
            record_error(mailbox, "; ".join(result.message_errors))
        return result

    def _client(self) -> IMAPClient:
        if self.client is None:
            raise RuntimeError("ImapSession.open() first")
        return self.client

    def _sizes(self, uids: list[int]) -> Iterator[tuple[int, int]]:
        client = self._client()
        for start in range(0, len(uids), SIZE_CHUNK):
            chunk = uids[start : start + SIZE_CHUNK]
            sizes = client.fetch(chunk, ["RFC822.SIZE"])
            for uid in chunk:
                if uid in sizes:  # expunged meanwhile: gone, nothing to read
                    yield uid, int(sizes[uid][b"RFC822.SIZE"])

    def _one(self, uid: int, size: int, result: PassResult) -> bool:
        """Read, hand over and flag one message; False if it is to be tried again."""
        mailbox, client = self.mailbox, self._client()
        too_large = size > setting("MAIL_MAX_MESSAGE_BYTES")
        part = b"BODY[HEADER]" if too_large else b"BODY[]"
        fetched = client.fetch([uid], [b"BODY.PEEK[HEADER]" if too_large else b"BODY.PEEK[]"])
        data = fetched.get(uid, {}).get(part)
        if data is None:
            return True  # expunged between SEARCH and FETCH
        where = dict(imap_uidvalidity=mailbox.imap_uidvalidity, imap_uid=uid)
        try:
            if too_large:
                receive_too_large = self._receive_too_large or default_receive_too_large()
                receive_too_large(mailbox=mailbox, header=bytes(data), size=size, source="imap",
                                  **where)  # fmt: skip
            else:
                receive = self._receive or default_receive()
                receive(mailbox=mailbox, raw=bytes(data), source="imap", **where)
        except Exception as exc:
            logger.exception("mailbox %s (%s): message UID %s could not be received",
                             mailbox.pk, mailbox.address, uid)  # fmt: skip
            result.failed += 1
            result.message_errors.append(f"message UID {uid} not received: {server_text(exc)}")
            return False
        # Committed: now, and only now, the server may know it was read.
        self._done(uid)
        result.received += 1
        result.too_large += too_large
        return True

    def _done(self, uid: int) -> None:
        client, archive = self._client(), self.mailbox.imap_archive_folder
        if not archive:
            client.add_flags([uid], FLAGS, silent=True)
            return
        if b"MOVE" in self.capabilities:
            client.add_flags([uid], FLAGS, silent=True)
            client.move([uid], archive)
            return
        client.copy([uid], archive)
        client.add_flags([uid], (*FLAGS, b"\\Deleted"), silent=True)
        if b"UIDPLUS" in self.capabilities:
            client.uid_expunge([uid])

    # -------------------------------------------------------------- wait
    def wait_for_mail(self, seconds: float, stopping: threading.Event) -> None:
        """Until new mail may be there: IDLE if the server offers it, else `seconds`."""
        if b"IDLE" not in self.capabilities:
            stopping.wait(seconds)
            return
        client = self._client()
        # Mail that arrived during the pass was announced in the answers to its commands,
        # not to IDLE: look once more before waiting for the next announcement.
        last = self.mailbox.imap_last_uid
        if any(uid > last for uid in client.search(["UID", f"{last + 1}:*"])):
            return
        client.idle()
        deadline = time.monotonic() + min(seconds, IDLE_SECONDS)
        try:
            while not stopping.is_set() and time.monotonic() < deadline:
                # One second at a time: a stop is noticed within a second.
                if any(_news(response) for response in client.idle_check(timeout=1)):
                    return
        finally:
            client.idle_done()


def _news(response: Any) -> bool:
    """An untagged response during IDLE that may mean new mail (EXISTS, RECENT)."""
    return (
        isinstance(response, tuple)
        and len(response) > 1
        and response[1]
        in (
            b"EXISTS",
            b"RECENT",
        )
    )


@contextmanager
def session(mailbox: Mailbox, **kwargs: Any) -> Iterator[tuple[ImapSession, PassResult]]:
    imap = ImapSession(mailbox, **kwargs)
    result = imap.open()
    try:
        yield imap, result
    finally:
        imap.close()


def fetch_once(mailbox: Mailbox, **kwargs: Any) -> PassResult:
    """One pass over the mailbox: connect, read what is new, hand it over, disconnect.

    The server's refusal (or a connection lost mid-way) is recorded on the mailbox and
    returned in the result; it never raises for it.
    """
    result = PassResult(mailbox.pk, mailbox.address)
    try:
        with session(mailbox, **kwargs) as (imap, opened):
            result = imap.fetch_new(opened)
    except ServerError as exc:
        result.error = str(exc)
    except (OSError, IMAPClientError) as exc:
        result.error = f"{mailbox.imap_host}:{mailbox.imap_port} failed: {server_text(exc)}"
    if result.error:
        logger.warning("mailbox %s (%s): %s", mailbox.pk, mailbox.address, result.error)
        record_error(mailbox, result.error)
    elif not result.failed:
        record_checked(mailbox)
    return result
