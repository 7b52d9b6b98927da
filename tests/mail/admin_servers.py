"""Real servers on 127.0.0.1 that refuse a login, for the mailbox connection test.

- `refusing_smtp()`: aiosmtpd with AUTH that refuses every password (535).
- `refusing_imap()`: a minimal IMAP4rev1 server over a real socket that greets and
  answers every LOGIN with NO [AUTHENTICATIONFAILED], as Dovecot does.
- `closed_port()`: a port nothing listens on (connection refused).
"""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from deskbase.testing.plugin import free_port

IMAP_REFUSAL = "[AUTHENTICATIONFAILED] Authentication failed."


class _Sink:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"


def _refuse(server, session, envelope, mechanism, auth_data) -> AuthResult:
    return AuthResult(success=False, handled=False)


@contextmanager
def refusing_smtp() -> Iterator[int]:
    port = free_port()
    controller = Controller(
        _Sink(), hostname="127.0.0.1", port=port, authenticator=_refuse,
        auth_require_tls=False,
    )  # fmt: skip
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


class _ImapHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        self.wfile.write(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready.\r\n")
        for line in self.rfile:
            tag, _, rest = line.decode("ascii", "replace").strip().partition(" ")
            command = rest.split(" ", 1)[0].upper()
            if command == "CAPABILITY":
                self.wfile.write(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n")
                self.wfile.write(f"{tag} OK done.\r\n".encode())
            elif command == "LOGIN":
                self.wfile.write(f"{tag} NO {IMAP_REFUSAL}\r\n".encode())
            elif command == "LOGOUT":
                self.wfile.write(b"* BYE bye.\r\n")
                self.wfile.write(f"{tag} OK done.\r\n".encode())
                return
            else:
                self.wfile.write(f"{tag} BAD unknown.\r\n".encode())


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@contextmanager
def refusing_imap() -> Iterator[int]:
    server = _Server(("127.0.0.1", 0), _ImapHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    """A loopback port that was free a moment ago: a connection to it is refused."""
    return free_port()
