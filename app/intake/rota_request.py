"""Read the shifts a scheduling system sends (a JSON list of objects) as a rota file's rows are read.

The same checks as the CSV reader, value by value through `Row`: roles, times with the
daylight-saving rules, phone numbers, names without control characters, an end after
the start. Each problem is kept by its field path (`shifts[3].end`, 0-based like JSON).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from app.intake.rota import ShiftRecord, check_shift
from app.intake.table import Problems, Row
from app.values.cpr import redact

FIELDS = ("role", "start", "end", "name", "phone")


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
) -> list[ShiftRecord]:
    """Return the request's shifts for `department`; each problem is noted by its field path."""
    records = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            problems.add(index, "", "must be an object with role, start, end, name and phone")
            continue
        # The department is the request's, not the item's: one set of checks, the rota file's.
        row = Row(problems, index, {**item, "department": department}, place=problems.path(index, ""))
        for key in item:
            if key not in FIELDS:
                row.problem(str(key), f"unknown field (expected {', '.join(FIELDS)})")
        record = check_shift(row, {department}, now)
        if record is not None:
            records.append(record)
    return records
