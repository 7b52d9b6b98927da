"""The shared e-mail corpus (beside the checkout, never copied into it) and a hang guard."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "email-corpus"


@contextmanager
def hang_guard(seconds: int = 10) -> Iterator[None]:
    """Fails when the block runs for many seconds: a check for hangs, not a timing assertion."""

    def hung(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s: the parser hangs on this input")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
