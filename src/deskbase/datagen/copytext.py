"""PostgreSQL COPY text format, written by hand because it is the hot path of the load.

A row is its columns joined by tabs and ended by a newline; NULL is `\\N`; a backslash,
tab, newline or carriage return inside a value is written as `\\\\`, `\\t`, `\\n`, `\\r`.
Times are integer seconds since the epoch (UTC) in the generator and are formatted
through two lookup tables, which costs a fraction of `datetime.isoformat()`.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

NULL = "\\N"
DAY = 86_400
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def escape(value: str) -> str:
    """A text value for COPY's text format."""
    return value.translate(_ESCAPES)


def jsonb(value: object) -> str:
    """A jsonb value for COPY (compact JSON, escaped: JSON may hold backslashes)."""
    return escape(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


def text_array(values: list[str] | tuple[str, ...]) -> str:
    """A varchar[] value of simple words (no quotes, commas, braces or spaces needed)."""
    return "{" + ",".join(values) + "}"


def interval(seconds: int) -> str:
    """An interval as psycopg writes a timedelta: whole days apart from the seconds."""
    days, rest = divmod(seconds, DAY)
    return f"{days} days {rest} seconds"


class Clock:
    """Formats epoch seconds as `YYYY-MM-DD HH:MM:SS+00` within a window of days.

    The tables cover [first_day, last_day]; times outside fall back to datetime.
    """

    def __init__(self, first: date, last: date) -> None:
        self.first_day = (first - date(1970, 1, 1)).days
        count = (last - first).days + 1
        self._days = [(first + timedelta(days=i)).isoformat() + " " for i in range(count)]
        self._count = count
        self._seconds = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+00" for s in range(DAY)]

    def ts(self, seconds: int) -> str:
        index = seconds // DAY - self.first_day
        if 0 <= index < self._count:
            return self._days[index] + self._seconds[seconds % DAY]
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S+00")

    def json_ts(self, seconds: int) -> str:
        """A time as to_jsonb(timestamptz) ->> '' prints it in a UTC session (history values)."""
        return datetime.fromtimestamp(seconds, UTC).isoformat()


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
