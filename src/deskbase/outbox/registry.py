"""The consumers of the outbox: registered once by name, at import.

A consumer is a function `(payload: dict, key: str) -> None` that performs one
effect (send an e-mail, post a webhook, notify another process). It is called
at least once per enqueued row, so it must be idempotent by `key`: the same key
twice has the effect of once (docs/outbox.md, "The consumer contract").

Consumers live in a `consumers` module of an installed app (imported when Django
starts, in every process), or in a module named by DESKBASE_OUTBOX_CONSUMERS.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.module_loading import autodiscover_modules

from deskbase.outbox.limits import CONSUMER_PATTERN

Deliver = Callable[[dict[str, Any], str], None]

DEFAULT_MAX_ATTEMPTS = 10


class UnknownConsumer(LookupError):
    """No consumer is registered under this name (a programming error, not user input)."""


class FailedWithRecord(Exception):
    """A failed attempt whose writes stand: the consumer's record of the attempt (a
    delivery log row) commits with the failure instead of being undone with it."""


@dataclass(frozen=True)
class Consumer:
    name: str
    deliver: Deliver
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    # Seconds to wait after the 1st, 2nd, ... failed attempt (the last repeats); None:
    # the outbox's exponential back-off (docs/outbox.md, "Delivery").
    retry_schedule: tuple[float, ...] | None = None


_consumers: dict[str, Consumer] = {}


def consumer(
    name: str,
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    retry_schedule: tuple[float, ...] | None = None,
) -> Callable[[Deliver], Deliver]:
    """Decorator: register `deliver` as the outbox consumer `name` (once per name).

    `retry_schedule` replaces the exponential back-off with the consumer's own waits
    (seconds after the 1st, 2nd, ... failure, each jittered by +-20%; the last repeats).
    """
    if not re.fullmatch(CONSUMER_PATTERN, name):
        raise ValueError(f"consumer name {name!r} must match {CONSUMER_PATTERN}")
    if not 1 <= max_attempts <= 100:
        raise ValueError(f"max_attempts must be between 1 and 100, not {max_attempts}")
    if retry_schedule is not None and (
        not retry_schedule or any(not 0 < wait <= 7 * 86400 for wait in retry_schedule)
    ):
        raise ValueError("a retry schedule is one or more waits of up to 7 days, in seconds")

    def register(deliver: Deliver) -> Deliver:
        known = _consumers.get(name)
        # The same function imported again (a module reloaded) is the same consumer.
        if known is not None and _qualified(known.deliver) != _qualified(deliver):
            raise ValueError(
                f"outbox consumer {name!r} is already registered ({_qualified(known.deliver)})"
            )
        _consumers[name] = Consumer(
            name=name, deliver=deliver, max_attempts=max_attempts,
            retry_schedule=tuple(retry_schedule) if retry_schedule else None,
        )  # fmt: skip
        return deliver

    return register


def _qualified(func: Callable[..., Any]) -> str:
    name = getattr(func, "__qualname__", type(func).__qualname__)  # a callable object
    return f"{func.__module__}.{name}"


def get(name: str) -> Consumer:
    try:
        return _consumers[name]
    except KeyError:
        known = ", ".join(sorted(_consumers)) or "none"
        raise UnknownConsumer(
            f"no outbox consumer is registered as {name!r} (registered: {known})"
        ) from None


def max_attempts(name: str) -> int:
    """The attempts a row of `name` gets (the default for a consumer not registered here)."""
    known = _consumers.get(name)
    return known.max_attempts if known else DEFAULT_MAX_ATTEMPTS


def retry_schedule(name: str) -> tuple[float, ...] | None:
    """The consumer's own waits between attempts, or None for the outbox's back-off."""
    known = _consumers.get(name)
    return known.retry_schedule if known else None


def names() -> list[str]:
    return sorted(_consumers)


def unregister(name: str) -> None:
    """Forget a consumer (tests register their own)."""
    _consumers.pop(name, None)


def autodiscover() -> None:
    """Import every installed app's `consumers` module, then the configured modules."""
    autodiscover_modules("consumers")
    for module in getattr(settings, "OUTBOX_CONSUMER_MODULES", ()):
        importlib.import_module(module)
