"""Sending a stored file to a browser or an API client: always as a download."""

from __future__ import annotations

import unicodedata
from typing import BinaryIO
from urllib.parse import quote

from django.http import FileResponse


def content_disposition(file_name: str) -> str:
    """Always an attachment: an ASCII fallback name and the exact one (RFC 6266, 8187)."""
    fallback = unicodedata.normalize("NFKD", file_name).encode("ascii", "ignore").decode()
    fallback = "".join(ch for ch in fallback if ch.isprintable() and ch not in '"\\;') or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}"


def download_response(handle: BinaryIO, *, content_type: str, file_name: str) -> FileResponse:
    """The file streamed as an attachment, never rendered (nosniff, a sandboxing CSP),
    and never kept by a shared cache."""
    response = FileResponse(handle, content_type=content_type)
    response["Content-Disposition"] = content_disposition(file_name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


# What a browser may show inline: raster images and PDF. Never SVG or HTML (they run
# script); the type is the one sniffed at upload, not the one the client claimed.
PREVIEW_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"})


def content_disposition_inline(file_name: str) -> str:
    return "inline" + content_disposition(file_name).removeprefix("attachment")


def preview_response(handle: BinaryIO, *, content_type: str, file_name: str) -> FileResponse:
    """An image or a PDF shown by the browser itself, in a sandbox: no script, no
    sniffing, no shared cache. The caller checks content_type is in PREVIEW_TYPES."""
    response = FileResponse(handle, content_type=content_type)
    response["Content-Disposition"] = content_disposition_inline(file_name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
