"""Read a discharges file: a JSON array, or one JSON object a line."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from app.intake.rota import department_code
from app.intake.table import Problems, Row, Seen, read_json_records
from app.values.cpr import CprError
from app.values.cpr import parse as parse_cpr
from routing.decision import DESTINATIONS

REQUIRED = ("id", "cpr", "department", "discharged_at", "destination")
OPTIONAL = ("admitted_at", "municipality", "gp_phone", "responsibility_until")


@dataclass(frozen=True)
class DischargeRecord:
    """One discharge as a hospital reports it. `cpr` is the bare 10-digit number: never log it."""

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
    text: str, problems: Problems, departments: Collection[str], today: date
) -> list[DischargeRecord]:
    """Return the file's discharges; `departments` are the codes that exist, `today` is local."""
    rows = read_json_records(text, problems)
    if rows is None:
        return []
    known = REQUIRED + OPTIONAL
    ids = Seen()
    records = []
    for row in rows:
        for key in row.values:
            if key not in known:
                row.problem(key, f"unknown field (expected {', '.join(known)})")
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
        if row.ok and external_id and number and department and discharged_at and destination:
            records.append(
                DischargeRecord(
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
            )
    return records


def _cpr(row: Row, today: date) -> str | None:
    """Return the checked CPR number; the error lines never repeat it."""
    text = row.text("cpr", required=True, max_length=20)
    if not text:
        return None
    try:
        number, _ = parse_cpr(text, today)
    except CprError as exc:
        row.problem("cpr", str(exc))
        return None
    return number
