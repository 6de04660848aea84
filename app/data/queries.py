"""Queries: read records, and what the routing decision needs from them as plain values."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import Row, and_, bindparam, insert, select
from sqlalchemy.orm import Session, contains_eager, joinedload

from app.data.models import Agreement as StoredAgreement
from app.data.models import Caller, Contact, Department, Discharge, Patient, RotaOverride, Shift
from routing import (
    LONGEST_SHIFT,
    Agreement,
    Calendar,
    DayHours,
    DepartmentInfo,
    DischargeInfo,
    Override,
    Role,
    ShiftInfo,
    shifts_at,
)


def department_info(department: Department) -> DepartmentInfo:
    return DepartmentInfo(
        code=department.code,
        name=department.name,
        hospital=department.hospital,
        day_phone=department.day_phone,
        oncall_phone=department.oncall_phone,
        switchboard_phone=department.switchboard_phone,
        day_hours=DayHours.parse(department.day_hours) if department.day_hours else None,
        psychiatric=department.psychiatric,
        oncall_pool=department.oncall_pool,
        closed_days=closed_days(department.closed_days),
        half_days=half_days(department.half_days),
    )


def closed_days(stored: list[str] | None) -> frozenset[tuple[int, int]]:
    """Stored closed days ("MM-DD") as the routing's calendar reads them."""
    return frozenset((int(day[:2]), int(day[3:])) for day in stored or ())


def half_days(stored: dict[str, str] | None) -> frozenset[tuple[int, int, time]]:
    """Stored half days ("MM-DD": "HH:MM", when on-call time starts) as the routing's calendar reads them."""
    return frozenset(
        (int(day[:2]), int(day[3:]), time.fromisoformat(at)) for day, at in (stored or {}).items()
    )


def discharge_info(discharge: Discharge) -> DischargeInfo:
    return DischargeInfo(
        id=discharge.external_id,
        department_code=discharge.department.code,
        discharged_at=discharge.discharged_at,
        admitted_at=discharge.admitted_at,
        destination=discharge.destination,
        gp_phone=discharge.gp_phone,
        responsibility_until=discharge.responsibility_until,
        kind=discharge.kind,
        target_group=discharge.target_group,
        ended_at=discharge.ended_at,
        municipality=discharge.municipality,
    )


def shift_info(shift: Shift) -> ShiftInfo:
    return ShiftInfo(
        role=Role(shift.role), start=shift.start_at, end=shift.end_at, phone=shift.phone, name=shift.name
    )


def discharges_of(session: Session, cpr_lookup: str | Sequence[str]) -> Sequence[Discharge]:
    """Return the patient's stays (not the cancelled) with their departments, in one query.

    `cpr_lookup` may be several lookup keys (during a key rotation: the new key's and the old one's).
    """
    lookups = [cpr_lookup] if isinstance(cpr_lookup, str) else list(cpr_lookup)
    return session.scalars(
        select(Discharge).where(Discharge.cpr_lookup.in_(lookups), Discharge.status != "cancelled")
    ).all()


def stays_with_agreements(
    session: Session, cpr_lookup: Sequence[str], base: Calendar
) -> tuple[list[Discharge], dict[str, Agreement]]:
    """Return the patient's stays (not the cancelled) with their departments, and by department
    code the agreement of each of those departments that has one: one query (the call path's)."""
    rows = session.execute(
        select(Discharge, StoredAgreement)
        .join(Discharge.department)
        .outerjoin(StoredAgreement, StoredAgreement.code == Department.agreement)
        .options(contains_eager(Discharge.department))
        .where(Discharge.cpr_lookup.in_(list(cpr_lookup)), Discharge.status != "cancelled")
    ).all()
    agreements = {stay.department.code: agreement_rules(rules, base) for stay, rules in rows if rules}
    return [stay for stay, _ in rows], agreements


def patient_of(session: Session, cpr_lookup: str | Sequence[str]) -> Patient | None:
    """Return what is known of the person beyond their stays (a death, a merge), if anything.

    With several lookup keys, the row under the first (the current key's) is preferred.
    """
    lookups = [cpr_lookup] if isinstance(cpr_lookup, str) else list(cpr_lookup)
    rows = {
        row.cpr_lookup: row for row in session.scalars(select(Patient).where(Patient.cpr_lookup.in_(lookups)))
    }
    return next((rows[lookup] for lookup in lookups if lookup in rows), None)


