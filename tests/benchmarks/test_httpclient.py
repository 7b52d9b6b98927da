"""The bench's HTTP client against a stdlib server: bodies by length and in chunks,
cookies, keep-alive, and a connection the server closed between requests."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from deskbase.benchmarks.httpclient import HttpClient, HttpStatusError


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    connections: set[tuple] = set()

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        Handler.connections.add(self.client_address)
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"Hello, ", b"chunked ", b"world"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        body = f"{self.path} {self.headers.get('Cookie', '')}".encode()
        self.send_response(404 if self.path == "/missing" else 200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Set-Cookie", "sessionid=abc; Path=/; HttpOnly")
        self.send_header("Server-Timing", 'total;dur=1.5, db;dur=0.5;desc="2 queries"')
        if self.path == "/close":
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        data = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(201)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    Handler.connections.clear()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_bodies_cookies_and_keep_alive(server):
    client = HttpClient(server)
    # A body by Content-Length, its cookie kept and sent back, its Server-Timing read
    first = client.get("/one")
    assert first.body == b"/one "
    assert client.cookies == {"sessionid": "abc"}
    assert first.timing.queries == 2
    assert first.timing.total_ms == 1.5
    assert client.get("/two").body == b"/two sessionid=abc"
    # A chunked body
    assert client.get("/chunked").body == b"Hello, chunked world"
    # All three over one connection
    assert len(Handler.connections) == 1
    # A form POST carries its body
    posted = client.request("POST", "/form", form={"a": "1"}, expect=(201,))
    assert posted.body == b"a=1"
    client.close()


def test_a_closed_connection_is_reopened_and_a_wrong_status_raises(server):
    client = HttpClient(server)
    assert client.get("/close").body.startswith(b"/close")
    assert client.get("/after").body.startswith(b"/after")  # on a new connection
    assert len(Handler.connections) == 2
    with pytest.raises(HttpStatusError):
        client.get("/missing")
    client.close()
