"""Read a rota file (`department,role,start,end,name,phone`)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.intake.table import Problems, Row, read_csv
from app.values.times import local_minute
from routing import ROLES, Role, shift_problem

COLUMNS = ("department", "role", "start", "end", "name", "phone")


@dataclass(frozen=True)
class ShiftRecord:
    """One shift of a rota, checked but not stored."""

    department: str
    role: Role
    start: datetime
    end: datetime
    phone: str
    name: str = ""
    row: int = 0


# A shift this far ahead is most likely a typing error (2062 for 2026): shown, not refused.
FAR_AHEAD = timedelta(days=366)


def read_rota(
    text: str, problems: Problems, departments: Collection[str], now: datetime | None = None
) -> list[ShiftRecord]:
    """Return the file's shifts; `departments` are the codes that exist; `now` finds far-off rows."""
    table = read_csv(text, problems, COLUMNS)
    if table is None:
        return []
    _, rows = table
    records = []
    for row in rows:
        department = department_code(row, departments)
        role = row.choice("role", ROLES, required=True)
        start = row.time("start", required=True)
        end = row.time("end", required=True)
        if start is not None and end is not None:
            problem = shift_problem(start, end)
            if problem:
                row.problem("end", problem)
        if start is not None and now is not None and start - now > FAR_AHEAD:
            problems.warn(
                row.number, "start", f"{local_minute(start)} is more than a year ahead: a typing error?"
            )
        name = row.name("name") or ""
        phone = row.phone("phone", required=True)
        if row.ok and department and role and start and end and phone:
            records.append(ShiftRecord(department, Role(role), start, end, phone, name, row.number))
    return records


def department_code(row: Row, departments: Collection[str]) -> str | None:
    """Return the row's department code when that department exists."""
    code = row.text("department", required=True, max_length=32)
    if code is not None and code not in departments:
        row.problem("department", f"no department with code {code!r} (import departments first)")
        return None
    return code
