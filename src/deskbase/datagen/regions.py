"""Time zones, opening hours and public holidays the generated organizations work with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from deskbase.organizations.models import WEEKDAYS


@dataclass(frozen=True)
class Zone:
    name: str
    region: str
    weight: int


ZONES = (
    Zone("Europe/Berlin", "europe", 22), Zone("America/New_York", "us", 20),
    Zone("Europe/London", "uk", 12), Zone("America/Los_Angeles", "us", 10),
    Zone("America/Chicago", "us", 6), Zone("Asia/Tokyo", "japan", 7),
    Zone("Asia/Kolkata", "india", 8), Zone("Australia/Sydney", "australia", 5),
    Zone("America/Sao_Paulo", "brazil", 5), Zone("UTC", "europe", 5),
)  # fmt: skip

_WEEK = WEEKDAYS[:5]
# Business-hours variants: office hours, long hours, a lunch break, a Saturday, 24x7.
_VARIANTS: tuple[dict[str, list[list[str]]], ...] = (
    {day: [["09:00", "17:00"]] for day in _WEEK},
    {day: [["08:00", "18:00"]] for day in _WEEK},
    {day: [["09:00", "12:30"], ["13:30", "18:00"]] for day in _WEEK},
    {**{day: [["08:00", "20:00"]] for day in _WEEK}, "sat": [["10:00", "14:00"]]},
    {day: [["00:00", "24:00"]] for day in WEEKDAYS},
)


def business_hours(variant: int) -> dict[str, list[list[str]]]:
    hours = _VARIANTS[variant]
    return {day: [list(span) for span in hours.get(day, [])] for day in WEEKDAYS}


# (month, day, name) closed every year.
_FIXED = {
    "europe": ((1, 1, "New Year's Day"), (5, 1, "Labour Day"), (10, 3, "Unity Day"),
               (12, 24, "Christmas Eve"), (12, 25, "Christmas Day"), (12, 26, "Boxing Day")),
    "uk": ((1, 1, "New Year's Day"), (12, 25, "Christmas Day"), (12, 26, "Boxing Day")),
    "us": ((1, 1, "New Year's Day"), (6, 19, "Juneteenth"), (7, 4, "Independence Day"),
           (11, 11, "Veterans Day"), (12, 25, "Christmas Day")),
    "japan": ((1, 1, "New Year's Day"), (1, 2, "Bank Holiday"), (1, 3, "Bank Holiday"),
              (5, 3, "Constitution Day"), (5, 5, "Children's Day"), (11, 3, "Culture Day")),
    "india": ((1, 26, "Republic Day"), (8, 15, "Independence Day"),
              (10, 2, "Gandhi Jayanti"), (12, 25, "Christmas Day")),
    "australia": ((1, 1, "New Year's Day"), (1, 26, "Australia Day"), (4, 25, "Anzac Day"),
                  (12, 25, "Christmas Day"), (12, 26, "Boxing Day")),
    "brazil": ((1, 1, "New Year's Day"), (4, 21, "Tiradentes"), (9, 7, "Independence Day"),
               (10, 12, "Our Lady of Aparecida"), (11, 15, "Republic Day"),
               (12, 25, "Christmas Day")),
}  # fmt: skip


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _movable(region: str, year: int) -> list[tuple[date, str]]:
    if region == "us":
        return [(_nth_weekday(year, 11, 3, 4), "Thanksgiving"),
                (_nth_weekday(year, 9, 0, 1), "Labor Day")]  # fmt: skip
    if region == "uk":
        return [(_nth_weekday(year, 5, 0, 1), "Early May bank holiday"),
                (_nth_weekday(year, 8, 0, 4), "Summer bank holiday")]  # fmt: skip
    return []


def holidays_between(region: str, first: date, last: date) -> list[tuple[date, str]]:
    """The region's holidays from `first` to `last`, one per date, in order."""
    found: dict[date, str] = {}
    for year in range(first.year, last.year + 1):
        for month, day, name in _FIXED[region]:
            found.setdefault(date(year, month, day), name)
        for moved, name in _movable(region, year):
            found.setdefault(moved, name)
    return sorted((day, name) for day, name in found.items() if first <= day <= last)