# Built once: the call path asks it of every patient with a stay.
_DECEASED_AT = select(Patient.cpr_lookup, Patient.deceased_at).where(
    Patient.cpr_lookup.in_(bindparam("lookups", expanding=True))
)


def deceased_at(session: Session, cpr_lookup: Sequence[str]) -> datetime | None:
    """Return when the person died, if that is known (the call path's column of `patient_of`).

    With several lookup keys, the row under the first (the current key's) is preferred.
    """
    found = session.execute(_DECEASED_AT, {"lookups": list(cpr_lookup)})
    rows = {row.cpr_lookup: row.deceased_at for row in found}
    return next((rows[lookup] for lookup in cpr_lookup if lookup in rows), None)


def shifts_covering(session: Session, department_id: int, now: datetime) -> list[ShiftInfo]:
    """Return who covers the department at `now` as shifts: the rota's, with today's overrides
    laid over them (two indexed queries)."""
    return shifts_covering_all(session, now, [department_id])[department_id]


def chain_shifts(
    session: Session, department: Department, pool: Department | None, now: datetime
) -> tuple[list[ShiftInfo], list[ShiftInfo]]:
    """Return who covers the department at `now`, and who covers its on-call pool (the same two
    queries: the pool's shifts come with the department's)."""
    ids = [department.id] + ([pool.id] if pool is not None and pool.id != department.id else [])
    found = shifts_covering_all(session, now, ids)
    return found[department.id], found[pool.id] if pool is not None else []


def pool_of(session: Session, department: Department | None) -> Department | None:
    """Return the department whose on-call chain this one takes (its on-call pool), if any."""
    if department is None or not department.oncall_pool or department.oncall_pool == department.code:
        return None
    return find_department(session, department.oncall_pool)


# Built once: it is read on every call's chain and every "who answers now".
_OVERRIDES_BETWEEN = (
    select(
        RotaOverride.id,
        RotaOverride.department_id,
        RotaOverride.role,
        RotaOverride.start_at,
        RotaOverride.end_at,
        RotaOverride.name,
        RotaOverride.phone,
        RotaOverride.replaces_phone,
        RotaOverride.replaces_name,
    )
    .where(
        RotaOverride.department_id.in_(bindparam("ids", expanding=True)),
        RotaOverride.end_at > bindparam("start"),
        RotaOverride.start_at < bindparam("end"),
        RotaOverride.ended_at.is_(None),
    )
    .order_by(RotaOverride.start_at, RotaOverride.id)
)


def overrides_between(
    session: Session, department_ids: Sequence[int], start: datetime, end: datetime
) -> dict[int, list[Override]]:
    """Return the overrides in force at some moment of [start, end), by department id (columns,
    not ORM objects: one cheap indexed read on the call path)."""
    found: dict[int, list[Override]] = {department_id: [] for department_id in department_ids}
    if not department_ids:
        return found
    params = {"ids": list(department_ids), "start": start, "end": end}
    for row in session.execute(_OVERRIDES_BETWEEN, params):
        found[row.department_id].append(
            Override(
                id=row.id,
                department="",
                role=Role(row.role),
                start=row.start_at,
                end=row.end_at,
                name=row.name,
                phone=row.phone,
                replaces_phone=row.replaces_phone,
                replaces_name=row.replaces_name,
            )
        )
    return found


def find_caller(session: Session, *, phone: str | None = None, code: str | None = None) -> Caller | None:
    if phone:
        return session.scalars(select(Caller).where(Caller.phone == phone)).first()
    if code:
        return session.scalars(select(Caller).where(Caller.code == code)).first()
    return None


def find_department(session: Session, code: str) -> Department | None:
    return session.scalars(select(Department).where(Department.code == code)).first()


def department_codes(session: Session) -> set[str]:
    """Return every department's code (one column: cheap enough for every feed message)."""
    return set(session.scalars(select(Department.code)))


def departments_by_code(session: Session, codes: Collection[str]) -> dict[str, Department]:
    """Return the departments with these codes, by code, in one query."""
    if not codes:
        return {}
    return {d.code: d for d in session.scalars(select(Department).where(Department.code.in_(list(codes))))}


def all_departments(session: Session) -> dict[str, Department]:
    """Return every department by its code."""
    return {department.code: department for department in session.scalars(select(Department))}


def contact_by_sid(session: Session, call_sid: str, *, lock: bool = False) -> Contact | None:
    """Return the call's contact; with `lock`, held until the transaction ends."""
    query = select(Contact).where(Contact.call_sid == call_sid)
    return session.scalars(query.with_for_update() if lock else query).first()


