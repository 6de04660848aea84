"""Import departments, callers, rota and discharges files: check everything, then store.

An import is all or nothing. Every row is checked first, and each problem is one
line `FILE:ROW: COLUMN: what is wrong` (several lines for a row with several
problems); only a file without problems is written, and then only flushed: the
caller commits or rolls back. A problem with the file as a whole (missing,
unreadable, not UTF-8, not JSON) is one line `FILE: what is wrong`.

ROW points at the place in the file:
- CSV: the physical line the row starts on. The header is line 1, so the first
  data row is line 2; blank lines count, and a quoted value may span lines.
- JSON array: the 1-based position of the object in the array.
- JSON Lines (one object a line; chosen when the file does not start with `[`):
  the line number.

Files are UTF-8, with or without a byte order mark. No error line ever holds a
CPR number.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.cpr import CprError, CprVault
from app.cpr import parse as parse_cpr
from app.db import Base
from app.models import Caller, Department, Discharge
from app.phones import PhoneError, normalise
from app.timeparse import TimeError, parse_time
from routing.calendar import COPENHAGEN, DayHours
from routing.decision import DESTINATIONS
from schedules.rota import LONGEST_SHIFT, ROLES, RotaEntry, replace_rota

KINDS = ("departments", "callers", "rota", "discharges")
CALLER_KINDS = ("home_nursing", "nursing_home", "temporary_stay", "residential", "gp", "acute_1813", "other")
LANGUAGES = ("da", "en")
CALLER_CODE = re.compile(r"[0-9]{4,8}")

DEPARTMENT_COLUMNS = ("code", "name", "hospital", "day_phone", "oncall_phone", "switchboard_phone")
CALLER_COLUMNS = ("phone", "organisation", "kind", "code", "language")
ROTA_COLUMNS = ("department", "role", "start", "end", "name", "phone")
DISCHARGE_REQUIRED = ("id", "cpr", "department", "discharged_at", "destination")
DISCHARGE_OPTIONAL = ("admitted_at", "municipality", "gp_phone", "responsibility_until")

_LOOKUP_CHUNK = 500
M = TypeVar("M", bound=Base)


@dataclass
class ImportResult:
    """What an import found wrong (nothing stored then), or what it stored."""

    errors: list[str] = field(default_factory=list)
    summary: str = ""


def import_path(
    session: Session, kind: str, path: Path | str, *, vault: CprVault, now: datetime
) -> ImportResult:
    """Check the file at `path` as `kind` and, when nothing is wrong, store it (flush only)."""
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return ImportResult(errors=[f"{name}: no such file"])
    except IsADirectoryError:
        return ImportResult(errors=[f"{name}: is a directory, not a file"])
    except OSError as exc:
        return ImportResult(errors=[f"{name}: cannot be read: {exc.strerror or exc}"])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        byte = data[exc.start]
        return ImportResult(errors=[f"{name}: not UTF-8 text (byte {byte:#04x} at offset {exc.start})"])
    return import_text(session, kind, text, name=name, vault=vault, now=now)


def import_text(
    session: Session, kind: str, text: str, *, name: str, vault: CprVault, now: datetime
) -> ImportResult:
    """Check `text` (a file's contents, called `name` in errors) as `kind`; store it when nothing is wrong."""
    problems = _Problems(name)
    if kind == "departments":
        summary = _import_departments(session, text, problems)
    elif kind == "callers":
        summary = _import_callers(session, text, problems)
    elif kind == "rota":
        summary = _import_rota(session, text, problems)
    elif kind == "discharges":
        today = now.astimezone(COPENHAGEN).date()
        summary = _import_discharges(session, text, problems, vault, today)
    else:
        raise ValueError(f"unknown import kind {kind!r}: expected one of {', '.join(KINDS)}")
    if problems:
        return ImportResult(errors=problems.lines())
    return ImportResult(summary=summary or "")


# --- Departments -------------------------------------------------------------------------


def _import_departments(session: Session, text: str, problems: _Problems) -> str | None:
    table = _read_csv(text, problems, DEPARTMENT_COLUMNS, optional=("day_hours",))
    if table is None:
        return None
    columns, rows = table
    seen = _Seen()
    checked: list[dict[str, Any]] = []
    for row in rows:
        code = row.text("code", required=True, max_length=32)
        seen.check(row, "code", code)
        values: dict[str, Any] = {
            "code": code,
            "name": row.text("name", required=True, max_length=200),
            "hospital": row.text("hospital", required=True, max_length=200),
            "day_phone": row.phone("day_phone", required=True),
            "oncall_phone": row.phone("oncall_phone"),
            "switchboard_phone": row.phone("switchboard_phone", required=True),
        }
        if "day_hours" in columns:
            values["day_hours"] = _day_hours(row)
        if row.ok:
            checked.append(values)
    if problems:
        return None
    existing = _find(session, Department, "code", (values["code"] for values in checked))
    added = 0
    for values in checked:
        department = existing.get(values["code"])
        if department is None:
            session.add(Department(**values))
            added += 1
        else:
            _assign(department, values)
    session.flush()
    return _summary(len(checked), "department", added)


def _day_hours(row: _Row) -> str | None:
    text = row.text("day_hours", max_length=40)
    if text is None:
        return None
    try:
        return str(DayHours.parse(text))
    except ValueError as exc:
        row.problem("day_hours", str(exc))
        return None


# --- Callers -------------------------------------------------------------------------------


def _import_callers(session: Session, text: str, problems: _Problems) -> str | None:
    table = _read_csv(text, problems, CALLER_COLUMNS)
    if table is None:
        return None
    _, rows = table
    phones, codes = _Seen(), _Seen()
    checked: list[tuple[_Row, dict[str, Any]]] = []
    for row in rows:
        phone = _caller_phone(row)
        phones.check(row, "phone", phone)
        code = row.text("code", max_length=200)
        if code is not None and not CALLER_CODE.fullmatch(code):
            row.problem("code", f"must be 4 to 8 digits, not {code!r}")
        codes.check(row, "code", code)
        if row.raw("phone") is None and code is None:
            row.problem("phone", "give a phone number or a code (or both)")
        values: dict[str, Any] = {
            "phone": phone,
            "code": code,
            "organisation": row.text("organisation", required=True, max_length=200),
            "kind": row.choice("kind", CALLER_KINDS, required=True),
            "language": row.choice("language", LANGUAGES) or "da",
        }
        if row.ok:
            checked.append((row, values))
    matches = _match_callers(session, checked)
    if problems:
        return None
    added = 0
    for (_, values), caller in zip(checked, matches, strict=True):
        if caller is None:
            session.add(Caller(**values))
            added += 1
        else:
            _assign(caller, values)
    session.flush()
    return _summary(len(checked), "caller", added)


def _caller_phone(row: _Row) -> str | None:
    """A caller is known by its caller ID, which is a full number: short numbers are refused."""
    text = row.text("phone", max_length=40)
    if text is None:
        return None
    try:
        return normalise(text, allow_short=False)
    except PhoneError as exc:
        try:
            normalise(text)
        except PhoneError:
            row.problem("phone", str(exc))
        else:
            row.problem("phone", f"a short number cannot identify a caller: {text!r}")
        return None


def _match_callers(session: Session, checked: Sequence[tuple[_Row, dict[str, Any]]]) -> list[Caller | None]:
    """Find each row's registered caller: by phone first, else by code; report conflicts."""
    by_phone = _find(session, Caller, "phone", (values["phone"] for _, values in checked if values["phone"]))
    by_code = _find(session, Caller, "code", (values["code"] for _, values in checked if values["code"]))
    claimed: dict[int, int] = {}
    matches: list[Caller | None] = []
    for row, values in checked:
        phone_match = by_phone.get(values["phone"]) if values["phone"] else None
        code_match = by_code.get(values["code"]) if values["code"] else None
        if phone_match is not None and code_match is not None and phone_match is not code_match:
            row.problem(
                "code",
                f"{values['code']!r} belongs to {code_match.organisation!r}, "
                f"but the phone number belongs to {phone_match.organisation!r}",
            )
        match = phone_match or code_match
        if match is not None:
            if match.id in claimed:
                column = "phone" if phone_match is not None else "code"
                row.problem(column, f"matches the same registered caller as row {claimed[match.id]}")
            claimed.setdefault(match.id, row.number)
        matches.append(match)
    return matches


# --- Rota --------------------------------------------------------------------------------


def _import_rota(session: Session, text: str, problems: _Problems) -> str | None:
    table = _read_csv(text, problems, ROTA_COLUMNS)
    if table is None:
        return None
    _, rows = table
    departments = _find_all_departments(session)
    entries: list[RotaEntry] = []
    for row in rows:
        department = _department(row, departments)
        role = row.choice("role", ROLES, required=True)
        start = row.time("start", required=True)
        end = row.time("end", required=True)
        if start is not None and end is not None and end <= start:
            row.problem("end", "must be after start")
        elif start is not None and end is not None and end - start > LONGEST_SHIFT:
            row.problem("end", f"a shift may last at most {LONGEST_SHIFT.days} days")
        name = row.text("name", max_length=200) or ""
        phone = row.phone("phone", required=True)
        if row.ok and department and role and start and end and phone:
            entries.append(RotaEntry(department, role, start, end, phone, name))
    if problems:
        return None
    change = replace_rota(session, entries)
    return (
        f"{_plural(change.added, 'shift')} for {_plural(change.departments, 'department')}: "
        f"{change.added} added, {change.removed} replaced"
    )


# --- Discharges --------------------------------------------------------------------------


def _import_discharges(
    session: Session, text: str, problems: _Problems, vault: CprVault, today: date
) -> str | None:
    records = _read_json_records(text, problems)
    if records is None:
        return None
    departments = _find_all_departments(session)
    known = DISCHARGE_REQUIRED + DISCHARGE_OPTIONAL
    ids = _Seen()
    checked: list[tuple[str, dict[str, Any]]] = []
    for row in records:
        for key in row.values:
            if key not in known:
                row.problem(key, f"unknown field (expected {', '.join(known)})")
        external_id = row.text("id", required=True, max_length=64)
        ids.check(row, "id", external_id)
        number = _cpr(row, today)
        department = _department(row, departments)
        discharged_at = row.time("discharged_at", required=True)
        admitted_at = row.time("admitted_at")
        until = row.time("responsibility_until")
        if discharged_at is not None and admitted_at is not None and admitted_at > discharged_at:
            row.problem("admitted_at", "must not be after discharged_at")
        if discharged_at is not None and until is not None and until < discharged_at:
            row.problem("responsibility_until", "must not be before discharged_at")
        values: dict[str, Any] = {
            "external_id": external_id,
            "department": department,
            "discharged_at": discharged_at,
            "admitted_at": admitted_at,
            "destination": row.choice("destination", sorted(DESTINATIONS), required=True),
            "municipality": row.text("municipality", max_length=100),
            "gp_phone": row.phone("gp_phone"),
            "responsibility_until": until,
        }
        if row.ok and number:
            checked.append((number, values))
    if problems:
        return None
    existing = _find(session, Discharge, "external_id", (values["external_id"] for _, values in checked))
    added = 0
    for number, values in checked:
        lookup = vault.lookup_key(number)
        discharge = existing.get(values["external_id"])
        if discharge is None:
            session.add(Discharge(cpr_lookup=lookup, cpr_encrypted=vault.encrypt(number), **values))
            added += 1
        else:
            if discharge.cpr_lookup != lookup:
                discharge.cpr_lookup = lookup
                discharge.cpr_encrypted = vault.encrypt(number)
            _assign(discharge, values)
    session.flush()
    return _summary(len(checked), "discharge", added)


def _cpr(row: _Row, today: date) -> str | None:
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


# --- Shared checks -----------------------------------------------------------------------


class _Problems:
    """The error lines of one file, given in row order however they were found."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._found: list[tuple[int, str]] = []

    def __len__(self) -> int:
        return len(self._found)

    def add(self, row: int, column: str, message: str) -> None:
        self._found.append((row, f"{self.name}:{row}: {column}: {message}"))

    def file(self, message: str) -> None:
        """Report a problem with the file as a whole."""
        self._found.append((0, f"{self.name}: {message}"))

    def lines(self) -> list[str]:
        return [line for _, line in sorted(self._found, key=lambda found: found[0])]


class _Row:
    """One row or object of a file, read value by value; each problem becomes an error line."""

    def __init__(self, problems: _Problems, number: int, values: Mapping[str, object]) -> None:
        self.problems = problems
        self.number = number
        self.values = values
        self._before = len(problems)

    @property
    def ok(self) -> bool:
        return len(self.problems) == self._before

    def problem(self, column: str, message: str) -> None:
        self.problems.add(self.number, column, message)

    def raw(self, column: str) -> object:
        """Return the value as given, with an empty or blank one (or JSON null) as None."""
        value = self.values.get(column)
        if isinstance(value, str):
            value = value.strip()
            return value or None
        return value

    def text(self, column: str, *, required: bool = False, max_length: int) -> str | None:
        value = self.raw(column)
        if value is None:
            if required:
                self.problem(column, "required, but missing")
            return None
        if not isinstance(value, str):
            self.problem(column, "must be text (a JSON string)")
            return None
        if len(value) > max_length:
            self.problem(column, f"longer than {max_length} characters")
            return None
        return value

    def choice(self, column: str, choices: Collection[str], *, required: bool = False) -> str | None:
        value = self.text(column, required=required, max_length=40)
        if value is not None and value not in choices:
            self.problem(column, f"must be one of {', '.join(choices)}, not {value!r}")
            return None
        return value

    def phone(self, column: str, *, required: bool = False) -> str | None:
        value = self.text(column, required=required, max_length=40)
        if value is None:
            return None
        try:
            return normalise(value)
        except PhoneError as exc:
            self.problem(column, str(exc))
            return None

    def time(self, column: str, *, required: bool = False) -> datetime | None:
        value = self.text(column, required=required, max_length=64)
        if value is None:
            return None
        try:
            return parse_time(value)
        except TimeError as exc:
            self.problem(column, str(exc))
            return None


class _Seen:
    """Values already given earlier in the file: a repeat is an error on the later row."""

    def __init__(self) -> None:
        self._rows: dict[str, int] = {}

    def check(self, row: _Row, column: str, value: str | None) -> None:
        if value is None:
            return
        if value in self._rows:
            row.problem(column, f"{value!r} is already given on row {self._rows[value]}")
        else:
            self._rows[value] = row.number


def _department(row: _Row, departments: Mapping[str, Department]) -> Department | None:
    code = row.text("department", required=True, max_length=32)
    if code is None:
        return None
    department = departments.get(code)
    if department is None:
        row.problem("department", f"no department with code {code!r} (import departments first)")
    return department


# --- Reading files -----------------------------------------------------------------------


def _read_csv(
    text: str, problems: _Problems, required: Sequence[str], optional: Sequence[str] = ()
) -> tuple[set[str], list[_Row]] | None:
    """Return the header's columns and the data rows, or None when the file cannot be read as a table."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    header_line = 1
    records: list[tuple[int, list[str]]] = []
    last_line = 0
    try:
        for record in reader:
            first_line, last_line = last_line + 1, reader.line_num
            if not any(value.strip() for value in record):
                continue
            if header is None:
                header, header_line = [name.strip() for name in record], first_line
            else:
                records.append((first_line, record))
    except csv.Error as exc:
        problems.add(last_line + 1, "row", f"not valid CSV: {exc}")
        return None
    expected = (*required, *optional)
    if header is None:
        problems.add(1, "header", f"the file is empty; expected a header row: {','.join(expected)}")
        return None
    columns = {name for name in header if name}
    for name in sorted(columns):
        if header.count(name) > 1:
            problems.add(header_line, name, "column given more than once in the header")
        if name not in expected:
            problems.add(header_line, name, f"unknown column (expected {', '.join(expected)})")
    for name in required:
        if name not in columns:
            problems.add(header_line, name, "column missing from the header")
    if problems:
        return None
    rows = []
    for line, record in records:
        if len(record) > len(header):
            problems.add(
                line,
                "row",
                f"{len(record)} values, but {len(header)} columns (a comma in an unquoted value?)",
            )
            continue
        # A short row leaves its last values empty, as a spreadsheet may write it.
        values = {name: value for name, value in zip(header, record, strict=False) if name}
        rows.append(_Row(problems, line, values))
    return columns, rows


def _read_json_records(text: str, problems: _Problems) -> list[_Row] | None:
    """Return the objects of a JSON array or of JSON Lines, or None when the file is not JSON."""
    numbered: list[tuple[int, object]] = []
    if text.lstrip().startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.file(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")
            return None
        numbered = list(enumerate(data, start=1))
    else:
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                numbered.append((number, json.loads(line)))
            except json.JSONDecodeError as exc:
                if not numbered and not problems:
                    problems.file(
                        f"not JSON (neither an array nor one object a line): "
                        f"{exc.msg} (line {number}, column {exc.colno})"
                    )
                    return None
                problems.add(number, "line", f"not valid JSON: {exc.msg} (column {exc.colno})")
    rows = []
    for number, item in numbered:
        if isinstance(item, dict):
            rows.append(_Row(problems, number, item))
        else:
            problems.add(number, "record", "must be a JSON object")
    return rows


# --- Storing -----------------------------------------------------------------------------


def _find(session: Session, model: type[M], column: str, keys: Iterable[str]) -> dict[str, M]:
    """Return the stored `model` rows whose `column` is one of `keys`, by that value."""
    attribute = getattr(model, column)
    wanted = sorted(set(keys))
    found: dict[str, M] = {}
    for start in range(0, len(wanted), _LOOKUP_CHUNK):
        chunk = wanted[start : start + _LOOKUP_CHUNK]
        for row in session.scalars(select(model).where(attribute.in_(chunk))):
            found[getattr(row, column)] = row
    return found


def _find_all_departments(session: Session) -> dict[str, Department]:
    return {department.code: department for department in session.scalars(select(Department))}


def _assign(record: Base, values: Mapping[str, Any]) -> None:
    for key, value in values.items():
        setattr(record, key, value)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _summary(count: int, noun: str, added: int) -> str:
    return f"{_plural(count, noun)}: {added} added, {count - added} updated"
