"""When tickets are created: two years with growth, weekday and hour-of-day seasonality.

The intensity of hour h is growth(h) x weekday(local day) x hour_of_day(local hour),
read in the organization's time zone (DST included). An organization's tickets are
placed by stratified inverse-CDF sampling: ticket i of n falls at the quantile
(i + u) / n of the organization's cumulative intensity from its start, so each
organization's stream comes out sorted by time (numbers follow creation order)
with O(1) memory, and `heapq.merge` interleaves the organizations into one stream
in creation order: ticket ids grow with time across tenants, as in a live desk.
"""

from __future__ import annotations

import random
from array import array
from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

HOUR = 3600
# Monday first: busy early in the week, quiet at weekends.
WEEKDAY_FACTOR = (1.25, 1.2, 1.15, 1.1, 0.95, 0.3, 0.25)
# Local hour 0..23: nights are quiet, peaks mid-morning and mid-afternoon.
HOUR_FACTOR = (
    0.08, 0.05, 0.04, 0.04, 0.05, 0.1, 0.25, 0.5, 0.8, 1.0, 1.1, 1.05,
    0.85, 0.95, 1.05, 1.0, 0.9, 0.7, 0.45, 0.35, 0.3, 0.25, 0.18, 0.12,
)  # fmt: skip
GROWTH_FROM, GROWTH_TO = 0.6, 1.4  # the desk is busier now than two years ago

Arrival = tuple[int, int, int]  # (created_at epoch seconds, organization index, number)
# (start, hours, zone) -> cumulative intensity; loads with the same "now" share them.
_CUMULATIVE: dict[tuple[int, int, str], array] = {}


class Arrivals:
    """Cumulative hourly intensity per time zone over [start, end)."""

    def __init__(self, start: int, end: int) -> None:
        self.start = start
        self.hours = max(1, (end - start) // HOUR)

    def cumulative(self, zone: str) -> array:
        key = (self.start, self.hours, zone)
        if key not in _CUMULATIVE:
            _CUMULATIVE[key] = self._build(ZoneInfo(zone))
        return _CUMULATIVE[key]

    def _build(self, zone: ZoneInfo) -> array:
        cum = array("d", [0.0])
        total = 0.0
        span = GROWTH_TO - GROWTH_FROM
        for h in range(self.hours):
            local = datetime.fromtimestamp(self.start + h * HOUR, UTC).astimezone(zone)
            growth = GROWTH_FROM + span * h / self.hours
            total += growth * WEEKDAY_FACTOR[local.weekday()] * HOUR_FACTOR[local.hour]
            cum.append(total)
        return cum

    def stream(
        self, zone: str, begin: int, count: int, index: int, rng: random.Random
    ) -> Iterator[Arrival]:
        """`count` creation times from `begin` to the end, sorted, numbered 1..count."""
        cum = self.cumulative(zone)
        last = self.hours - 1
        b = min(last, max(0, (begin - self.start) // HOUR))
        low = cum[b]
        total = cum[-1] - low
        for i in range(count):
            u = low + (i + rng.random()) / count * total
            while b < last and cum[b + 1] < u:
                b += 1
            width = cum[b + 1] - cum[b]
            offset = int((u - cum[b]) / width * HOUR) if width > 0 else 0
            yield (self.start + b * HOUR + min(max(offset, 0), HOUR - 1), index, i + 1)
