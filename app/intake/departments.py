"""Read a departments file (`code,name,hospital,day_phone,oncall_phone,switchboard_phone`, optional
`day_hours`, `sor_ids`, `agreement`, `psychiatric`, `oncall_pool`, and the department's own calendar
on top of its agreement's: `closed_days` as `01-02 12-27`, `half_days` as `06-05 12:00, 12-23 13:00`)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, TypeVar

from app.intake.table import Problems, Row, Seen, read_csv
from app.values.cpr import shown
from app.values.days import parse_closed_days, parse_half_days
from routing import DayHours

COLUMNS = ("code", "name", "hospital", "day_phone", "oncall_phone", "switchboard_phone")
OPTIONAL = ("day_hours", "sor_ids", "agreement", "psychiatric", "oncall_pool", "closed_days", "half_days")
# A SOR id (Sundhedsvæsenets Organisationsregister) is a number of up to 18 digits.
SOR_ID_DIGITS = 18
T = TypeVar("T")


@dataclass(frozen=True)
class DepartmentRecord:
    """One department as a file (or the demo) gives it; `day_hours` only counts when given."""

    code: str
    name: str
    hospital: str
    day_phone: str
    switchboard_phone: str
    oncall_phone: str | None = None
    day_hours: str | None = None
    has_day_hours: bool = True
    sor_ids: str | None = None  # space-separated SOR ids of its wards, as a FHIR notification names them
    has_sor_ids: bool = False
    agreement: str | None = None  # the regional agreement's code; None: the deployment's settings
    has_agreement: bool = False
    psychiatric: bool | None = None  # None: not given
    # The department whose on-call chain it takes in on-call time (a shared on-call pool), by code.
    oncall_pool: str | None = None
    has_oncall_pool: bool = False
    # Its own calendar on top of its agreement's; None: the column is not in the file (kept as stored).
    closed_days: list[str] | None = None
    half_days: dict[str, str] | None = None
    row: int = 0

    def values(self) -> dict[str, Any]:
        """Return the stored columns this record sets."""
        values: dict[str, Any] = {
            "code": self.code,
            "name": self.name,
            "hospital": self.hospital,
            "day_phone": self.day_phone,
            "oncall_phone": self.oncall_phone,
            "switchboard_phone": self.switchboard_phone,
        }
        if self.has_day_hours:
            values["day_hours"] = self.day_hours
        if self.has_sor_ids:
            values["sor_ids"] = self.sor_ids
        if self.has_agreement:
            values["agreement"] = self.agreement
        if self.psychiatric is not None:
            values["psychiatric"] = self.psychiatric
        if self.has_oncall_pool:
            values["oncall_pool"] = self.oncall_pool
        if self.closed_days is not None:
            values["closed_days"] = self.closed_days
        if self.half_days is not None:
            values["half_days"] = self.half_days
        return values


def read_departments(
    text: str, problems: Problems, agreements: Collection[str] | None = None
) -> list[DepartmentRecord]:
    """Return the file's departments; problems go to `problems`; `agreements` are the codes stored."""
    table = read_csv(text, problems, COLUMNS, optional=OPTIONAL)
    if table is None:
        return []
    columns, rows = table
    seen = Seen()
    sor_owners: dict[str, tuple[int, str | None]] = {}
    records = []
    for row in rows:
        code = row.text("code", required=True, max_length=32)
        seen.check(row, "code", code)
        name = row.name("name", required=True)
        hospital = row.name("hospital", required=True)
        day_phone = row.phone("day_phone", required=True)
        oncall_phone = row.phone("oncall_phone")
        switchboard_phone = row.phone("switchboard_phone", required=True)
        day_hours = _day_hours(row) if "day_hours" in columns else None
        sor_ids = _sor_ids(row, code, sor_owners) if "sor_ids" in columns else None
        agreement = row.text("agreement", max_length=16) if "agreement" in columns else None
        if agreement is not None and agreements is not None and agreement not in agreements:
            row.problem("agreement", f"no agreement {agreement!r} (import agreements first)")
        psychiatric = None
        if "psychiatric" in columns:
            flag = row.choice("psychiatric", ("yes", "no"))
            psychiatric = flag == "yes" if flag else False
        oncall_pool = row.text("oncall_pool", max_length=32) if "oncall_pool" in columns else None
        if oncall_pool is not None and oncall_pool == code:
            row.problem("oncall_pool", "a department cannot be its own on-call pool (leave it empty)")
        closed = _days(row, "closed_days", parse_closed_days) if "closed_days" in columns else None
        half = _days(row, "half_days", parse_half_days) if "half_days" in columns else None
        if row.ok and code and name and hospital and day_phone and switchboard_phone:
            records.append(
                DepartmentRecord(
                    code=code,
                    name=name,
                    hospital=hospital,
                    day_phone=day_phone,
                    oncall_phone=oncall_phone,
                    switchboard_phone=switchboard_phone,
                    day_hours=day_hours,
                    has_day_hours="day_hours" in columns,
                    sor_ids=sor_ids,
                    has_sor_ids="sor_ids" in columns,
                    agreement=agreement,
                    has_agreement="agreement" in columns,
                    psychiatric=psychiatric,
                    oncall_pool=oncall_pool,
                    has_oncall_pool="oncall_pool" in columns,
                    closed_days=closed,
                    half_days=half,
                    row=row.number,
                )
            )
    return records


def _day_hours(row: Row) -> str | None:
    text = row.text("day_hours", max_length=40)
    if text is None:
        return None
    try:
        return str(DayHours.parse(text))
    except ValueError as exc:
        row.problem("day_hours", str(exc))
        return None


def _days(row: Row, column: str, parse: Callable[[str], T]) -> T | None:
    """The department's own closed days or half days (an empty cell: none of its own)."""
    text = row.text(column, max_length=500) or ""
    try:
        return parse(text)
    except ValueError as exc:
        row.problem(column, str(exc))
        return None


def _sor_ids(row: Row, code: str | None, owners: dict[str, tuple[int, str | None]]) -> str | None:
    """Return the row's SOR ids, space-separated; a SOR id of two departments is an error naming both."""
    text = row.text("sor_ids", max_length=500)
    if text is None:
        return None
    ids: list[str] = []
    for sor in text.split():
        if not (sor.isascii() and sor.isdigit()) or len(sor) > SOR_ID_DIGITS:
            row.problem(
                "sor_ids",
                f"{shown(sor)} is not a SOR id (up to {SOR_ID_DIGITS} digits, ids separated by spaces)",
            )
            continue
        if sor in ids:
            row.problem("sor_ids", f"{sor} is given twice")
            continue
        owner = owners.get(sor)
        if owner is not None:
            row.problem(
                "sor_ids",
                f"{sor} is given to both {owner[1]} (row {owner[0]}) and {code}: "
                "a SOR id names one department",
            )
            continue
        owners[sor] = (row.number, code)
        ids.append(sor)
    return " ".join(ids) or None
