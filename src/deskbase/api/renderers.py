"""JSON out with orjson: the API's answers are encoded in C rather than by json + an encoder class.

Datetimes are written as RFC 3339 with `Z` for UTC and microseconds kept (the
database's precision), which is what the OpenAPI `date-time` format asks for.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
from django.http import HttpRequest, HttpResponse
from django.utils.functional import Promise
from ninja.renderers import BaseRenderer

OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS
MEDIA_TYPE = "application/json"


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Promise):  # a lazy translation
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(data: Any) -> bytes:
    return orjson.dumps(data, default=_default, option=OPTIONS)


class ORJSONRenderer(BaseRenderer):
    media_type = MEDIA_TYPE
    charset = "utf-8"

    def render(self, request: HttpRequest, data: Any, *, response_status: int) -> bytes:
        return dumps(data)


def json_response(data: Any, status: int = 200) -> HttpResponse:
    """An answer already in the shape of its response schema, encoded without re-validation.

    For hot lists whose rows come from a selector as plain dicts of the schema's
    fields: validating each row again (and each nested object) costs more than
    the query. The API's tests and the schemathesis run check the shape.
    """
    return HttpResponse(dumps(data), status=status, content_type=MEDIA_TYPE)
