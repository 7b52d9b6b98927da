"""Business-time arithmetic: the open hours of an organization, in its own time zone.

Business hours are wall-clock spans per weekday (`{"mon": [["09:00", "17:00"]], ...}`,
"24:00" allowed as an end) in the organization's time zone; holidays are local dates
on which nothing is open. Each span of a local day becomes one interval of real
(UTC) time, so a day with a DST change counts the hours that really elapse: a
00:00-24:00 span is 23 hours on the spring-forward day and 25 on the fall-back day.

Wall times that do not map to exactly one instant:
- an ambiguous time (the repeated hour when clocks go back) means its first occurrence;
- a time skipped when clocks go forward means the instant of the jump, so a span lying
  wholly inside the skipped hour is empty.

See docs/sla.md.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from deskbase.organizations.models import WEEKDAYS, Holiday

if TYPE_CHECKING:
    from deskbase.organizations.models import Organization

Interval = tuple[datetime, datetime]
_ZERO = timedelta(0)
_ONE_DAY = timedelta(days=1)


def _minute_of_day(value: str) -> int:
    hours, _, minutes = value.partition(":")
    minute = int(hours) * 60 + int(minutes)
    if not 0 <= minute <= 24 * 60:
        raise ValueError(f"{value!r} is not a time of day (00:00 to 24:00)")
    return minute


Span = tuple[int, int]  # minutes after local midnight


def _parse_hours(business_hours: Mapping[str, Sequence[Sequence[str]]]) -> list[list[Span]]:
    """Per weekday (Monday first), the open spans in order."""
    week: list[list[Span]] = []
    for day in WEEKDAYS:
        spans = sorted(
            (_minute_of_day(a), _minute_of_day(b)) for a, b in business_hours.get(day, [])
        )
        previous_end = 0
        for start, end in spans:
            if start >= end:
                raise ValueError(f"{day}: a business-hours span must end after it starts")
            if start < previous_end:  # overlapping spans would count their overlap twice
                raise ValueError(f"{day}: business-hours spans overlap")
            previous_end = end
        week.append(spans)
    return week


# between(): the local days at each end looked at interval by interval (the day before
# the start's and the start's own; the end's own and the day after it).
EDGE_DAYS = 2


class BusinessCalendar:
    """When an organization is open, and how much open time lies between two instants."""

    def __init__(
        self,
        timezone: str,
        business_hours: Mapping[str, Sequence[Sequence[str]]],
        holidays: frozenset[date] = frozenset(),
    ) -> None:
        self.timezone = timezone
        self.zone = zoneinfo.ZoneInfo(timezone)
        self.holidays = frozenset(holidays)
        self._week = _parse_hours(business_hours)
        # A day's intervals are asked for again and again (every add and between of
        # a ticket walks the same days), and computing them costs zoneinfo lookups.
        self._days: dict[date, list[Interval]] = {}
        # Running totals of whole days' open time from _first (index i: the days before
        # _first + i), so the time between two instants months apart costs two edge
        # days and a subtraction, not a walk over every day between.
        self._first: date | None = None
        self._running: list[timedelta] = []

    def __repr__(self) -> str:
        return f"BusinessCalendar({self.timezone!r}, {len(self.holidays)} holidays)"

    @property
    def is_ever_open(self) -> bool:
        return any(self._week)

    def add(self, start: datetime, minutes: int) -> datetime:
        """The instant (UTC) at which `minutes` of business time have elapsed after `start`."""
        if minutes < 0:
            raise ValueError("cannot add a negative amount of business time")
        return self.advance(start, timedelta(minutes=minutes))

    def advance(self, start: datetime, duration: timedelta) -> datetime:
        """Like add(), for any duration (pauses are not whole minutes).

        Reaching the target exactly at the close of a span answers that close
        (17:00), not the next opening.
        """
        cursor = _utc(start, "start")
        if duration <= _ZERO:
            return cursor
        if not self.is_ever_open:
            raise ValueError(
                f"business hours are empty: no weekday has an open span in {self.timezone}, "
                "so business time never elapses"
            )
        remaining = duration
        for opens, closes in self._intervals_from(self._local_date(cursor) - _ONE_DAY):
            if closes <= cursor:
                continue
            begin = max(opens, cursor)
            if closes - begin >= remaining:
                return begin + remaining
            remaining -= closes - begin
        raise AssertionError("unreachable: _intervals_from() never ends")  # pragma: no cover

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Business time elapsed from `start` to `end` (zero when end <= start)."""
        start, end = _utc(start, "start"), _utc(end, "end")
        if end <= start:
            return _ZERO
        first, last = self._local_date(start) - _ONE_DAY, self._local_date(end) + _ONE_DAY
        if (last - first).days <= EDGE_DAYS * 2:
            return self._overlap(first, last, start, end)
        # The days around each end partly; every local day strictly between them wholly
        # (its intervals lie after the start's local day and before the end's).
        return (
            self._overlap(first, first + _ONE_DAY, start, end)
            + self._whole_days(first + EDGE_DAYS * _ONE_DAY, last - EDGE_DAYS * _ONE_DAY)
            + self._overlap(last - _ONE_DAY, last, start, end)
        )

    def _overlap(self, first: date, last: date, start: datetime, end: datetime) -> timedelta:
        total, day = _ZERO, first
        while day <= last:
            for opens, closes in self.intervals(day):
                overlap = min(closes, end) - max(opens, start)
                if overlap > _ZERO:
                    total += overlap
            day += _ONE_DAY
        return total

    def _whole_days(self, first: date, last: date) -> timedelta:
        """The open time of the local days first..last, both included."""
        if self._first is None or first < self._first:
            self._first, self._running = first, [_ZERO]
        base = self._first
        while len(self._running) <= (last - base).days + 1:
            day = base + timedelta(days=len(self._running) - 1)
            opened = sum((closes - opens for opens, closes in self.intervals(day)), _ZERO)
            self._running.append(self._running[-1] + opened)
        return self._running[(last - base).days + 1] - self._running[(first - base).days]

    def intervals(self, day: date) -> list[Interval]:
        """The open intervals (UTC, ordered, disjoint) of one local date."""
        cached = self._days.get(day)
        if cached is None:
            cached = []
            if day not in self.holidays:
                for start, end in self._week[day.weekday()]:
                    opens, closes = self._instant(day, start), self._instant(day, end)
                    if closes > opens:  # empty when the span lies in a skipped DST hour
                        cached.append((opens, closes))
            self._days[day] = cached
        return cached

    def _intervals_from(self, day: date) -> Iterator[Interval]:
        # Endless: callers stop once their target is reached; is_ever_open guarantees
        # an open weekday, and the holidays are finite, so that happens.
        while True:
            yield from self.intervals(day)
            day += _ONE_DAY

    def _local_date(self, instant: datetime) -> date:
        return instant.astimezone(self.zone).date()

    def _instant(self, day: date, minute: int) -> datetime:
        """The UTC instant of a wall-clock minute of a local date (24:00 is next midnight)."""
        wall = datetime.combine(day, time()) + timedelta(minutes=minute)
        first = wall.replace(tzinfo=self.zone).astimezone(UTC)  # fold=0: first occurrence
        if first.astimezone(self.zone).replace(tzinfo=None) == wall:
            return first
        return self._transition(wall, first)

    def _transition(self, wall: datetime, upper: datetime) -> datetime:
        """The instant the clock jumped over `wall` (a time skipped by a DST change).

        Read with the offset after the jump, `wall` lies before the jump; read with
        the offset before it, at or after: bisect between them (whole seconds, as
        tzdata's transitions are).
        """
        after = upper.astimezone(self.zone).utcoffset()
        lower = wall.replace(tzinfo=self.zone, fold=1).astimezone(UTC)
        low, high = int(lower.timestamp()), int(upper.timestamp())
        while high - low > 1:
            middle = (low + high) // 2
            if datetime.fromtimestamp(middle, self.zone).utcoffset() == after:
                high = middle
            else:
                low = middle
        return datetime.fromtimestamp(high, UTC)


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def calendar_for(organization: Organization) -> BusinessCalendar:
    """The organization's calendar; its holidays are read with one query.

    Holidays are tenant rows: under the application role, call this inside
    `tenant(organization)`.
    """
    holidays = frozenset(
        Holiday.objects.filter(organization=organization).values_list("date", flat=True)
    )
    return BusinessCalendar(organization.timezone, organization.business_hours, holidays)
