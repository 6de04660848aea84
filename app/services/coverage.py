"""Find the on-call time that no rota shift covers, before a night goes uncovered."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.data import queries
from app.data.models import Department, Shift
from routing import Calendar, Gap, Role, oncall_gaps


def find_gaps(session: Session, calendar: Calendar, now: datetime, horizon: timedelta) -> list[Gap]:
    """Return every department's uncovered on-call time from `now` to `now + horizon`."""
    end = now + horizon
    gaps: list[Gap] = []
    departments = session.scalars(select(Department).order_by(Department.code)).all()
    shifts = session.scalars(
        select(Shift).where(Shift.role == Role.ONCALL.value, Shift.start_at < end, Shift.end_at > now)
    ).all()
    for department in departments:
        intervals = [(s.start_at, s.end_at) for s in shifts if s.department_id == department.id]
        info = queries.department_info(department)
        gaps += oncall_gaps(department.code, calendar, intervals, now, end, info.day_hours)
    return gaps
