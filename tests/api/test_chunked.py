"""A chunked request body (no Content-Length) read as gunicorn hands it to deskbase.

The request goes through gunicorn's own HTTP parser and WSGI environ
(`gunicorn.http`), then to deskbase's body buffer and WSGI application in this process, on the
test database: the path `deskbase up` serves, minus the socket.
"""

from __future__ import annotations

import json

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from gunicorn.config import Config
from gunicorn.http import wsgi as gunicorn_wsgi
from gunicorn.http.parser import RequestParser

from deskbase.accounts.tokens import token_create
from deskbase.core.request_buffer import BodyTimeout, BufferedRequests, refuse
from deskbase.tickets.models import Ticket

pytestmark = pytest.mark.django_db
CLIENT = ("127.0.0.1", 40000)


def chunked(body: bytes, size: int = 7) -> bytes:
    parts = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


def serve(head: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
    """One request through gunicorn's parser and environ, answered by deskbase."""
    cfg = Config()
    raw = head.replace("\n", "\r\n").encode() + b"\r\n" + body
    request = next(iter(RequestParser(cfg, [raw], CLIENT)))
    _, environ = gunicorn_wsgi.create(request, None, CLIENT, ("127.0.0.1", 8050), cfg)
    assert environ["wsgi.input_terminated"]
    assert "CONTENT_LENGTH" not in environ
    answer: dict = {}

    def start_response(status: str, headers: list, exc_info=None) -> None:
        answer.update(status=int(status.split()[0]), headers=dict(headers))

    # As Django's test client does: the test's connection (and its transaction) stays open.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        # The body is read first, as deskbase.wsgi does before Django runs.
        try:
            BufferedRequests(WSGIHandler(), slots=1, read_timeout=15).buffer_body(environ)
        except BodyTimeout as refused:
            return _answer(refuse(environ, start_response, refused), answer)
        response = WSGIHandler()(environ, start_response)
        content = b"".join(response)
        response.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return answer["status"], answer["headers"], content


def _answer(chunks: list[bytes], answer: dict) -> tuple[int, dict[str, str], bytes]:
    return answer["status"], answer["headers"], b"".join(chunks)


def head(token: str, content_type: str = "application/json") -> str:
    return (
        "POST /api/v1/tickets HTTP/1.1\nHost: 127.0.0.1\n"
        f"Authorization: Bearer {token}\nContent-Type: {content_type}\n"
        "Transfer-Encoding: chunked\n"
    )


def test_a_chunked_json_post_is_read_whole(tenant_a, tenant_b, app_role):
    _, token = token_create(organization=tenant_a.org, actor=tenant_a.agent, name="chunked")
    body = json.dumps({"subject": "Sent in chunks", "customer_id": tenant_a.customer.id,
                       "description": "long " * 100}).encode()  # fmt: skip
    status, _, content = serve(head(token), chunked(body))
    assert status == 201, content[:300]
    ticket = Ticket.objects.get(subject="Sent in chunks")
    assert ticket.description.startswith("long long")


def test_a_chunked_body_over_every_limit_is_a_413_problem(tenant_a, app_role, settings):
    settings.MAX_ATTACHMENT_BYTES = 1024
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    _, token = token_create(organization=tenant_a.org, actor=tenant_a.agent, name="chunked")
    body = json.dumps({"subject": "x", "description": "y" * (3 * 1024 * 1024)}).encode()
    status, headers, content = serve(head(token), chunked(body, size=64 * 1024))
    assert status == 413, content[:300]
    assert headers["Content-Type"] == "application/problem+json"
