"""Idempotency-Key for creating requests: a retry gets the first answer.

- the same key and body again: the stored status and body, nothing written twice;
- the same key with another body: 422;
- the same key while the first request is still running: 409.
Keys are per user and per endpoint; rows are kept with the tenant's data.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection

from deskbase.accounts.requests import ApiRequest
from deskbase.api.models import IdempotencyKey
from deskbase.core.errors import Conflict, ValidationFailed

HEADER = "Idempotency-Key"


def _hash(payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, cls=DjangoJSONEncoder)
    return hashlib.sha256(canonical.encode()).hexdigest()


def run(
    request: ApiRequest, *, scope: str, payload: Any, work: Callable[[], tuple[int, Any]]
) -> tuple[int, Any]:
    key = request.headers.get(HEADER, "").strip()
    if not key:
        return work()
    if len(key) > 200:
        raise ValidationFailed.one(HEADER, "An Idempotency-Key is at most 200 characters.")
    user = request.auth
    with connection.cursor() as cursor:
        # A second request with this key waits for nobody: it is told to retry later.
        lock = f"idempotency:{user.tenant_id}:{user.id}:{scope}:{key}"
        cursor.execute("SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", [lock])
        if not cursor.fetchone()[0]:
            raise Conflict("a request with this Idempotency-Key is still running", field=HEADER)
    digest = _hash(payload)
    earlier = IdempotencyKey.objects.filter(
        organization_id=user.tenant_id, user=user, scope=scope, key=key
    ).first()
    if earlier is not None:
        if earlier.request_hash != digest:
            raise ValidationFailed.one(HEADER, "This key was used with a different request body.")
        return earlier.status, earlier.body
    status, body = work()
    IdempotencyKey.objects.create(
        organization_id=user.tenant_id, user=user, scope=scope, key=key,
        request_hash=digest, status=status,
        body=json.loads(json.dumps(body, cls=DjangoJSONEncoder)),
    )  # fmt: skip
    return status, body
