from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from deskbase.core.tenancy import current_tenant
from deskbase.outbox import registry


@dataclass
class Recorder:
    """An in-process consumer: records each call; fails while `failing` is set."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    tenants: list[int | None] = field(default_factory=list)
    failing: Exception | None = None

    def __call__(self, payload: dict[str, Any], key: str) -> None:
        self.calls.append((key, payload))
        self.tenants.append(current_tenant())
        if self.failing is not None:
            raise self.failing

    @property
    def keys(self) -> list[str]:
        return [key for key, _ in self.calls]


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    """The consumer `test.recorder`, with three attempts per row."""
    made = Recorder()
    registry.consumer("test.recorder", max_attempts=3)(made)
    yield made
    registry.unregister("test.recorder")
