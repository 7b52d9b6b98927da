"""A TCP proxy for the mail tests, between a client under test and a real server.

It passes bytes both ways and counts what the server sent (a message never
downloaded is a number of bytes that never crossed). `hold_at(b"STORE")` stops
passing the client's bytes once they contain that text: the client waits for an
answer that never comes, at a known point of its work, without any hook in the
code under test. `cut()` closes every connection and refuses new ones until
`restore()` (a server gone away).
"""

from __future__ import annotations

import contextlib
import socket
import threading

from deskbase.testing.plugin import free_port


class Proxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.server_bytes = 0  # bytes the server sent to clients
        self.held = threading.Event()  # set once the hold pattern went by
        self._hold: bytes | None = None
        self._cut = False
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    # ------------------------------------------------------------------ controls
    def hold_at(self, pattern: bytes) -> None:
        self.held.clear()
        self._hold = pattern

    def release(self) -> None:
        self._hold = None

    def cut(self) -> None:
        self._cut = True
        self._close_all()

    def restore(self) -> None:
        self._cut = False

    def stop(self) -> None:
        self._stopped = True
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() in its thread
        with contextlib.suppress(OSError):
            self._listener.close()
        self._close_all()

    # ------------------------------------------------------------------ plumbing
    def _close_all(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._cut:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, from_client: bool) -> None:
        seen = b""
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if from_client and self._hold is not None:
                    seen = (seen + data)[-4096:]
                    if self._hold in seen:
                        self.held.set()
                        # Swallow this and everything after: the client waits forever.
                        while source.recv(65536):
                            pass
                        return
                if not from_client:
                    self.server_bytes += len(data)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)
