"""`BusinessCalendar` arithmetic in integer seconds, in O(log n) per call.

`BusinessCalendar.add` walks day by day; the generator asks two due times for each
of millions of tickets. This calendar takes the open intervals of every local day
of a window from `BusinessCalendar.intervals()` itself (so time zones, DST and
holidays are the service's own), turns them into epoch seconds, and keeps the
cumulative open time at the end of each interval. Adding business time is then
two binary searches. Outside the window it asks the real calendar, and
tests/datagen check both agree on random instants (docs/datagen.md).

Times are whole seconds: every interval bound is (time zone offsets are whole
seconds), and so are the generated `created_at` times and the targets (minutes).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import date, timedelta

from deskbase.datagen.copytext import epoch, from_epoch
from deskbase.sla.calendar import BusinessCalendar


class FastCalendar:
    def __init__(self, calendar: BusinessCalendar, first: date, last: date) -> None:
        self.calendar = calendar
        self.opens: list[int] = []
        self.closes: list[int] = []
        self.cum: list[int] = []  # open seconds from the window's start to each close
        total = 0
        day = first
        while day <= last:
            for opens, closes in calendar.intervals(day):
                start, end = epoch(opens), epoch(closes)
                if self.closes and start < self.closes[-1]:  # pragma: no cover - defensive
                    raise ValueError("business-hours intervals overlap across days")
                total += end - start
                self.opens.append(start)
                self.closes.append(end)
                self.cum.append(total)
            day += timedelta(days=1)
        # Answers within the window are exact only if the real walk would not have
        # started before it: keep a day's margin at both ends.
        self.low = self.opens[0] + 86_400 if self.opens else 0
        self.high = self.closes[-1] - 86_400 if self.closes else 0

    def add(self, start: int, seconds: int) -> int:
        """BusinessCalendar.advance(start, seconds) in epoch seconds."""
        if seconds <= 0:
            return start
        i = bisect_right(self.closes, start)
        if start < self.low or i >= len(self.closes):
            return self._slow_add(start, seconds)
        closes = self.closes[i]
        begin = self.opens[i] if self.opens[i] > start else start
        target = self.cum[i] - (closes - begin) + seconds
        j = bisect_left(self.cum, target, i)
        if j >= len(self.cum):
            return self._slow_add(start, seconds)
        return self.closes[j] - (self.cum[j] - target)

    def open_before(self, moment: int) -> int:
        """Open seconds from the window's start until `moment` (clamped to the window)."""
        i = bisect_right(self.closes, moment)
        if i >= len(self.closes):
            return self.cum[-1] if self.cum else 0
        closes = self.closes[i]
        begin = self.opens[i] if self.opens[i] > moment else moment
        return self.cum[i] - (closes - begin)

    def between(self, start: int, end: int) -> int:
        """BusinessCalendar.between(start, end) in seconds (zero when end <= start)."""
        if end <= start:
            return 0
        if start < self.low or end > self.high:
            return int(self.calendar.between(from_epoch(start), from_epoch(end)).total_seconds())
        return self.open_before(end) - self.open_before(start)

    def _slow_add(self, start: int, seconds: int) -> int:
        return epoch(self.calendar.advance(from_epoch(start), timedelta(seconds=seconds)))


class CalendarTime:
    """The same interface for a policy that counts calendar time (nights and weekends too)."""

    @staticmethod
    def add(start: int, seconds: int) -> int:
        return start + seconds if seconds > 0 else start

    @staticmethod
    def between(start: int, end: int) -> int:
        return end - start if end > start else 0