# Built once: every webhook of a call starts with it. The contact row locked (FOR UPDATE OF
# contacts only: the joined rows are read, not locked) with what a step reads of it: its
# attempts, caller and department, and the wording of the agreement it runs under.
_CALL_STATE = (
    select(Contact, StoredAgreement.line_name, StoredAgreement.window_hours)
    .outerjoin(StoredAgreement, StoredAgreement.code == Contact.agreement)
    .where(Contact.call_sid == bindparam("call_sid"))
    .options(joinedload(Contact.attempts), joinedload(Contact.caller), joinedload(Contact.department))
    .with_for_update(of=Contact)
)


def call_state(session: Session, call_sid: str) -> tuple[Contact, tuple[str, int] | None] | None:
    """Return the call's contact locked until the transaction ends, with its attempts, caller and
    department, and its agreement's line name and window (None without one), in one statement."""
    row = session.execute(_CALL_STATE, {"call_sid": call_sid}).unique().first()
    if row is None:
        return None
    return row[0], (row[1], row[2]) if row[1] is not None else None


# Built once: every call's chain reads it. Columns, not ORM objects: the rows become ShiftInfo at once.
_SHIFTS_COVERING = (
    select(Shift.department_id, Shift.role, Shift.start_at, Shift.end_at, Shift.phone, Shift.name)
    .where(
        Shift.department_id.in_(bindparam("ids", expanding=True)),
        # Bounded below so the index range stays a week wide however long the history.
        Shift.start_at > bindparam("since"),
        Shift.start_at <= bindparam("now"),
        Shift.end_at > bindparam("now"),
    )
    .order_by(Shift.start_at, Shift.id)
)


def shifts_covering_all(
    session: Session, now: datetime, department_ids: Sequence[int]
) -> dict[int, list[ShiftInfo]]:
    """Return who covers many departments at `now`, overrides applied, by department id."""
    found: dict[int, list[ShiftInfo]] = {department_id: [] for department_id in department_ids}
    params = {"ids": list(department_ids), "since": now - LONGEST_SHIFT, "now": now}
    for row in session.execute(_SHIFTS_COVERING, params):
        found[row.department_id].append(
            ShiftInfo(role=Role(row.role), start=row.start_at, end=row.end_at, phone=row.phone, name=row.name)
        )
    overrides = overrides_between(session, department_ids, now, now + timedelta(microseconds=1))
    for department_id, mine in overrides.items():
        if mine:
            found[department_id] = shifts_at(found[department_id], mine, now)
    return found


# Built once (it serves every API request for a department): the departments' columns,
# each with the shifts covering :now, by hospital and code, shifts by start.
_DEPARTMENTS_WITH_SHIFTS = (
    select(
        Department.id,
        Department.code,
        Department.name,
        Department.hospital,
        Department.day_phone,
        Department.oncall_phone,
        Department.switchboard_phone,
        Department.day_hours,
        Department.psychiatric,
        Department.oncall_pool,
        Department.closed_days,
        Department.half_days,
        Shift.role,
        Shift.start_at,
        Shift.end_at,
        Shift.phone,
        Shift.name.label("shift_name"),
    )
    .outerjoin(
        Shift,
        and_(
            Shift.department_id == Department.id,
            # Bounded below so the index range stays a week wide however long the history.
            Shift.start_at > bindparam("since"),
            Shift.start_at <= bindparam("now"),
            Shift.end_at > bindparam("now"),
        ),
    )
    .order_by(Department.hospital, Department.code, Shift.start_at, Shift.id)
)
_DEPARTMENTS_BY_CODE_WITH_SHIFTS = _DEPARTMENTS_WITH_SHIFTS.where(
    Department.code.in_(bindparam("codes", expanding=True))
)


