"""Throttling failed sign-ins, per account and per address, shared by all processes.

Each failure counts against two keys — the account (organization + email) and
the client address — in a fixed window. Past the limit, sign-in is refused for
the rest of the window with a message that says when to try again, even with
the right password (a guesser learns nothing from the answer).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import connection

ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20
WINDOW = timedelta(minutes=15)
# The window as a statement parameter: psycopg sends a timedelta as an interval, a type
# django-stubs leaves out of what a cursor takes.
_WINDOW_PARAM: Any = WINDOW


@dataclass(frozen=True)
class Throttled(Exception):
    retry_after: int  # seconds
    what: str = "failed sign-ins"

    @property
    def message(self) -> str:
        minutes = max(1, round(self.retry_after / 60))
        return f"Too many {self.what}; try again in {minutes} minute{'s' * (minutes != 1)}."


def _keys(organization: str, email: str, address: str) -> dict[str, int]:
    account = f"account:{organization.strip().lower()}:{email.strip().lower()}"
    return {
        hashlib.sha256(account.encode()).hexdigest(): ACCOUNT_LIMIT,
        hashlib.sha256(f"address:{address}".encode()).hexdigest(): ADDRESS_LIMIT,
    }


def check(organization: str, email: str, address: str) -> bool:
    """Raise Throttled when the account or the address is over its limit.

    Return whether the account has failures on record: only then does a successful
    sign-in need `record_success` (most sign-ins skip that statement)."""
    keys = _keys(organization, email, address)
    account_key = next(iter(keys))
    recorded = False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT key, failures, extract(epoch FROM window_started_at + %s - now())::int"
            " FROM accounts_signinthrottle WHERE key = ANY(%s)"
            " AND window_started_at > now() - %s",
            [_WINDOW_PARAM, list(keys), _WINDOW_PARAM],
        )
        for key, failures, remaining in cursor.fetchall():
            if failures >= keys[key]:
                raise Throttled(retry_after=max(int(remaining), 1))
            recorded = recorded or (key == account_key and failures > 0)
    return recorded


# One more failure for a key, in a window that starts again once it has passed.
COUNT_FAILURE_SQL = (
    "INSERT INTO accounts_signinthrottle AS t (key, failures, window_started_at)"
    " VALUES (%s, 1, now()) ON CONFLICT (key) DO UPDATE SET"
    " failures = CASE WHEN t.window_started_at > now() - %s"
    "   THEN t.failures + 1 ELSE 1 END,"
    " window_started_at = CASE WHEN t.window_started_at > now() - %s"
    "   THEN t.window_started_at ELSE now() END"
)


def record_failure(organization: str, email: str, address: str) -> None:
    with connection.cursor() as cursor:
        for key in _keys(organization, email, address):
            cursor.execute(COUNT_FAILURE_SQL, [key, _WINDOW_PARAM, _WINDOW_PARAM])


def record_success(organization: str, email: str) -> None:
    account_key = next(iter(_keys(organization, email, "")))
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM accounts_signinthrottle WHERE key = %s", [account_key])


# ------------------------------------------------------------------ bearer tokens
# Requests with a wrong bearer token, per client address. Past the limit every bearer
# request from that address is refused for the rest of the window, a right token too
# (so guessing learns nothing). The check costs no query of its own: it is part of
# the token lookup (accounts.tokens), and a failure is one upsert.
TOKEN_ADDRESS_LIMIT = 30
TOKEN_FAILURES = "requests with an invalid token from your address"  # noqa: S105 - a message


def token_address_key(address: str) -> str:
    return hashlib.sha256(f"token-address:{address}".encode()).hexdigest()


# Seconds left in the window of an address over its limit, else NULL: a subquery for
# the token lookup. Parameters: the key, then the limit.
ADDRESS_BLOCKED_SQL = (
    "(SELECT greatest(1, extract(epoch FROM window_started_at + interval '15 minutes'"
    " - now())::int) FROM accounts_signinthrottle WHERE key = %s AND failures >= %s"
    " AND window_started_at > now() - interval '15 minutes')"
)
assert timedelta(minutes=15) == WINDOW, "ADDRESS_BLOCKED_SQL spells the window out"


def record_token_failure(address: str) -> None:
    """Count a wrong token from `address`; raise Throttled once it is over the limit."""
    with connection.cursor() as cursor:
        cursor.execute(
            COUNT_FAILURE_SQL + " RETURNING failures,"
            " greatest(1, extract(epoch FROM window_started_at + %s - now())::int)",
            [token_address_key(address), _WINDOW_PARAM, _WINDOW_PARAM, _WINDOW_PARAM],
        )
        failures, remaining = cursor.fetchone()
    if failures > TOKEN_ADDRESS_LIMIT:
        raise Throttled(retry_after=int(remaining), what=TOKEN_FAILURES)
