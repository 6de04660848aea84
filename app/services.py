"""Service functions shared by the web, the IVR and the command line."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app import records
from app.policy import Policy
from routing import Decision, decide_for_department


def department_chain_at(session: Session, policy: Policy, code: str, now: datetime) -> Decision | None:
    """Return who a call about the department's patient would ring at `now`, or None."""
    department = records.find_department(session, code)
    if department is None:
        return None
    return decide_for_department(
        department=records.department_info(department),
        shifts=records.shifts_covering(session, department.id, now),
        calendar=policy.calendar,
        now=now,
        fallback_number=policy.fallback_number,
    )
