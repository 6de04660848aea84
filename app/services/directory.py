"""The directory: departments and registered callers, stored and found."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Policy
from app.data import queries
from app.data.db import Base
from app.data.models import Caller, Department
from app.intake.callers import CallerRecord
from app.intake.departments import DepartmentRecord
from routing import Decision, Role, Target, decide_for_department

_LOOKUP_CHUNK = 500
M = TypeVar("M", bound=Base)


@dataclass(frozen=True)
class Upserted:
    """How many records were written, and how many of them were new."""

    count: int
    added: int

    @property
    def updated(self) -> int:
        return self.count - self.added


@dataclass(frozen=True)
class Conflict:
    """A record that cannot be stored as given: its row, column and why."""

    row: int
    column: str
    message: str


def department_conflicts(session: Session, records: Sequence[DepartmentRecord]) -> list[Conflict]:
    """Return why some records cannot be stored: a SOR id that another stored department keeps, or an
    on-call pool that is not a department or takes its own on-call from another (no pools of pools)."""
    return _sor_conflicts(session, records) + _pool_conflicts(session, records)


def _pool_conflicts(session: Session, records: Sequence[DepartmentRecord]) -> list[Conflict]:
    """The pools as they would be once the records are stored: each must be a department with a chain
    of its own (a department that serves as a pool takes no pool itself)."""
    if not any(record.has_oncall_pool for record in records):
        return []
    stored = session.execute(select(Department.code, Department.oncall_pool))
    pools: dict[str, str | None] = {code: pool for code, pool in stored}
    for record in records:  # the file's departments are known codes too, and its pools replace the stored
        pools[record.code] = record.oncall_pool if record.has_oncall_pool else pools.get(record.code)
    served: dict[str, list[str]] = {}
    for code, pool in sorted(pools.items()):
        if pool:
            served.setdefault(pool, []).append(code)
    conflicts = []
    for record in records:
        pool = pools.get(record.code)
        if not pool:
            continue
        if pool not in pools:
            message = (
                f"no department {pool!r} to take the on-call chain from (import it first, or in this file)"
            )
            conflicts.append(Conflict(record.row, "oncall_pool", message))
        elif pools[pool]:
            message = (
                f"{pool} takes its own on-call from {pools[pool]}: "
                "a pool must have an on-call chain of its own (no pools of pools)"
            )
            conflicts.append(Conflict(record.row, "oncall_pool", message))
        elif record.code in served:
            users = ", ".join(served[record.code])
            message = f"{record.code} is the on-call pool of {users}: a pool takes no pool itself"
            conflicts.append(Conflict(record.row, "oncall_pool", message))
    return conflicts


def _sor_conflicts(session: Session, records: Sequence[DepartmentRecord]) -> list[Conflict]:
    given = {record.code: record for record in records if record.has_sor_ids}
    if not given:
        return []
    owners: dict[str, str] = {}
    for code, sor_ids in session.execute(select(Department.code, Department.sor_ids)):
        if code not in given:
            owners.update((sor, code) for sor in (sor_ids or "").split())
    conflicts = []
    for record in given.values():
        for sor in (record.sor_ids or "").split():
            if sor in owners:
                conflicts.append(
                    Conflict(
                        record.row,
                        "sor_ids",
                        f"{sor} is already department {owners[sor]}'s: a SOR id names one department "
                        f"(remove it there first, or give both departments in this file)",
                    )
                )
    return conflicts


def sor_map(session: Session) -> dict[str, str]:
    """Return every department's SOR ids: SOR id → department code."""
    found: dict[str, str] = {}
    for code, sor_ids in session.execute(select(Department.code, Department.sor_ids)):
        found.update((sor, code) for sor in (sor_ids or "").split())
    return found


def upsert_departments(session: Session, records: Sequence[DepartmentRecord]) -> Upserted:
    """Add or update departments by code (flush only).

    Raises ValueError when a record conflicts (see `department_conflicts`): nothing is
    written then.
    """
    conflicts = department_conflicts(session, records)
    if conflicts:
        first = conflicts[0]
        raise ValueError(f"department on row {first.row}: {first.column}: {first.message}")
    existing = find_by(session, Department, "code", (record.code for record in records))
    added = 0
    for record in records:
        department = existing.get(record.code)
        if department is None:
            session.add(Department(**record.values()))
            added += 1
        else:
            _assign(department, record.values())
    session.flush()
    return Upserted(len(records), added)


def caller_conflicts(session: Session, records: Sequence[CallerRecord]) -> list[Conflict]:
    """Return why some records cannot be stored: a phone and a code of two different callers,
    or two records that match the same registered caller."""
    return _match_callers(session, records)[1]


def upsert_callers(session: Session, records: Sequence[CallerRecord]) -> Upserted:
    """Add or update callers, matched by phone first, else by code (flush only).

    Raises ValueError when a record conflicts (see `caller_conflicts`): nothing is
    written then.
    """
    matches, conflicts = _match_callers(session, records)
    if conflicts:
        first = conflicts[0]
        raise ValueError(f"caller on row {first.row}: {first.column}: {first.message}")
    added = 0
    for record, caller in zip(records, matches, strict=True):
        if caller is None:
            session.add(Caller(**record.values()))
            added += 1
        else:
            _assign(caller, record.values())
    session.flush()
    return Upserted(len(records), added)


