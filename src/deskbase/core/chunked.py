"""Request bodies sent with `Transfer-Encoding: chunked` (no Content-Length).

Django reads a body only as far as its Content-Length says, and reads nothing when
there is none: a chunked JSON POST would arrive empty ("Field required"). gunicorn
de-chunks the body and marks the stream as ending on its own
(`wsgi.input_terminated`, a WSGI extension); this middleware then reads it to the
end — at most the largest body deskbase takes, spooled to disk past 1 MB — and
gives Django the length. A body over that limit is a 413 before anything else runs.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse

SPOOL_IN_MEMORY = 1024 * 1024
READ_SIZE = 64 * 1024
MULTIPART_OVERHEAD = 1024 * 1024  # form fields and part headers beside the file


def largest_body() -> int:
    return max(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0, settings.MAX_ATTACHMENT_BYTES) + (
        MULTIPART_OVERHEAD
    )


def is_unsized_chunked(request: HttpRequest) -> bool:
    meta = request.META
    return (
        not meta.get("CONTENT_LENGTH")
        and "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower()
        and bool(meta.get("wsgi.input_terminated"))
    )


class ChunkedBodyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_unsized_chunked(request):
            too_large = self._read_whole_body(request)
            if too_large is not None:
                return too_large
        return self.get_response(request)

    @staticmethod
    def _read_whole_body(request: HttpRequest) -> HttpResponse | None:
        limit = largest_body()
        source = request.META["wsgi.input"]
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
        size = 0
        while chunk := source.read(READ_SIZE):
            size += len(chunk)
            if size > limit:
                spool.close()
                return _too_large(request, limit)
            spool.write(chunk)
        spool.seek(0)
        request._stream = LimitedStream(spool, size)  # type: ignore[attr-defined]
        request.META["CONTENT_LENGTH"] = str(size)
        request._deskbase_body_spool = spool  # type: ignore[attr-defined]  # closed with it
        return None


def _too_large(request: HttpRequest, limit: int) -> HttpResponse:
    detail = f"The body is larger than {limit} bytes."
    if request.path.startswith("/api/"):
        from deskbase.api.errors import problem_response

        return problem_response(413, detail, [{"field": "body", "message": "Too large."}])
    return HttpResponse(detail, status=413, content_type="text/plain; charset=utf-8")
