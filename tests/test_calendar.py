"""The working calendar: day time, on-call time and GP hours (routing-policy.md, "Periods")."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from routing import Calendar, DayHours, Period

CPH = ZoneInfo("Europe/Copenhagen")
CALENDAR = Calendar()


def local(year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=CPH)


PERIODS = [
    # Ordinary Monday 23 November 2026 around the day-hour boundaries.
    pytest.param(local(2026, 11, 23, 7, 59, 59), Period.ONCALL, id="weekday-07:59:59-before-day"),
    pytest.param(local(2026, 11, 23, 8, 0), Period.DAY, id="weekday-08:00-day-starts"),
    pytest.param(local(2026, 11, 23, 10, 0), Period.DAY, id="weekday-10:00"),
    pytest.param(local(2026, 11, 23, 14, 59, 59), Period.DAY, id="weekday-14:59:59-still-day"),
    pytest.param(local(2026, 11, 23, 15, 0), Period.ONCALL, id="weekday-15:00-oncall-starts"),
    pytest.param(local(2026, 11, 23, 16, 0), Period.ONCALL, id="weekday-16:00"),
    pytest.param(local(2026, 11, 23, 2, 0), Period.ONCALL, id="weekday-night"),
    pytest.param(local(2026, 11, 21, 10, 0), Period.ONCALL, id="saturday-10:00"),
    pytest.param(local(2026, 11, 22, 10, 0), Period.ONCALL, id="sunday-10:00"),
    # Public holidays and the extra closed days: on-call all day.
    pytest.param(local(2026, 4, 6, 10, 0), Period.ONCALL, id="easter-monday-2026"),
    pytest.param(local(2026, 4, 2, 10, 0), Period.ONCALL, id="maundy-thursday-2026"),
    pytest.param(local(2026, 5, 14, 10, 0), Period.ONCALL, id="ascension-day-2026"),
    pytest.param(local(2026, 12, 24, 10, 0), Period.ONCALL, id="christmas-eve-thursday-2026"),
    pytest.param(local(2026, 12, 31, 10, 0), Period.ONCALL, id="new-years-eve-thursday-2026"),
    pytest.param(local(2026, 6, 5, 10, 0), Period.ONCALL, id="constitution-day-friday-2026"),
    pytest.param(local(2023, 5, 5, 10, 0), Period.ONCALL, id="store-bededag-2023-still-a-holiday"),
    # 1 May is not a public holiday; in 2026 it is also the date Store Bededag
    # would have fallen on (Easter + 26 days), and that holiday is gone since 2024.
    pytest.param(local(2026, 5, 1, 10, 0), Period.DAY, id="1-may-2026-workday"),
    pytest.param(local(2024, 4, 26, 10, 0), Period.DAY, id="former-store-bededag-2024-workday"),
    # A UTC moment is read in Copenhagen time: 07:30Z is 08:30 in winter.
    pytest.param(datetime(2026, 11, 23, 7, 30, tzinfo=UTC), Period.DAY, id="utc-07:30-is-08:30-winter"),
    pytest.param(datetime(2026, 6, 15, 6, 30, tzinfo=UTC), Period.DAY, id="utc-06:30-is-08:30-summer"),
    pytest.param(datetime(2026, 6, 15, 13, 0, tzinfo=UTC), Period.ONCALL, id="utc-13:00-is-15:00-summer"),
]


@pytest.mark.parametrize(("moment", "expected"), PERIODS)
def test_period_follows_day_hours_weekends_holidays_and_closed_days(
    moment: datetime, expected: Period
) -> None:
    assert CALENDAR.period(moment) is expected


GP_HOURS = [
    pytest.param(local(2026, 11, 23, 7, 59, 59), False, id="weekday-07:59:59"),
    pytest.param(local(2026, 11, 23, 8, 0), True, id="weekday-08:00"),
    pytest.param(local(2026, 11, 23, 15, 30), True, id="weekday-15:30-after-department-day"),
    pytest.param(local(2026, 11, 23, 15, 59, 59), True, id="weekday-15:59:59"),
    pytest.param(local(2026, 11, 23, 16, 0), False, id="weekday-16:00-gp-closed"),
    pytest.param(local(2026, 11, 21, 10, 0), False, id="saturday"),
    pytest.param(local(2026, 4, 6, 10, 0), False, id="easter-monday"),
    pytest.param(local(2026, 12, 24, 10, 0), False, id="christmas-eve"),
    pytest.param(local(2026, 12, 31, 10, 0), False, id="new-years-eve"),
    pytest.param(local(2026, 6, 5, 10, 0), False, id="5-june"),
    pytest.param(local(2026, 5, 1, 10, 0), True, id="1-may-2026"),
    pytest.param(local(2023, 5, 5, 10, 0), False, id="store-bededag-2023"),
]


@pytest.mark.parametrize(("moment", "expected"), GP_HOURS)
def test_gp_hours_are_weekdays_08_to_16_except_closed_days(moment: datetime, expected: bool) -> None:
    assert CALENDAR.is_gp_hours(moment) is expected


WORKING_DAYS = [
    pytest.param(date(2026, 11, 23), True, id="monday"),
    pytest.param(date(2026, 11, 27), True, id="friday"),
    pytest.param(date(2026, 11, 28), False, id="saturday"),
    pytest.param(date(2026, 1, 1), False, id="new-years-day"),
    pytest.param(date(2026, 4, 3), False, id="good-friday"),
    pytest.param(date(2026, 5, 25), False, id="whit-monday"),
    pytest.param(date(2026, 12, 24), False, id="christmas-eve"),
    pytest.param(date(2026, 12, 25), False, id="christmas-day"),
    pytest.param(date(2026, 12, 28), True, id="monday-after-christmas"),
    pytest.param(date(2025, 6, 5), False, id="5-june-2025-thursday"),
    pytest.param(date(2023, 5, 5), False, id="store-bededag-2023"),
    pytest.param(date(2024, 4, 26), True, id="store-bededag-abolished-2024"),
]


@pytest.mark.parametrize(("day", "expected"), WORKING_DAYS)
def test_working_days_exclude_weekends_holidays_and_closed_days(day: date, expected: bool) -> None:
    assert CALENDAR.is_working_day(day) is expected


@pytest.mark.parametrize(
    ("moment", "own_hours", "default_hours"),
    [
        pytest.param(local(2026, 11, 23, 8, 0), Period.DAY, Period.DAY, id="08:00"),
        pytest.param(local(2026, 11, 23, 15, 0), Period.DAY, Period.ONCALL, id="15:00"),
        pytest.param(local(2026, 11, 23, 15, 15), Period.DAY, Period.ONCALL, id="15:15"),
        pytest.param(local(2026, 11, 23, 15, 29, 59), Period.DAY, Period.ONCALL, id="15:29:59"),
        pytest.param(local(2026, 11, 23, 15, 30), Period.ONCALL, Period.ONCALL, id="15:30"),
        pytest.param(local(2026, 12, 24, 15, 15), Period.ONCALL, Period.ONCALL, id="christmas-eve-15:15"),
    ],
)
def test_department_with_own_day_hours_has_day_time_until_they_end(
    moment: datetime, own_hours: Period, default_hours: Period
) -> None:
    hours = DayHours(time(8), time(15, 30))
    assert CALENDAR.period(moment, hours) is own_hours
    assert CALENDAR.period(moment) is default_hours


def test_closed_days_are_configuration() -> None:
    christmas_eve = local(2026, 12, 24, 10, 0)
    open_all_year = Calendar(closed_days=frozenset())
    assert open_all_year.period(christmas_eve) is Period.DAY
    assert open_all_year.is_gp_hours(christmas_eve)
    only_christmas_eve = Calendar(closed_days=frozenset({(12, 24)}))
    assert only_christmas_eve.period(christmas_eve) is Period.ONCALL
    assert only_christmas_eve.period(local(2026, 6, 5, 10, 0)) is Period.DAY


def test_configured_calendar_day_hours_replace_the_default() -> None:
    late = Calendar(day_hours=DayHours(time(9), time(17)))
    assert late.period(local(2026, 11, 23, 8, 30)) is Period.ONCALL
    assert late.period(local(2026, 11, 23, 16, 30)) is Period.DAY


def test_a_moment_without_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        CALENDAR.period(datetime(2026, 11, 23, 10, 0))


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        pytest.param("08:00-15:30", time(8), time(15, 30), id="compact"),
        pytest.param(" 07:30 - 15:00 ", time(7, 30), time(15), id="spaces"),
    ],
)
def test_day_hours_parse_reads_start_and_end(text: str, start: time, end: time) -> None:
    hours = DayHours.parse(text)
    assert (hours.start, hours.end) == (start, end)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("15:30-08:00", "end before", id="reversed"),
        pytest.param("08:00-08:00", "end before", id="empty"),
        pytest.param("8-15", "HH:MM-HH:MM", id="hours-only"),
        pytest.param("08:00", "HH:MM-HH:MM", id="no-end"),
        pytest.param("08:00-12:00-15:00", "HH:MM-HH:MM", id="three-parts"),
        pytest.param("", "HH:MM-HH:MM", id="blank"),
    ],
)
def test_day_hours_parse_refuses_malformed_hours(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DayHours.parse(text)


def test_day_hours_print_as_they_are_written() -> None:
    assert str(DayHours(time(8), time(15, 30))) == "08:00-15:30"
