"""Business-time arithmetic: open spans per weekday in the organization's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deskbase.organizations.models import Holiday
from deskbase.sla.calendar import BusinessCalendar, calendar_for

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS_9_TO_5 = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
ALWAYS_OPEN = {
    day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
}


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


@pytest.fixture
def office() -> BusinessCalendar:
    """Berlin, Monday to Friday 09:00-17:00, no holidays."""
    return BusinessCalendar("Europe/Berlin", WEEKDAYS_9_TO_5, frozenset())


# 2025-03-03 is a Monday; 2025-03-07 a Friday.


@pytest.mark.parametrize(
    ("start", "minutes", "expected"),
    [
        pytest.param(berlin(2025, 3, 3, 10), 60, berlin(2025, 3, 3, 11), id="within-a-span"),
        pytest.param(berlin(2025, 3, 3, 16), 120, berlin(2025, 3, 4, 10), id="into-next-day"),
        pytest.param(berlin(2025, 3, 7, 16), 120, berlin(2025, 3, 10, 10), id="over-weekend"),
        pytest.param(berlin(2025, 3, 8, 12), 30, berlin(2025, 3, 10, 9, 30), id="from-saturday"),
        pytest.param(berlin(2025, 3, 3, 7), 30, berlin(2025, 3, 3, 9, 30), id="before-opening"),
        pytest.param(berlin(2025, 3, 3, 18), 30, berlin(2025, 3, 4, 9, 30), id="after-closing"),
        pytest.param(berlin(2025, 3, 3, 9), 480, berlin(2025, 3, 3, 17), id="exactly-a-day"),
        pytest.param(berlin(2025, 3, 8, 12), 0, berlin(2025, 3, 8, 12), id="zero-minutes"),
    ],
)
def test_add_counts_only_open_hours(office, start, minutes, expected):
    # Given an office open on weekdays from nine to five
    # When business minutes are added to an instant
    due = office.add(start, minutes)
    # Then the answer skips closed hours and nights, and is in UTC
    assert due == expected
    assert due.tzinfo is UTC


def test_a_target_met_exactly_at_closing_time_is_due_at_closing_time(office):
    # Given a start at 09:00 and a target of a whole working day
    # Then it is due at 17:00 the same day, not at 09:00 the next
    assert office.add(berlin(2025, 3, 3, 9), 8 * 60) == berlin(2025, 3, 3, 17)


def test_holidays_are_skipped():
    # Given Monday 10 March is a holiday
    calendar = BusinessCalendar("Europe/Berlin", WEEKDAYS_9_TO_5, frozenset({date(2025, 3, 10)}))
    # When two hours are added at Friday 16:00
    # Then the clock runs one hour on Friday and one on Tuesday
    assert calendar.add(berlin(2025, 3, 7, 16), 120) == berlin(2025, 3, 11, 10)
    assert calendar.between(berlin(2025, 3, 10, 0), berlin(2025, 3, 11, 0)) == timedelta(0)


def test_several_spans_a_day_leave_out_the_lunch_break():
    # Given a lunch break from 12:00 to 13:00
    hours = {"mon": [["09:00", "12:00"], ["13:00", "17:00"]]}
    calendar = BusinessCalendar("Europe/Berlin", hours, frozenset())
    # When two hours are added at 11:00
    # Then the break does not count
    assert calendar.add(berlin(2025, 3, 3, 11), 120) == berlin(2025, 3, 3, 14)
    assert calendar.between(berlin(2025, 3, 3, 0), berlin(2025, 3, 4, 0)) == timedelta(hours=7)
    # And the week only has Monday: the next hour after Monday closes is next Monday
    assert calendar.add(berlin(2025, 3, 3, 16), 120) == berlin(2025, 3, 10, 10)


def test_office_hours_keep_their_wall_clock_times_across_a_dst_change(office):
    # Given Berlin changes to summer time on Sunday 30 March 2025 (UTC+1 -> UTC+2)
    # When two hours are added on Friday 16:00 CET (15:00 UTC)
    due = office.add(berlin(2025, 3, 28, 16), 120)
    # Then Monday's hour starts at 09:00 CEST, which is 07:00 UTC
    assert due == datetime(2025, 3, 31, 8, tzinfo=UTC)
    # And the same in autumn, back to UTC+1 on Sunday 26 October
    assert office.add(berlin(2025, 10, 24, 16), 120) == datetime(2025, 10, 27, 9, tzinfo=UTC)


def test_a_day_that_is_open_around_the_clock_lasts_23_or_25_hours_on_dst_days():
    calendar = BusinessCalendar("Europe/Berlin", ALWAYS_OPEN, frozenset())
    # Spring forward: the local day of 30 March has 23 hours
    assert calendar.between(berlin(2025, 3, 30), berlin(2025, 3, 31)) == timedelta(hours=23)
    # Fall back: the local day of 26 October has 25 hours
    assert calendar.between(berlin(2025, 10, 26), berlin(2025, 10, 27)) == timedelta(hours=25)
    # And 24 hours of business time from Saturday noon end at Sunday 13:00 local time
    assert calendar.add(berlin(2025, 3, 29, 12), 24 * 60) == berlin(2025, 3, 30, 13)


def test_a_span_around_the_skipped_hour_counts_only_real_time():
    # Given Sunday hours 01:00-04:00, and 02:00-03:00 does not exist on 30 March
    calendar = BusinessCalendar("Europe/Berlin", {"sun": [["01:00", "04:00"]]}, frozenset())
    # Then that Sunday is open two real hours, a normal Sunday three
    assert calendar.between(berlin(2025, 3, 30), berlin(2025, 3, 31)) == timedelta(hours=2)
    assert calendar.between(berlin(2025, 3, 23), berlin(2025, 3, 24)) == timedelta(hours=3)
    # And a span wholly inside the skipped hour is empty that day
    skipped = BusinessCalendar("Europe/Berlin", {"sun": [["02:00", "02:30"]]}, frozenset())
    assert skipped.intervals(date(2025, 3, 30)) == []
    assert skipped.add(berlin(2025, 3, 29), 30) == berlin(2025, 4, 6, 2, 30)


def test_between_is_zero_when_the_end_is_not_after_the_start(office):
    assert office.between(berlin(2025, 3, 3, 12), berlin(2025, 3, 3, 10)) == timedelta(0)
    assert office.between(berlin(2025, 3, 3, 12), berlin(2025, 3, 3, 12)) == timedelta(0)


def test_between_sums_a_working_week(office):
    assert office.between(berlin(2025, 3, 1), berlin(2025, 3, 8)) == timedelta(hours=40)
    assert office.between(berlin(2025, 3, 3, 16), berlin(2025, 3, 4, 10)) == timedelta(hours=2)


def test_targets_of_weeks_are_quick(office):
    # Given a target of six working weeks (40 hours each)
    # When it starts Monday 09:00
    due = office.add(berlin(2025, 1, 6, 9), 6 * 40 * 60)
    # Then it is due at the close of the sixth Friday
    assert due == berlin(2025, 2, 14, 17)


def test_a_calendar_that_is_never_open_cannot_add_time():
    calendar = BusinessCalendar("Europe/Berlin", {"mon": []}, frozenset())
    with pytest.raises(ValueError, match="no weekday has an open span"):
        calendar.add(berlin(2025, 3, 3), 60)
    # But it can tell that no business time elapsed
    assert calendar.between(berlin(2025, 3, 3), berlin(2025, 3, 10)) == timedelta(0)


def test_naive_datetimes_are_refused(office):
    with pytest.raises(ValueError, match="aware"):
        office.add(datetime(2025, 3, 3, 10), 60)


def test_overlapping_spans_are_refused():
    with pytest.raises(ValueError, match="overlap"):
        BusinessCalendar("UTC", {"mon": [["09:00", "12:00"], ["11:00", "17:00"]]}, frozenset())


@pytest.mark.django_db
def test_calendar_for_reads_the_organizations_zone_hours_and_holidays(
    tenant_a, django_assert_num_queries
):
    # Given an organization in New York with a holiday on Monday 3 March 2025
    org = tenant_a.org
    org.timezone = "America/New_York"
    org.save()
    Holiday.objects.create(organization=org, date=date(2025, 3, 3), name="Founders' Day")
    # When its calendar is built
    with django_assert_num_queries(1):
        calendar = calendar_for(org)
    # Then the holiday is closed and Tuesday opens at 09:00 New York time (14:00 UTC)
    start = datetime(2025, 3, 3, 12, tzinfo=UTC)
    assert calendar.add(start, 60) == datetime(2025, 3, 4, 15, tzinfo=UTC)


# --- properties ---------------------------------------------------------------------------

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata",
         "America/Santiago"]  # fmt: skip
HOURS = [
    WEEKDAYS_9_TO_5,
    ALWAYS_OPEN,
    {"mon": [["08:00", "12:00"], ["13:00", "17:30"]], "sat": [["10:00", "14:00"]]},
    {"sun": [["00:00", "03:00"], ["23:00", "24:00"]], "wed": [["01:30", "02:45"]]},
]
calendars = st.builds(
    BusinessCalendar,
    st.sampled_from(ZONES),
    st.sampled_from(HOURS),
    st.frozensets(st.dates(date(2024, 1, 1), date(2026, 12, 31)), max_size=20),
)
instants = st.datetimes(datetime(2024, 1, 1), datetime(2026, 12, 31), timezones=st.just(UTC))
minutes = st.integers(min_value=0, max_value=20_000)


@settings(deadline=None, max_examples=300)
@given(calendars, instants, minutes)
def test_between_measures_exactly_what_add_added(calendar, start, target):
    due = calendar.add(start, target)
    assert due >= start
    assert calendar.between(start, due) == timedelta(minutes=target)


@settings(deadline=None, max_examples=200)
@given(calendars, instants, minutes)
def test_add_answers_the_earliest_instant(calendar, start, target):
    due = calendar.add(start, target)
    if target > 0:
        assert calendar.between(start, due - timedelta(seconds=1)) < timedelta(minutes=target)


@settings(deadline=None, max_examples=200)
@given(calendars, instants, minutes, minutes)
def test_adding_in_two_steps_is_adding_once(calendar, start, first, second):
    assert calendar.add(calendar.add(start, first), second) == calendar.add(start, first + second)


@settings(deadline=None, max_examples=200)
@given(calendars, instants, instants, instants)
def test_between_is_additive(calendar, a, b, c):
    a, b, c = sorted((a, b, c))
    assert calendar.between(a, c) == calendar.between(a, b) + calendar.between(b, c)


@settings(deadline=None, max_examples=200)
@given(calendars, st.lists(st.tuples(instants, instants), min_size=1, max_size=6))
def test_between_of_long_spans_equals_the_walk_over_every_day(calendar, spans):
    # Given one calendar asked again and again, in any order (its running totals reused)
    for a, b in spans:
        a, b = min(a, b), max(a, b)
        # Then each answer is the day-by-day walk's
        walked = calendar._overlap(
            calendar._local_date(a) - timedelta(days=1),
            calendar._local_date(b) + timedelta(days=1), a, b,
        )  # fmt: skip
        assert calendar.between(a, b) == walked
