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
    Cover,
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
    (three queries, however many departments; one more when some take their on-call from a pool
    not among them). With `gaps_only`, only the departments that can have a gap at all (one
    without an own phone, or its pool's, for a period) are looked at. `agreement` keeps the
    departments under that agreement (DEFAULT_AGREEMENT: those without one).

    A department with an on-call pool is covered in on-call time by the pool's rota and phone:
    a night the pool leaves uncovered is a gap of each department that uses it, told to each.
    """
    query = select(Department).order_by(Department.hospital, Department.code)
    if codes is not None:
        query = query.where(Department.code.in_(list(codes)))
    if hospital:
        query = query.where(Department.hospital == hospital)
    if agreement == DEFAULT_AGREEMENT:
        query = query.where(Department.agreement.is_(None))
    elif agreement:
        query = query.where(Department.agreement == agreement)
    departments = list(session.scalars(query).all())
    known = {d.code: d for d in departments}
    wanted = {d.oncall_pool for d in departments if d.oncall_pool and d.oncall_pool not in known}
    pools = {**known, **queries.departments_by_code(session, wanted)}
    infos = {code: queries.department_info(d) for code, d in pools.items()}

    def pool_of(department: Department) -> Department | None:
        pool = pools.get(department.oncall_pool or "")
        return pool if pool is not None and pool.code != department.code else None

    if gaps_only:
        departments = [
            d
            for d in departments
            if can_have_gaps(infos[d.code], infos[p.code] if (p := pool_of(d)) is not None else None)
        ]
    ids = sorted({d.id for d in departments} | {p.id for d in departments if (p := pool_of(d)) is not None})
    covers = stored_covers(session, ids, start, end)
    agreements = queries.agreements_of(session, [d.code for d in departments], calendar)
    found = []
    for department in departments:
        rules = agreements.get(department.code)
        own = rules.calendar if rules else calendar  # a department's agreement has its own calendar
        pool = pool_of(department)
        stretches = coverage(
            infos[department.code],
            own,
            covers[department.id],
            start,
            end,
            pool=infos[pool.code] if pool is not None else None,
            pool_covers=covers[pool.id] if pool is not None else (),
        )
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


def stored_covers(
    session: Session, department_ids: Collection[int], start: datetime, end: datetime
) -> dict[int, list[Cover]]:
    """Return who covers [start, end) of these departments, the published rota with its overrides
    laid over it, by department id (two queries)."""
    ids = sorted(set(department_ids))
    shifts = stored_shifts(session, ids, start, end)
    overrides = queries.overrides_between(session, ids, start, end) if ids else {}
    return {i: apply_overrides(shifts[i], overrides.get(i, [])) for i in ids}


def stored_shifts(
    session: Session, department_ids: Collection[int], start: datetime, end: datetime
) -> dict[int, list[ShiftInfo]]:
    """Return the published shifts of these departments that reach into [start, end), by department id."""
    ids = sorted(set(department_ids))
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
    return {i: shifts[i] for i in ids}


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
