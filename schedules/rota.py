"""Replace a department's rota (vagtplan) with a new one for the period it covers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Department, Shift

ROLES = ("day", "oncall", "backup")
# A weekend on call runs from Friday afternoon to Monday morning; a week is plenty.
# The bound also lets "who covers now" read only the last week of a rota's history.
LONGEST_SHIFT = timedelta(days=7)


@dataclass(frozen=True)
class RotaEntry:
    """One checked shift from a rota file, not yet stored."""

    department: Department
    role: str
    start: datetime
    end: datetime
    phone: str
    name: str = ""


@dataclass(frozen=True)
class RotaChange:
    """What replacing a rota did."""

    departments: int
    added: int
    removed: int


def covered_periods(entries: Iterable[RotaEntry]) -> dict[int, tuple[datetime, datetime]]:
    """Return, per department id, [earliest start, latest end) of its entries."""
    periods: dict[int, tuple[datetime, datetime]] = {}
    for entry in entries:
        key = entry.department.id
        if key in periods:
            start, end = periods[key]
            periods[key] = (min(start, entry.start), max(end, entry.end))
        else:
            periods[key] = (entry.start, entry.end)
    return periods


def replace_rota(session: Session, entries: Iterable[RotaEntry]) -> RotaChange:
    """Store `entries`, replacing each department's shifts that start inside its covered period.

    Shifts of departments without entries, and shifts that start outside the
    period the entries cover for their department, are kept. Flushes, never commits.
    """
    entries = list(entries)
    periods = covered_periods(entries)
    removed = 0
    for department_id, (start, end) in periods.items():
        replaced = session.scalars(
            select(Shift).where(
                Shift.department_id == department_id, Shift.start_at >= start, Shift.start_at < end
            )
        ).all()
        for shift in replaced:
            session.delete(shift)
        removed += len(replaced)
    for entry in entries:
        session.add(
            Shift(
                department=entry.department,
                role=entry.role,
                start_at=entry.start,
                end_at=entry.end,
                name=entry.name,
                phone=entry.phone,
            )
        )
    session.flush()
    return RotaChange(departments=len(periods), added=len(entries), removed=removed)