def _match_callers(
    session: Session, records: Sequence[CallerRecord]
) -> tuple[list[Caller | None], list[Conflict]]:
    by_phone = find_by(session, Caller, "phone", (r.phone for r in records if r.phone))
    by_code = find_by(session, Caller, "code", (r.code for r in records if r.code))
    claimed: dict[int, int] = {}
    matches: list[Caller | None] = []
    conflicts: list[Conflict] = []
    for record in records:
        phone_match = by_phone.get(record.phone) if record.phone else None
        code_match = by_code.get(record.code) if record.code else None
        if phone_match is not None and code_match is not None and phone_match is not code_match:
            conflicts.append(
                Conflict(
                    record.row,
                    "code",
                    f"{record.code!r} belongs to {code_match.organisation!r}, "
                    f"but the phone number belongs to {phone_match.organisation!r}",
                )
            )
        match = phone_match or code_match
        if match is not None:
            if match.id in claimed:
                column = "phone" if phone_match is not None else "code"
                conflicts.append(
                    Conflict(
                        record.row, column, f"matches the same registered caller as row {claimed[match.id]}"
                    )
                )
            claimed.setdefault(match.id, record.row)
        matches.append(match)
    return matches, conflicts


def identify_caller(session: Session, *, phone: str | None = None, code: str | None = None) -> Caller | None:
    """Return the registered caller with this caller ID (E.164) or unit code."""
    return queries.find_caller(session, phone=phone, code=code)


def department_chain_at(session: Session, policy: Policy, code: str, now: datetime) -> Decision | None:
    """Return who a call about the department's patient would ring at `now`, or None."""
    department = queries.find_department(session, code)
    if department is None:
        return None
    rules = queries.agreements_of(session, [code], policy.calendar).get(code)
    pool = queries.pool_of(session, department)
    shifts, pool_shifts = queries.chain_shifts(session, department, pool, now)
    return decide_for_department(
        department=queries.department_info(department),
        shifts=shifts,
        calendar=rules.calendar if rules else policy.calendar,
        now=now,
        fallback_number=rules.fallback_number if rules else policy.fallback_number,
        pool=queries.department_info(pool) if pool else None,
        pool_shifts=pool_shifts,
    )


@dataclass(frozen=True)
class DepartmentNow:
    """A department on "who answers now": its period and the chain a call would ring, in order."""

    code: str
    name: str
    hospital: str
    decision: Decision
    agreement: str | None = None  # the code of the agreement it runs under; None: the deployment's
    agreement_name: str | None = None
    # Under a nurse-first agreement: the nurses a nursing caller reaches first, before `decision`'s chain.
    nurses: tuple[Target, ...] = ()

    @property
    def gap(self) -> bool:
        """Nobody of the department's own answers first: no rota person and no department phone."""
        return not self.decision.targets or self.decision.targets[0].label not in FIRST_ANSWERERS


# Who should answer first in a period: a person on the rota or the department's own phone.
FIRST_ANSWERERS = frozenset({"day", "oncall", "department_day", "department_oncall"})


def who_answers(
    session: Session, policy: Policy, now: datetime, codes: Collection[str] | None = None, hospital: str = ""
) -> list[DepartmentNow]:
    """Return each department's chain at `now`, exactly as a call would ring it (one query; one more
    for the on-call pools of the departments shown when the pools are not shown themselves).

    `codes` limits the departments (None: all); `hospital` filters by hospital name.
    """
    found = queries.departments_with_shifts_covering(session, now, codes, hospital)
    by_code = {info.code: (info, shifts) for info, shifts in found}
    missing = {d.oncall_pool for d, _ in found if d.oncall_pool and d.oncall_pool not in by_code}
    if missing:
        by_code.update(
            (i.code, (i, s)) for i, s in queries.departments_with_shifts_covering(session, now, missing)
        )
    # A department under an agreement has that agreement's calendar (half days) and fallback number.
    agreements = queries.agreements_of(session, [d.code for d, _ in found], policy.calendar)
    rows = []
    for department, shifts in found:
        rules = agreements.get(department.code)
        pool, pool_shifts = by_code.get(department.oncall_pool or "", (None, []))
        decision = decide_for_department(
            department=department,
            shifts=shifts,
            calendar=rules.calendar if rules else policy.calendar,
            now=now,
            fallback_number=rules.fallback_number if rules else policy.fallback_number,
            pool=pool if pool is not None and pool.code != department.code else None,
            pool_shifts=pool_shifts,
        )
        nurses: tuple[Target, ...] = ()
        if rules is not None and rules.nurse_first:
            nursing = decide_for_department(
                department=department,
                shifts=shifts,
                calendar=rules.calendar,
                now=now,
                fallback_number=rules.fallback_number,
                nurses=True,
            )
            nurses = tuple(t for t in nursing.targets if t.label == Role.NURSE.value)
        rows.append(
            DepartmentNow(
                department.code,
                department.name,
                department.hospital,
                decision,
                rules.code if rules else None,
                rules.name if rules else None,
                nurses,
            )
        )
    return rows


def all_departments_listed(session: Session) -> Sequence[Department]:
    """Every department, by code."""
    return session.scalars(select(Department).order_by(Department.code)).all()


def hospitals(session: Session) -> list[str]:
    return list(session.scalars(select(Department.hospital).distinct().order_by(Department.hospital)))


def find_by(session: Session, model: type[M], column: str, keys: Iterable[str]) -> dict[str, M]:
    """Return the stored `model` rows whose `column` is one of `keys`, by that value."""
    attribute = getattr(model, column)
    wanted = sorted(set(keys))
    found: dict[str, M] = {}
    for start in range(0, len(wanted), _LOOKUP_CHUNK):
        chunk = wanted[start : start + _LOOKUP_CHUNK]
        for row in session.scalars(select(model).where(attribute.in_(chunk))):
            found[getattr(row, column)] = row
    return found


def _assign(record: Base, values: dict[str, Any]) -> None:
    for key, value in values.items():
        setattr(record, key, value)