def departments_with_shifts_covering(
    session: Session, now: datetime, codes: Collection[str] | None = None, hospital: str = ""
) -> list[tuple[DepartmentInfo, list[ShiftInfo]]]:
    """Return departments (by hospital, then code) each with its shifts covering `now`, in one query.

    `codes` limits the departments (None: all); `hospital` filters by hospital name.
    Columns, not ORM objects: the routing needs only the values.
    """
    params: dict[str, Any] = {"since": now - LONGEST_SHIFT, "now": now}
    query = _DEPARTMENTS_WITH_SHIFTS
    if codes is not None:
        query = _DEPARTMENTS_BY_CODE_WITH_SHIFTS
        params["codes"] = list(codes)
    if hospital:
        query = query.where(Department.hospital == hospital)
    found: list[tuple[DepartmentInfo, list[ShiftInfo]]] = []
    ids: list[int] = []
    last_id = None
    for row in session.execute(query, params):
        if row.id != last_id:
            last_id = row.id
            ids.append(row.id)
            found.append(
                (
                    DepartmentInfo(
                        code=row.code,
                        name=row.name,
                        hospital=row.hospital,
                        day_phone=row.day_phone,
                        oncall_phone=row.oncall_phone,
                        switchboard_phone=row.switchboard_phone,
                        day_hours=DayHours.parse(row.day_hours) if row.day_hours else None,
                        psychiatric=row.psychiatric,
                        oncall_pool=row.oncall_pool,
                        closed_days=closed_days(row.closed_days),
                        half_days=half_days(row.half_days),
                    ),
                    [],
                )
            )
        if row.role is not None:
            found[-1][1].append(
                ShiftInfo(
                    role=Role(row.role),
                    start=row.start_at,
                    end=row.end_at,
                    phone=row.phone,
                    name=row.shift_name,
                )
            )
    # Overrides are laid over the rota here too: "who answers now" is what a call would ring.
    overrides = overrides_between(session, ids, now, now + timedelta(microseconds=1)) if ids else {}
    return [
        (info, shifts_at(shifts, overrides[department_id], now) if overrides.get(department_id) else shifts)
        for department_id, (info, shifts) in zip(ids, found, strict=True)
    ]


SHIFT_COLUMNS = ("department_id", "role", "start_at", "end_at", "name", "phone", "version_id")


def insert_shifts(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Add many shifts in this transaction; PostgreSQL gets them by COPY, a year's rota in a second.

    The rows are checked already (the rota service does it); times are aware datetimes.
    """
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        session.execute(insert(Shift), list(rows))
        return
    # A year's rota repeats a few thousand times across its shifts: each is converted once.
    stored: dict[datetime, datetime] = {}

    def utc(moment: datetime) -> datetime:
        naive = stored.get(moment)
        if naive is None:
            naive = stored[moment] = moment.astimezone(UTC).replace(tzinfo=None)
        return naive

    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY shifts ({', '.join(SHIFT_COLUMNS)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(
                (
                    row["department_id"],
                    row["role"],
                    utc(row["start_at"]),
                    utc(row["end_at"]),
                    row["name"],
                    row["phone"],
                    row["version_id"],
                )
            )


def agreement_rules(row: StoredAgreement | Row[Any], base: Calendar) -> Agreement:
    """The stored agreement (or a row of its columns) as the routing reads it; its calendar builds
    on the deployment's holidays."""
    calendar = Calendar(
        day_hours=DayHours.parse(row.day_hours) if row.day_hours else base.day_hours,
        gp_hours=base.gp_hours,
        closed_days=closed_days(row.closed_days),
        half_days=half_days(row.half_days),
    )
    return Agreement(
        code=row.code,
        name=row.name,
        after_hours_number=row.after_hours_number,
        fallback_number=row.fallback_number,
        calendar=calendar,
        line_name=row.line_name,
        window=timedelta(hours=row.window_hours),
        min_age=row.min_age,
        municipalities=frozenset(row.municipalities),
        short_stay=timedelta(hours=row.short_stay_hours),
        nursing_home_short_stays=row.nursing_home_short_stays,
        psychiatry=row.psychiatry,
        nurse_first=row.nurse_first,
    )


# Built once: "who answers now" and the on-call API read it on every request. The agreement's
# columns (not an ORM object), with the department's code.
_AGREEMENTS_OF = (
    select(Department.code.label("department_code"), *StoredAgreement.__table__.columns)
    .join(StoredAgreement, StoredAgreement.code == Department.agreement)
    .where(Department.code.in_(bindparam("codes", expanding=True)))
)


def agreements_of(session: Session, codes: Collection[str], base: Calendar) -> dict[str, Agreement]:
    """Return, by department code, the agreement of each of these departments that has one."""
    if not codes:
        return {}
    rows = session.execute(_AGREEMENTS_OF, {"codes": list(codes)})
    return {row.department_code: agreement_rules(row, base) for row in rows}


def calendar_of(session: Session, code: str, base: Calendar) -> Calendar:
    """Return the calendar of the department's agreement, or `base` (the deployment's) when it has none.

    The department's own closed and half days go on top where its period is decided
    (`DepartmentInfo.calendar_on`).
    """
    rules = agreements_of(session, [code], base).get(code)
    return rules.calendar if rules else base
