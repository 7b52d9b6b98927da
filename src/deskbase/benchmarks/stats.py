"""Summaries of latency samples: median, p95, p99 by the nearest-rank method."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile: the smallest sample with at least q% of samples <= it.

    Nearest rank returns a value that was really measured (no interpolation), so
    p99 of 200 samples is the 198th smallest: two slower samples exist.
    """
    if not values:
        raise ValueError("no samples")
    if not 0 < q <= 100:
        raise ValueError(f"percentile {q} is not in (0, 100]")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def summarize(values_ms: Sequence[float]) -> dict[str, float | None]:
    """median, p95, p99, min, max and mean in milliseconds (None without samples)."""
    keys = ("median_ms", "p95_ms", "p99_ms", "min_ms", "max_ms", "mean_ms")
    if not values_ms:
        return dict.fromkeys(keys)
    numbers = (
        statistics.median(values_ms),
        percentile(values_ms, 95),
        percentile(values_ms, 99),
        min(values_ms),
        max(values_ms),
        statistics.fmean(values_ms),
    )
    return {key: round(value, 3) for key, value in zip(keys, numbers, strict=True)}


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 2)
