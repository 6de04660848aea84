"""Who covers each department's time ahead, and where nobody does, before a night goes uncovered.

The one definition of a gap (routing.coverage) serves the planner's timeline, the region's
overview, `linje72 coverage`, the checks before a publish and the scheduler's warnings.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.data import queries
from app.data.models import Department, Shift
from routing import (
    LONGEST_SHIFT,
    Calendar,
    Gap,
    Role,
    ShiftInfo,
    Stretch,
    apply_overrides,
    can_have_gaps,
    coverage,
    gaps,
)
from routing.agreement import DEFAULT_AGREEMENT


@dataclass(frozen=True)
class DepartmentCoverage:
    """One department's time from `start` to `end`: stretches of one period and one set of
    first answerers each, and the gaps among them."""

    code: str
    name: str
    hospital: str
    start: datetime
    end: datetime
    stretches: list[Stretch]
    gaps: list[Gap]


def department_coverage(
    session: Session,
    calendar: Calendar,
    start: datetime,
    end: datetime,
    codes: Collection[str] | None = None,
    hospital: str = "",
    *,
    gaps_only: bool = False,
    agreement: str = "",
) -> list[DepartmentCoverage]:
    """Return each department's coverage of [start, end), the published rota with its overrides
    (three queries, however many departments). With `gaps_only`, only the departments that can
    have a gap at all (one without an own phone for a period) are looked at. `agreement` keeps the
    departments under that agreement (DEFAULT_AGREEMENT: those without one)."""
    query = select(Department).order_by(Department.hospital, Department.code)
    if codes is not None:
        query = query.where(Department.code.in_(list(codes)))
    if hospital:
        query = query.where(Department.hospital == hospital)
    if agreement == DEFAULT_AGREEMENT:
        query = query.where(Department.agreement.is_(None))
    elif agreement:
        query = query.where(Department.agreement == agreement)
    departments = session.scalars(query).all()
    if gaps_only:
        departments = [d for d in departments if can_have_gaps(queries.department_info(d))]
    ids = [department.id for department in departments]
    shifts: dict[int, list[ShiftInfo]] = defaultdict(list)
    if ids:
        rows = session.execute(
            select(Shift.department_id, Shift.role, Shift.start_at, Shift.end_at, Shift.name, Shift.phone)
            .where(
                Shift.department_id.in_(ids),
                Shift.start_at > start - LONGEST_SHIFT,
                Shift.start_at < end,
                Shift.end_at > start,
            )
            .order_by(Shift.start_at, Shift.id)
        )
        for department_id, role, s, e, name, phone in rows:
            shifts[department_id].append(ShiftInfo(Role(role), s, e, phone, name))
    overrides = queries.overrides_between(session, ids, start, end) if ids else {}
    agreements = queries.agreements_of(session, [d.code for d in departments], calendar)
    found = []
    for department in departments:
        covers = apply_overrides(shifts[department.id], overrides.get(department.id, []))
        rules = agreements.get(department.code)
        own = rules.calendar if rules else calendar  # a department's agreement has its own calendar
        stretches = coverage(queries.department_info(department), own, covers, start, end)
        found.append(
            DepartmentCoverage(
                department.code,
                department.name,
                department.hospital,
                start,
                end,
                stretches,
                gaps(department.code, stretches),
            )
        )
    return found


def find_gaps(
    session: Session,
    calendar: Calendar,
    now: datetime,
    horizon: timedelta,
    codes: Collection[str] | None = None,
) -> list[Gap]:
    """Return every department's gaps from `now` to `now + horizon`, by department."""
    return [
        gap
        for found in department_coverage(session, calendar, now, now + horizon, codes, gaps_only=True)
        for gap in found.gaps
    ]
