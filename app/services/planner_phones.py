"""The numbers that hear of a department's rota gaps: a planner's mobile (SMS) or a landline (a call).

Danish numbers do not tell a mobile from a landline, so whoever adds a number says which.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.data import queries
from app.data.models import Department, PlannerPhone
from app.values.phones import PhoneError, check

MAX_NAME = 200


class PlannerPhoneRefused(ValueError):
    """A change to the alert numbers that cannot be made; the message names the field and the problem."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Added:
    """The number stored, and a warning when its range is not in the numbering plan yet."""

    phone: PlannerPhone
    warning: str | None = None


def _department(session: Session, code: str, allowed: Collection[str] | None) -> Department:
    department = queries.find_department(session, code)
    if department is None or (allowed is not None and code not in allowed):
        raise PlannerPhoneRefused("department", f"no department {code!r} you may change")
    return department


def _number(text: str) -> tuple[str, str | None]:
    try:
        # A full number: a short number such as 1813 can take neither an SMS nor our call.
        checked = check(text, allow_short=False)
    except PhoneError as exc:
        raise PlannerPhoneRefused("number", str(exc)) from None
    return checked.number, checked.warning


def add_planner_phone(
    session: Session,
    code: str,
    number: str,
    *,
    name: str = "",
    mobile: bool = True,
    allowed: Collection[str] | None = None,
) -> Added:
    """Store a number that hears of the department's gaps (flush only); raise PlannerPhoneRefused."""
    department = _department(session, code, allowed)
    phone, warning = _number(number)
    name = name.strip()
    if len(name) > MAX_NAME or any(ord(char) < 32 or 127 <= ord(char) < 160 for char in name):
        raise PlannerPhoneRefused("name", f"at most {MAX_NAME} characters, no control characters")
    if _find(session, department, phone) is not None:
        raise PlannerPhoneRefused("number", f"{phone} already hears of the gaps of {code}")
    row = PlannerPhone(department_id=department.id, phone=phone, name=name, mobile=mobile)
    session.add(row)
    session.flush()
    return Added(row, warning)


def remove_planner_phone(
    session: Session, code: str, number: str, *, allowed: Collection[str] | None = None
) -> PlannerPhone:
    """Remove a number from the department's alert numbers (flush only); raise PlannerPhoneRefused."""
    department = _department(session, code, allowed)
    phone, _ = _number(number)
    row = _find(session, department, phone)
    if row is None:
        raise PlannerPhoneRefused("number", f"{phone} is not an alert number of {code}")
    session.delete(row)
    session.flush()
    return row


def planner_phones(session: Session, codes: Collection[str] | None = None) -> list[PlannerPhone]:
    """The alert numbers of the given departments (None: all), by department and number."""
    query = select(PlannerPhone).join(Department).order_by(Department.code, PlannerPhone.phone)
    if codes is not None:
        query = query.where(Department.code.in_(list(codes)))
    return list(session.scalars(query))


def _find(session: Session, department: Department, phone: str) -> PlannerPhone | None:
    return session.scalars(
        select(PlannerPhone).where(PlannerPhone.department_id == department.id, PlannerPhone.phone == phone)
    ).first()
