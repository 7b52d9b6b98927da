from __future__ import annotations

import pytest

from deskbase.search import plan


@pytest.fixture(autouse=True)
def _fresh_estimates():
    """Per-lexeme estimates are cached per process: each test starts without them."""
    plan.forget()
    yield
    plan.forget()
