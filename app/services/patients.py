"""Decide for a patient: which discharge counts, whether a responsibility is active, who to ring."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.config import Policy
from app.data import queries
from app.data.models import Department, Discharge
from app.values.cpr import CprVault
from routing import Decision, decide
from routing.decision import newest_discharge


@dataclass(frozen=True)
class PatientDecision:
    """The routing decision for a patient, with the stored records it rests on."""

    decision: Decision
    discharge: Discharge | None
    department: Department | None


def decide_for_patient(
    session: Session,
    policy: Policy,
    vault: CprVault,
    number: str,
    now: datetime,
    caller_number: str | None = None,
) -> PatientDecision:
    """Return where a call about the patient with CPR `number` goes at `now`, and why.

    `caller_number` (E.164) is never part of the chain: the line does not ring the
    caller back to itself.
    """
    rows = queries.discharges_of(session, vault.lookup_key(number))
    infos = [queries.discharge_info(row) for row in rows]
    newest = newest_discharge(infos, now)
    newest_row = next((r for r in rows if newest and r.external_id == newest.id), None)
    departments = {row.department.code: queries.department_info(row.department) for row in rows}
    shifts = queries.shifts_covering(session, newest_row.department_id, now) if newest_row else []
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
    )
    return PatientDecision(decision, newest_row, newest_row.department if newest_row else None)
