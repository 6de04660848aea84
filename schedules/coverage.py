"""Find the on-call time that no rota shift covers, before a night goes uncovered."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Department, Shift
from app.records import department_info
from routing import Calendar, DayHours, Period

STEP = timedelta(minutes=15)


@dataclass(frozen=True)
class Gap:
    department: str
    start: datetime
    end: datetime


def oncall_gaps(
    department: str,
    calendar: Calendar,
    intervals: Sequence[tuple[datetime, datetime]],
    start: datetime,
    end: datetime,
    day_hours: DayHours | None = None,
) -> list[Gap]:
    """Return the stretches of on-call time in [start, end) that no interval covers.

    Checked in 15-minute steps, which is as fine as rotas are planned.
    """
    gaps: list[Gap] = []
    open_since: datetime | None = None
    moment = start
    while moment < end:
        uncovered = calendar.period(moment, day_hours) is Period.ONCALL and not any(
            s <= moment < e for s, e in intervals
        )
        if uncovered and open_since is None:
            open_since = moment
        elif not uncovered and open_since is not None:
            gaps.append(Gap(department, open_since, moment))
            open_since = None
        moment += STEP
    if open_since is not None:
        gaps.append(Gap(department, open_since, end))
    return gaps


def find_gaps(session: Session, calendar: Calendar, now: datetime, horizon: timedelta) -> list[Gap]:
    """Return every department's uncovered on-call time from `now` to `now + horizon`."""
    end = now + horizon
    gaps: list[Gap] = []
    departments = session.scalars(select(Department).order_by(Department.code)).all()
    shifts = session.scalars(
        select(Shift).where(Shift.role == "oncall", Shift.start_at < end, Shift.end_at > now)
    ).all()
    for department in departments:
        intervals = [(s.start_at, s.end_at) for s in shifts if s.department_id == department.id]
        info = department_info(department)
        gaps += oncall_gaps(department.code, calendar, intervals, now, end, info.day_hours)
    return gaps
