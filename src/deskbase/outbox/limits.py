"""The outbox's bounds, shared by its CHECK constraints, services and registry."""

from __future__ import annotations

from deskbase.core.jsonbounds import Bounds

CONSUMER_PATTERN = r"^[a-z][a-z0-9_.-]{0,62}$"
MAX_KEY_LENGTH = 200
MAX_ERROR_LENGTH = 2000
# A payload names what to do (ids, addresses, a short text), not a whole document:
# the consumer reads the rest when it runs. The database allows twice the size (jsonb's
# text form has spaces the compact JSON measured here has not).
PAYLOAD = Bounds(depth=8, items=2000, size=64 * 1024)
