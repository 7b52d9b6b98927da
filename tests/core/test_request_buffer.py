"""Bodies refused before Django runs (a stalled or an oversized one) are answered in the
form of the path: a problem document under /api/, plain text elsewhere."""

from __future__ import annotations

import json

import pytest

from deskbase.core import request_buffer
from deskbase.core.request_buffer import BufferedRequests


class StalledBody:
    """A client that sent its headers and then nothing: the socket read times out."""

    def read(self, size: int = -1) -> bytes:
        raise TimeoutError


class EndlessBody:
    """A client that keeps sending zeros, whatever its Content-Length said."""

    def __init__(self) -> None:
        self.sent = 0

    def read(self, size: int = -1) -> bytes:
        self.sent += size
        return b"\0" * size


def never_called(environ, start_response):
    raise AssertionError("the application ran for a refused body")


def call(path: str, body, **headers) -> tuple[str, dict[str, str], bytes]:
    answer: dict = {}

    def start_response(status, response_headers):
        answer["status"], answer["headers"] = status, dict(response_headers)

    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": path, "wsgi.input": body, **headers}
    chunks = BufferedRequests(never_called, slots=1, read_timeout=1)(environ, start_response)
    return answer["status"], answer["headers"], b"".join(chunks)


@pytest.mark.parametrize("path", ["/api/v1/tickets", "/api/v1/auth/login"])
def test_a_stalled_api_body_is_a_408_problem(path):
    # Given a client that sends headers announcing a body, then stalls
    # When the server gives up waiting
    status, headers, body = call(path, StalledBody(), CONTENT_LENGTH="100")
    # Then the API client gets a problem document it can parse like every other error
    assert status.startswith("408 ")
    assert headers["Content-Type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["status"] == 408
    assert "did not arrive in time" in problem["detail"]


def test_a_stalled_page_body_is_plain_text():
    status, headers, body = call("/sign-in/", StalledBody(), CONTENT_LENGTH="100")
    assert status.startswith("408 ")
    assert headers["Content-Type"].startswith("text/plain")
    assert b"did not arrive in time" in body


def test_an_endless_chunked_body_is_a_413_not_a_timeout():
    # Given a chunked upload that never ends
    stream = EndlessBody()
    # When it passes the largest body the server buffers
    status, headers, body = call(
        "/api/v1/tickets", stream, HTTP_TRANSFER_ENCODING="chunked", CONTENT_LENGTH=""
    )
    # Then it is refused as too large, in the API's form, and reading stopped there
    assert status.startswith("413 ")
    assert headers["Content-Type"] == "application/problem+json"
    assert json.loads(body)["status"] == 413
    assert stream.sent <= request_buffer.largest_body() + request_buffer.CHUNK
