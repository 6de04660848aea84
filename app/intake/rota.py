"""Read a rota: a CSV file (`department,role,start,end,name,phone`), an Excel workbook with the
same columns, or an iCalendar file of one department's shifts in one role."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePath

from app.intake.ical import CALENDAR_MAGIC, read_events
from app.intake.table import SAVE_AS_CSV_UTF8, Problems, Row, decode, read_csv
from app.intake.workbook import OLE_MAGIC, ZIP_MAGIC, read_xlsx
from app.values.times import local_minute
from routing import ROLES, Role, shift_problem

COLUMNS = ("department", "role", "start", "end", "name", "phone")
TIMES = ("start", "end")

# Told how far the checking has come: (rows or events checked, how many there are).
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ShiftRecord:
    """One shift of a rota, checked but not stored; `place` names an event or cell where rows do not."""

    department: str
    role: Role
    start: datetime
    end: datetime
    phone: str
    name: str = ""
    row: int = 0
    place: str = ""


# A shift this far ahead is most likely a typing error (2062 for 2026): shown, not refused.
# It is also how far a calendar's series without end is read.
FAR_AHEAD = timedelta(days=366)

# The file kinds by name; a name that says none of them is told by its first bytes.
KINDS = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx", ".xls": "xlsx", ".ics": "ics"}
KIND_NAMES = {"csv": "a CSV file", "xlsx": "an Excel workbook", "ics": "an iCalendar file"}


def read_rota(
    text: str, problems: Problems, departments: Collection[str], now: datetime | None = None
) -> list[ShiftRecord]:
    """Return the shifts of a rota CSV; `departments` are the codes that exist; `now` finds far-off rows."""
    table = read_csv(text, problems, COLUMNS)
    if table is None:
        return []
    return check_rows(table[1], departments, now)


def read_rota_file(
    data: bytes,
    name: str,
    problems: Problems,
    departments: Collection[str],
    now: datetime,
    *,
    sheet: str | None = None,
    department: str | None = None,
    role: str | None = None,
    progress: Progress | None = None,
) -> list[ShiftRecord]:
    """Return the shifts of a rota file of any kind, told by its name (else its first bytes).

    `sheet` picks a workbook's sheet (else the first); `department` and `role` are
    what a calendar's events are, and are given for a calendar only.
    """
    kind = file_kind(data, name)
    if kind != "xlsx" and sheet is not None:
        problems.file(f"a sheet is only chosen in an Excel workbook, and this is {KIND_NAMES[kind]}")
        return []
    if kind != "ics" and (department is not None or role is not None):
        problems.file(
            f"a department and role are only given with an iCalendar file; {KIND_NAMES[kind]} "
            "names them on each row"
        )
        return []
    if kind == "ics":
        return _read_calendar(data, problems, departments, now, department, role, progress)
    if kind == "xlsx":
        table = read_xlsx(data, problems, COLUMNS, sheet=sheet, times=TIMES)
    else:
        if data.startswith(ZIP_MAGIC):
            problems.file("not a CSV file but a zip archive (an Excel workbook?): name it .xlsx")
            return []
        if data.removeprefix(b"\xef\xbb\xbf").lstrip().upper().startswith(CALENDAR_MAGIC):
            problems.file("not a CSV file but a calendar (iCalendar): name it .ics")
            return []
        text = decode(data, problems, advice=SAVE_AS_CSV_UTF8)
        table = read_csv(text, problems, COLUMNS) if text is not None else None
    if table is None:
        return []
    return check_rows(table[1], departments, now, progress)


def file_kind(data: bytes, name: str) -> str:
    """Return `csv`, `xlsx` or `ics`: by the file's extension, else by how it starts."""
    kind = KINDS.get(PurePath(name).suffix.lower())
    if kind is not None:
        return kind
    if data.startswith((ZIP_MAGIC, OLE_MAGIC)):
        return "xlsx"
    if data.removeprefix(b"\xef\xbb\xbf").lstrip().upper().startswith(CALENDAR_MAGIC):
        return "ics"
    return "csv"


def check_rows(
    rows: Sequence[Row], departments: Collection[str], now: datetime | None, progress: Progress | None = None
) -> list[ShiftRecord]:
    """Return the shifts of rows that pass every check; each problem goes to the rows' `problems`."""
    records = []
    for done, row in enumerate(rows, start=1):
        record = check_shift(row, departments, now)
        if record is not None:
            records.append(record)
        if progress is not None:
            progress(done, len(rows))
    return records


def check_shift(row: Row, departments: Collection[str], now: datetime | None) -> ShiftRecord | None:
    """Return the row's shift, or None with its problems noted: one set of checks for every file kind."""
    department = department_code(row, departments)
    role = row.choice("role", ROLES, required=True)
    start = row.time("start", required=True)
    end = row.time("end", required=True)
    if start is not None and end is not None:
        problem = shift_problem(start, end)
        if problem:
            row.problem("end", problem)
    if start is not None and now is not None and start - now > FAR_AHEAD:
        # An event's place already names its time; a row's line does not.
        when = "" if row.place is not None else f"{local_minute(start)} "
        row.warn("start", f"{when}is more than a year ahead: a typing error?")
    name = row.name("name") or ""
    phone = row.phone("phone", required=True)
    if row.ok and department and role and start and end and phone:
        return ShiftRecord(department, Role(role), start, end, phone, name, row.number, row.place or "")
    return None


def _read_calendar(
    data: bytes,
    problems: Problems,
    departments: Collection[str],
    now: datetime,
    department: str | None,
    role: str | None,
    progress: Progress | None,
) -> list[ShiftRecord]:
    """Return the shifts of a calendar whose events are all `department`'s, in `role`."""
    if department is None or role is None:
        problems.file(
            "a calendar does not say which department and role its events are: "
            "give both with the file (--department CODE --role ROLE)"
        )
        return []
    given = Row(problems, 0, {"department": department, "role": role}, place="")
    department_code(given, departments)
    given.choice("role", ROLES, required=True)
    if not given.ok:
        return []
    occurrences = read_events(data, problems, now + FAR_AHEAD)
    if occurrences is None:
        return []
    rows = []
    for number, occurrence in enumerate(occurrences, start=1):
        values = {
            "department": department,
            "role": role,
            "start": occurrence.start,
            "end": occurrence.end,
            "name": occurrence.name,
            "phone": occurrence.phone,
        }
        # Grouped by event: a mistake in a weekly series is one line, not fifty-two.
        row = Row(problems, number, values, place=occurrence.place, group=occurrence.uid)
        # Without its person the occurrence is not checked further: the rest follows once fixed.
        if occurrence.problem:
            row.problem("phone", occurrence.problem)
        elif occurrence.phone is None:
            row.problem("phone", "no phone number: give an ATTENDEE with a tel: URI, or a number in LOCATION")
        else:
            rows.append(row)
    return check_rows(rows, departments, now, progress)


def department_code(row: Row, departments: Collection[str]) -> str | None:
    """Return the row's department code when that department exists."""
    code = row.text("department", required=True, max_length=32)
    if code is not None and code not in departments:
        row.problem("department", f"no department with code {code!r} (import departments first)")
        return None
    return code
