"""Every error the API returns is a JSON problem (RFC 9457): type, title, status, detail,
and the failing fields. Bad input is a 4xx; another tenant's object is a 404."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import DataError, IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as SchemaValidationError

from deskbase.accounts.throttle import Throttled
from deskbase.core.errors import DomainError, ValidationFailed, from_integrity_error
from deskbase.core.problems import problem_response

logger = logging.getLogger(__name__)


def problem(
    api: NinjaAPI,
    request: HttpRequest,
    status: int,
    detail: str,
    errors: list[dict[str, str]] | None = None,
    **extra: Any,
) -> HttpResponse:
    return problem_response(status, detail, errors, **extra)


def _schema_errors(exc: SchemaValidationError) -> list[dict[str, str]]:
    errors = []
    for error in exc.errors:
        # loc is ("body", "payload", "field", ...) or ("query", "field"): keep the field path
        loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "payload")]
        if loc and loc[0] in ("query", "path", "header", "form", "file"):
            loc = loc[1:]
        errors.append({"field": ".".join(loc) or "__all__", "message": error.get("msg", "")})
    return errors


def install(api: NinjaAPI) -> None:
    """Map every error deskbase raises, once, for the whole API."""

    @api.exception_handler(ValidationFailed)
    def validation_failed(request: HttpRequest, exc: ValidationFailed) -> HttpResponse:
        errors = [{"field": f, "message": m} for f, ms in exc.errors.items() for m in ms]
        return problem(api, request, exc.status, exc.message, errors)

    @api.exception_handler(DomainError)
    def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
        errors = [{"field": exc.field, "message": exc.message}] if exc.field else []
        return problem(api, request, exc.status, exc.message, errors)

    @api.exception_handler(SchemaValidationError)
    def schema_error(request: HttpRequest, exc: SchemaValidationError) -> HttpResponse:
        errors = _schema_errors(exc)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:3])
        return problem(api, request, 422, detail or "Invalid input.", errors)

    @api.exception_handler(IntegrityError)
    def integrity_error(request: HttpRequest, exc: IntegrityError) -> HttpResponse:
        failed = from_integrity_error(exc)
        if failed is not None:
            return validation_failed(request, failed)
        logger.warning("unmapped constraint violation: %s", exc)
        return problem(api, request, 409, "The change conflicts with the current data.")

    @api.exception_handler(DataError)
    def data_error(request: HttpRequest, exc: DataError) -> HttpResponse:
        # A value PostgreSQL cannot store (out of range, bad encoding): the input's fault.
        detail = (str(exc).strip().splitlines() or ["invalid value"])[0]
        return problem(api, request, 422, f"The database cannot store a value: {detail}.")

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return problem(api, request, 404, "Not found.")

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return problem(api, request, 401, "Sign in, or send `Authorization: Bearer <token>`.")

    @api.exception_handler(Throttled)
    def throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
        response = problem(api, request, 429, exc.message)
        response["Retry-After"] = str(exc.retry_after)
        return response

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        # django-ninja wraps what its body parser raises in a 400; ours says better.
        if isinstance(exc.__cause__, DomainError):
            return domain_error(request, exc.__cause__)
        return problem(api, request, exc.status_code, str(exc))

    @api.exception_handler(RequestDataTooBig)
    def too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return problem(api, request, 413, f"The body is larger than {limit} bytes.",
                       [{"field": "body", "message": "Too large."}])  # fmt: skip

    @api.exception_handler(MultiPartParserError)
    def unreadable_upload(request: HttpRequest, exc: MultiPartParserError) -> HttpResponse:
        # The one multipart operation takes `file`; Django stops reading a part whose
        # headers pass 1 kB, which is what a file name of about 1,000 characters does.
        message = f"The upload cannot be read ({exc}); file names are at most 255 characters."
        return problem(api, request, 422, message, [{"field": "file", "message": message}])

    @api.exception_handler(SuspiciousOperation)
    def suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
        logger.warning("bad request: %s", exc)
        return problem(api, request, 400, "The request is malformed.")
