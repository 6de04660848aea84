"""Day time, on-call time and GP hours in Europe/Copenhagen."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


class Period(enum.StrEnum):
    """Who holds the responsibility at a moment."""

    DAY = "day"  # dagtid
    ONCALL = "oncall"  # vagttid


@dataclass(frozen=True)
class DayHours:
    """Opening hours on a working day, as local wall-clock times [start, end)."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> DayHours:
        """Parse `HH:MM-HH:MM`; raise ValueError naming what is wrong."""
        try:
            start_text, end_text = text.strip().split("-")
            start = time.fromisoformat(start_text.strip())
            end = time.fromisoformat(end_text.strip())
        except ValueError:
            raise ValueError(f"expected hours as HH:MM-HH:MM, got {text!r}") from None
        if end <= start:
            raise ValueError(f"the hours end before they start: {text!r}")
        return cls(start, end)

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def contains(self, moment: time) -> bool:
        return self.start <= moment < self.end


DEFAULT_DAY_HOURS = DayHours(time(8), time(15))
DEFAULT_GP_HOURS = DayHours(time(8), time(16))
# 24 December, 31 December and 5 June: working days in the doctors' agreements,
# closed by local custom, so configuration.
DEFAULT_CLOSED_DAYS = frozenset({(12, 24), (12, 31), (6, 5)})


def local_date(moment: datetime) -> date:
    """Return the calendar date in Copenhagen at `moment` ("today" for the people on the line)."""
    if moment.tzinfo is None:
        raise ValueError("a moment must carry its time zone")
    return moment.astimezone(COPENHAGEN).date()


@lru_cache(maxsize=64)
def _public_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("DK", years=year).keys())


@dataclass(frozen=True)
class Calendar:
    """The Danish working calendar the policy runs on.

    Public holidays come from the `holidays` package (Store Bededag only until
    2023); `closed_days` are the extra (month, day) dates on which departments
    run on-call all day: by default 24 December, 31 December and 5 June.
    """

    day_hours: DayHours = DEFAULT_DAY_HOURS
    gp_hours: DayHours = DEFAULT_GP_HOURS
    closed_days: frozenset[tuple[int, int]] = DEFAULT_CLOSED_DAYS
    zone: ZoneInfo = COPENHAGEN
    # Half days: (month, day, closing time), e.g. 5 June from 12:00 (an agreement's calendar).
    half_days: frozenset[tuple[int, int, time]] = frozenset()

    def with_extra(
        self, closed_days: frozenset[tuple[int, int]], half_days: frozenset[tuple[int, int, time]]
    ) -> Calendar:
        """Return this calendar with more closed days and half days (a department's own, on its agreement's).

        A day closed in either is closed; on a half day in both, the earlier closing wins.
        """
        if not closed_days and not half_days:
            return self
        return replace(self, closed_days=self.closed_days | closed_days, half_days=self.half_days | half_days)

    def local(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            raise ValueError("a moment must carry its time zone")
        return moment.astimezone(self.zone)

    def is_working_day(self, day: date) -> bool:
        """Monday to Friday, not a public holiday, not an extra closed day."""
        return (
            day.weekday() < 5
            and day not in _public_holidays(day.year)
            and (day.month, day.day) not in self.closed_days
        )

    def day_span(self, day: date, day_hours: DayHours | None = None) -> DayHours | None:
        """Return the day's day hours (shortened on a half day), or None for a day on call throughout."""
        if not self.is_working_day(day):
            return None
        hours = day_hours or self.day_hours
        closes = min(
            (clock for month, number, clock in self.half_days if (month, number) == (day.month, day.day)),
            default=None,
        )
        if closes is None or closes >= hours.end:
            return hours
        if closes <= hours.start:
            return None
        return DayHours(hours.start, closes)

    def period(self, moment: datetime, day_hours: DayHours | None = None) -> Period:
        """Return day or on-call time at `moment`, by the given (or default) day hours."""
        local = self.local(moment)
        span = self.day_span(local.date(), day_hours)
        if span is not None and span.contains(local.time()):
            return Period.DAY
        return Period.ONCALL

    def is_gp_hours(self, moment: datetime) -> bool:
        """Return whether general practices are open at `moment`."""
        local = self.local(moment)
        return self.is_working_day(local.date()) and self.gp_hours.contains(local.time())
