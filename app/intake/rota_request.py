"""Read the shifts a scheduling system sends (a JSON list of objects) as a rota file's rows are read.

The same checks as the CSV reader, value by value through `Row`: roles, times with the
daylight-saving rules, phone numbers, names without control characters, an end after
the start. Each problem is kept by its field path (`shifts[3].end`, 0-based like JSON).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.intake.rota import FAR_AHEAD, ShiftRecord
from app.intake.table import Problems, Row
from app.values.cpr import redact
from app.values.times import local_minute
from routing import ROLES, Role, shift_problem

FIELDS = ("role", "start", "end", "name", "phone")


@dataclass(frozen=True)
class RequestShift(ShiftRecord):
    """A shift of a request; `place` (its path) is what a review's findings point at."""

    place: str = ""


class FieldProblems(Problems):
    """Problems by field path, beside the lines a file's problems are."""

    def __init__(self, name: str = "shifts") -> None:
        super().__init__(name)
        self.errors: dict[str, list[str]] = {}
        self.warned: dict[str, list[str]] = {}

    def path(self, row: int, column: str) -> str:
        return f"{self.name}[{row}].{column}" if column else f"{self.name}[{row}]"

    def add(self, row: int, column: str, message: str, **more: Any) -> None:
        super().add(row, column, message, **more)
        self.errors.setdefault(self.path(row, column), []).append(redact(message))

    def warn(self, row: int, column: str, message: str, **more: Any) -> None:
        super().warn(row, column, message, **more)
        self.warned.setdefault(self.path(row, column), []).append(redact(message))

    def warning_lines(self) -> list[str]:
        return [
            f"{path}: warning: {message}" for path, messages in self.warned.items() for message in messages
        ]


def read_shifts(
    items: Sequence[object], department: str, problems: FieldProblems, now: datetime | None = None
) -> list[RequestShift]:
    """Return the request's shifts for `department`; each problem is noted by its field path."""
    records = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            problems.add(index, "", "must be an object with role, start, end, name and phone")
            continue
        row = Row(problems, index, item)
        for key in item:
            if key not in FIELDS:
                row.problem(str(key), f"unknown field (expected {', '.join(FIELDS)})")
        role = row.choice("role", ROLES, required=True)
        start = row.time("start", required=True)
        end = row.time("end", required=True)
        if start is not None and end is not None:
            problem = shift_problem(start, end)
            if problem:
                row.problem("end", problem)
        if start is not None and now is not None and start - now > FAR_AHEAD:
            problems.warn(index, "start", f"{local_minute(start)} is more than a year ahead: a typing error?")
        name = row.name("name") or ""
        phone = row.phone("phone", required=True)
        if row.ok and role and start and end and phone:
            place = problems.path(index, "")
            records.append(RequestShift(department, Role(role), start, end, phone, name, index, place))
    return records
