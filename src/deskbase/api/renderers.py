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


# orjson refuses more than 254 levels and integers past 64 bits. The services keep new
# JSON far inside both (deskbase.core.jsonbounds), but a row written before those bounds,
# or by raw SQL, may hold anything jsonb does: such a value is cut at this depth (and a
# huge integer written as a string) rather than failing every list that shows its row.
ENCODABLE_DEPTH = 200
CUT = "(nested too deeply to show)"
_INT_RANGE = range(-(2**63), 2**64)


def _encodable(value: Any, depth: int = 0) -> Any:
    """A copy orjson can encode: recursion here is bounded by ENCODABLE_DEPTH."""
    if isinstance(value, dict):
        if depth >= ENCODABLE_DEPTH:
            return CUT
        return {key: _encodable(item, depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        if depth >= ENCODABLE_DEPTH:
            return CUT
        return [_encodable(item, depth + 1) for item in value]
    if isinstance(value, int) and not isinstance(value, bool) and value not in _INT_RANGE:
        return str(value)
    return value


def dumps(data: Any) -> bytes:
    try:
        return orjson.dumps(data, default=_default, option=OPTIONS)
    except orjson.JSONEncodeError:
        # Only the rare answer that holds such a value pays for the copy.
        return orjson.dumps(_encodable(data), default=_default, option=OPTIONS)


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
