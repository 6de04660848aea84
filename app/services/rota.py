"""Replace a department's rota (vagtplan) with a new one for the period it covers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.data import queries
from app.data.models import Shift
from app.intake.rota import ShiftRecord
from routing import shift_problem


@dataclass(frozen=True)
class RotaChange:
    """What replacing a rota did."""

    departments: int
    added: int
    removed: int


def covered_periods(records: Iterable[ShiftRecord]) -> dict[str, tuple[datetime, datetime]]:
    """Return, per department code, [earliest start, latest end) of its shifts."""
    periods: dict[str, tuple[datetime, datetime]] = {}
    for record in records:
        if record.department in periods:
            start, end = periods[record.department]
            periods[record.department] = (min(start, record.start), max(end, record.end))
        else:
            periods[record.department] = (record.start, record.end)
    return periods


@dataclass(frozen=True)
class DepartmentPlan:
    """What replacing a rota would do to one department: the period, shifts removed and added."""

    department: str
    start: datetime
    end: datetime
    removed: int
    added: int


def plan_rota(session: Session, records: Iterable[ShiftRecord]) -> list[DepartmentPlan]:
    """Return, per department, what `replace_rota` would remove and add, writing nothing."""
    records = list(records)
    departments = queries.all_departments(session)
    plans = []
    for code, (start, end) in sorted(covered_periods(records).items()):
        removed: int | None = 0
        if code in departments:
            removed = session.scalar(
                select(func.count())
                .select_from(Shift)
                .where(
                    Shift.department_id == departments[code].id, Shift.start_at >= start, Shift.start_at < end
                )
            )
        added = sum(1 for record in records if record.department == code)
        plans.append(DepartmentPlan(code, start, end, removed or 0, added))
    return plans


def replace_rota(session: Session, records: Iterable[ShiftRecord]) -> RotaChange:
    """Store `records`, replacing each department's shifts that start inside its covered period.

    Shifts of departments without records, and shifts that start outside the period
    the records cover for their department, are kept. Raises ValueError for an
    unknown department or a shift that breaks the rota's rules. Flushes, never commits.
    """
    records = list(records)
    departments = queries.all_departments(session)
    for record in records:
        if record.department not in departments:
            raise ValueError(f"no department with code {record.department!r}")
        problem = shift_problem(record.start, record.end)
        if problem:
            raise ValueError(
                f"shift of {record.department} from {record.start:%Y-%m-%d %H:%M}Z: end {problem}"
            )
    periods = covered_periods(records)
    removed = 0
    for code, (start, end) in periods.items():
        in_period = (
            Shift.department_id == departments[code].id,
            Shift.start_at >= start,
            Shift.start_at < end,
        )
        removed += session.scalar(select(func.count()).select_from(Shift).where(*in_period)) or 0
        session.execute(delete(Shift).where(*in_period))
    for record in records:
        session.add(
            Shift(
                department=departments[record.department],
                role=record.role.value,
                start_at=record.start,
                end_at=record.end,
                name=record.name,
                phone=record.phone,
            )
        )
    session.flush()
    return RotaChange(departments=len(periods), added=len(records), removed=removed)
