"""Request bodies: JSON only, declared as JSON, parsed with orjson.

A body in another media type is refused (415) instead of being read as JSON
whatever it claims to be: `text/plain` and form encodings are what a cross-site
HTML form can send without a preflight, so accepting them as JSON would let any
web page drive the API with a victim's cookies (sign-in CSRF). The error raised
here reaches the client through the API's HttpError handler (django-ninja wraps a
parser's exception in a 400; errors.install unwraps ours).
"""

from __future__ import annotations

from typing import Any

import orjson
from django.http import HttpRequest
from ninja.parser import Parser

from deskbase.core.errors import DomainError

JSON_TYPES = ("application/json",)


class UnsupportedMediaType(DomainError):
    status = 415


class MalformedBody(DomainError):
    status = 400


def is_json(request: HttpRequest) -> bool:
    content_type = (request.content_type or "").lower()
    return content_type in JSON_TYPES or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


class JSONParser(Parser):
    def parse_body(self, request: HttpRequest) -> Any:
        if not is_json(request):
            shown = request.content_type or "none"
            raise UnsupportedMediaType(
                f"Send the body as JSON with Content-Type: application/json (got {shown}).",
                field="Content-Type",
            )
        try:
            return orjson.loads(request.body)
        except orjson.JSONDecodeError as error:
            # orjson also stops past 1024 levels of nesting, where Python's parser would
            # overflow its stack.
            raise MalformedBody(f"The body is not valid JSON: {error}.", field="body") from None
