"""Read discharges: a file (a JSON array, or one JSON object a line) or a REST request's JSON.

Both go through the same row checks (`check_discharge`); a request's problems are kept
by field path (`[3].discharged_at`, or `discharged_at` for a single discharge).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from app.intake.rota import Progress, department_code
from app.intake.rota_request import FieldProblems
from app.intake.table import Problems, Row, Seen, read_json_records
from app.values.cpr import CprError, check_feed_cpr
from app.values.cpr import parse as parse_cpr
from routing.decision import DESTINATIONS

REQUIRED = ("id", "cpr", "department", "discharged_at", "destination")
OPTIONAL = ("admitted_at", "municipality", "gp_phone", "responsibility_until")


@dataclass(frozen=True)
class DischargeRecord:
    """One discharge as a hospital reports it. `cpr` is the bare number (or a replacement number
    with letters): never log it."""

    external_id: str
    cpr: str
    department: str
    discharged_at: datetime
    destination: str
    admitted_at: datetime | None = None
    municipality: str | None = None
    gp_phone: str | None = None
    responsibility_until: datetime | None = None
    row: int = 0

    def __repr__(self) -> str:  # keeps the CPR number out of tracebacks and logs
        return f"DischargeRecord({self.external_id!r})"


def read_discharges(
    text: str,
    problems: Problems,
    departments: Collection[str],
    today: date,
    progress: Progress | None = None,
) -> list[DischargeRecord]:
    """Return the file's discharges; `departments` are the codes that exist, `today` is local."""
    rows = read_json_records(text, problems)
    if rows is None:
        return []
    return _check_rows(rows, departments, today, progress)


class RequestProblems(FieldProblems):
    """A request's problems by field path: `[3].cpr` in a batch, `cpr` for a single discharge."""

    def __init__(self, single: bool) -> None:
        super().__init__("")
        self.single = single

    def path(self, row: int, column: str) -> str:
        if self.single:
            return column
        return f"[{row}].{column}" if column else f"[{row}]"


def read_discharge_items(
    items: Sequence[object], problems: RequestProblems, departments: Collection[str], today: date
) -> list[DischargeRecord]:
    """Return a request's discharges (decoded JSON objects), each checked as a file's row is."""
    rows = []
    for index, item in enumerate(items):
        if isinstance(item, dict):
            rows.append(Row(problems, index, item, place=problems.path(index, "") or "discharge"))
        else:
            problems.add(index, "", "must be a JSON object with " + ", ".join(REQUIRED))
    return _check_rows(rows, departments, today, None)


def _check_rows(
    rows: Sequence[Row], departments: Collection[str], today: date, progress: Progress | None
) -> list[DischargeRecord]:
    ids = Seen()
    records = []
    for done, row in enumerate(rows, start=1):
        record = check_discharge(row, departments, today, ids)
        if record is not None:
            records.append(record)
        if progress is not None and done % 500 == 0:
            progress(done, len(rows))
    if progress is not None:
        progress(len(rows), len(rows))
    return records


def check_discharge(row: Row, departments: Collection[str], today: date, ids: Seen) -> DischargeRecord | None:
    """Return the row's discharge, or None with each problem noted on the row."""
    known = REQUIRED + OPTIONAL
    for key in row.values:
        if key not in known:
            row.problem(str(key), f"unknown field (expected {', '.join(known)})")
    external_id = row.text("id", required=True, max_length=64)
    ids.check(row, "id", external_id)
    number = _cpr(row, today)
    department = department_code(row, departments)
    discharged_at = row.time("discharged_at", required=True)
    admitted_at = row.time("admitted_at")
    until = row.time("responsibility_until")
    if discharged_at is not None and admitted_at is not None and admitted_at > discharged_at:
        row.problem("admitted_at", "must not be after discharged_at")
    if discharged_at is not None and until is not None and until < discharged_at:
        row.problem("responsibility_until", "must not be before discharged_at")
    destination = row.choice("destination", sorted(DESTINATIONS), required=True)
    municipality = row.name("municipality", max_length=100)
    gp_phone = row.phone("gp_phone")
    if not (row.ok and external_id and number and department and discharged_at and destination):
        return None
    return DischargeRecord(
        external_id=external_id,
        cpr=number,
        department=department,
        discharged_at=discharged_at,
        destination=destination,
        admitted_at=admitted_at,
        municipality=municipality,
        gp_phone=gp_phone,
        responsibility_until=until,
        row=row.number,
    )


def _cpr(row: Row, today: date) -> str | None:
    """Return the checked CPR number or replacement number; the error lines never repeat it."""
    text = row.text("cpr", required=True, max_length=20)
    if not text:
        return None
    try:
        number = check_feed_cpr(text)
        if number.isdigit():  # a real number's birth date is not in the future either
            parse_cpr(number, today)
    except CprError as exc:
        row.problem("cpr", str(exc))
        return None
    return number


def as_items(body: Any) -> tuple[list[object], bool] | None:
    """Return a request body's discharges and whether it was one object; None for neither."""
    if isinstance(body, dict):
        return [body], True
    if isinstance(body, list):
        return list(body), False
    return None
