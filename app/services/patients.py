"""Decide for a patient: which discharge counts, whether a responsibility is active, who to ring."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from app.config import Policy
from app.data import queries
from app.data.models import Department, Discharge
from app.values.cpr import CprError, CprVault, parse
from routing import Agreement, Decision, ShiftInfo, decide, local_date
from routing.decision import admitted_now, newest_discharge


@dataclass(frozen=True)
class PatientDecision:
    """The routing decision for a patient, with the stored records it rests on."""

    decision: Decision
    discharge: Discharge | None
    department: Department | None
    agreement: Agreement | None = None  # the deciding department's, when it has one


def decide_for_patient(
    session: Session,
    policy: Policy,
    vault: CprVault,
    number: str,
    now: datetime,
    caller_number: str | None = None,
    caller_kind: str | None = None,
) -> PatientDecision:
    """Return where a call about the patient with CPR `number` goes at `now`, and why.

    `caller_number` (E.164) is never part of the chain: the line does not ring the
    caller back to itself. `caller_kind` (the registered caller's kind) decides whether
    nurses come first where the department's agreement says so.
    """
    # During a key rotation a stay may still be stored under the previous key's lookup key.
    lookups = vault.lookup_keys(number)
    rows, agreements = queries.stays_with_agreements(session, lookups, policy.calendar)
    infos = [queries.discharge_info(row) for row in rows]
    died = queries.deceased_at(session, lookups) if rows else None
    # The stay that decides: the one the patient is admitted on now, else the newest discharge.
    deciding = admitted_now(infos, now) or newest_discharge(infos, now)
    deciding_row = next((r for r in rows if deciding and r.external_id == deciding.id), None)
    departments = {row.department.code: queries.department_info(row.department) for row in rows}
    shifts: list[ShiftInfo] = []
    pool_shifts: list[ShiftInfo] = []
    if deciding_row is not None:
        # A department that takes its on-call chain from a pool: the pool's shifts come along.
        pool = queries.pool_of(session, deciding_row.department)
        if pool is not None:
            departments.setdefault(pool.code, queries.department_info(pool))
            agreements.update(queries.agreements_of(session, [pool.code], policy.calendar))
        shifts, pool_shifts = queries.chain_shifts(session, deciding_row.department, pool, now)
    decision = decide(
        discharges=infos,
        departments=departments,
        shifts=shifts,
        calendar=policy.calendar,
        now=now,
        window=policy.window,
        fallback_number=policy.fallback_number,
        after_hours_number=policy.after_hours_number,
        caller_number=caller_number,
        deceased_at=died,
        agreements=agreements,
        born=_born(number, now),
        caller_kind=caller_kind,
        pool_shifts=pool_shifts,
    )
    department = deciding_row.department if deciding_row else None
    return PatientDecision(
        decision, deciding_row, department, agreements.get(department.code) if department else None
    )


def _born(number: str, now: datetime) -> date | None:
    """The patient's birth date, for an agreement's age limit (None when the number tells none)."""
    try:
        return parse(number, local_date(now))[1]
    except CprError:
        return None
