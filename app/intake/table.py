"""Reading import files: rows and objects checked value by value, each problem one line.

An import is all or nothing. Every row is checked first, and each problem is one
line `FILE:ROW: COLUMN: what is wrong` (several lines for a row with several
problems); a problem with the file as a whole (missing, unreadable, not UTF-8, not
JSON) is one line `FILE: what is wrong`. A warning (`FILE:ROW: COLUMN: warning: …`)
is shown but does not stop the import.

ROW points at the place in the file:
- CSV: the physical line the row starts on. The header is line 1, so the first
  data row is line 2; blank lines count, and a quoted value may span lines.
- JSON array: the 1-based position of the object in the array.
- JSON Lines (one object a line; chosen when the file does not start with `[`):
  the line number.

- Excel workbook: the sheet's row number, with the cell in the column part
  (`rota.xlsx:7: phone (F7): …`).
- iCalendar, where there are no rows: a place text naming the event instead
  (`rota.ics: event "Vagt" (UID a1@b) on 2026-12-01 16:00: phone: …`).

Files are UTF-8, with or without a byte order mark. A CSV's values are separated by
commas, or by semicolons as Danish Excel writes them (told by the header line). No
error line ever holds a CPR number. Nothing here touches a database: readers return
records and problems.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from app.values.cpr import redact, shown
from app.values.phones import PhoneError
from app.values.phones import check as check_phone
from app.values.times import TimeError, parse_time

# What a name may not hold: a control character (C0, DEL and C1: a tab, a line break or similar).
CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f-\x9f]")

# What to do about a file that is not UTF-8, by the kind of file.
SAVE_AS_UTF8 = "save it as UTF-8"
SAVE_AS_CSV_UTF8 = 'save it as CSV UTF-8 (in Excel: Save As, file type "CSV UTF-8")'


def decode(data: bytes, problems: Problems, *, advice: str = SAVE_AS_UTF8) -> str | None:
    """Return a file's bytes as text (UTF-8, a BOM allowed), or None with the problem noted."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        byte = data[exc.start]
        line = data.count(b"\n", 0, exc.start) + 1
        # Danish spreadsheets save as Windows-1252 unless told otherwise: naming the letter
        # ('ø' for 0xf8) tells the planner at once which setting went wrong.
        letter = bytes([byte]).decode("cp1252", errors="replace")
        guess = f"; {letter!r} in Windows-1252" if letter.isprintable() and letter != "\ufffd" else ""
        where = f"byte {byte:#04x} at offset {exc.start}, line {line}{guess}"
        problems.file(f"not UTF-8 text ({where}): {advice}")
        return None


class Problems:
    """The error and warning lines of one file, given in row order however they were found.

    A problem is placed by a row number (`FILE:ROW: …`) or, where a file has no rows,
    by a place text (`FILE: PLACE: …`); the row number then only orders the lines. A
    problem given with a `group` that repeats an earlier one of the same group, column
    and message (the same mistake in every occurrence of a recurring event) is counted
    on the first line instead of given again.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._found: list[_Line] = []
        self._warnings: list[_Line] = []
        self._grouped: dict[tuple[bool, str, str, str], _Line] = {}
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(
        self, row: int, column: str, message: str, *, place: str | None = None, group: str | None = None
    ) -> None:
        # A CPR number pasted into the wrong column is still a CPR number: never echoed.
        self._count += 1
        self._note(self._found, row, column, message, place, group, warning=False)

    def file(self, message: str) -> None:
        """Report a problem with the file as a whole."""
        self._count += 1
        self._found.append(_Line(0, f"{self.name}: {redact(message)}"))

    def warn(
        self, row: int, column: str, message: str, *, place: str | None = None, group: str | None = None
    ) -> None:
        """Note something to check that does not stop the import."""
        self._note(self._warnings, row, column, f"warning: {message}", place, group, warning=True)

    def _note(
        self,
        lines: list[_Line],
        row: int,
        column: str,
        message: str,
        place: str | None,
        group: str | None,
        *,
        warning: bool,
    ) -> None:
        if group is not None:
            earlier = self._grouped.get((warning, group, column, message))
            if earlier is not None:
                earlier.repeats += 1
                return
        if place is None:
            where = f"{self.name}:{row}"
        else:
            where = f"{self.name}: {redact(place)}" if place else self.name
        line = _Line(row, f"{where}: {redact(column)}: {redact(message)}")
        if group is not None:
            self._grouped[(warning, group, column, message)] = line
        lines.append(line)

    def lines(self) -> list[str]:
        return [line.text() for line in sorted(self._found, key=lambda found: found.order)]

    def warnings(self) -> list[str]:
        return [line.text() for line in sorted(self._warnings, key=lambda found: found.order)]


class _Line:
    """One line of a problem, and how many times the same problem came again in its group."""

    def __init__(self, order: int, line: str) -> None:
        self.order = order
        self.line = line
        self.repeats = 0

    def text(self) -> str:
        if not self.repeats:
            return self.line
        return f"{self.line} (and {plural(self.repeats, 'more occurrence')})"


class Row:
    """One row or object of a file, read value by value; each problem becomes an error line."""

    def __init__(
        self,
        problems: Problems,
        number: int,
        values: Mapping[str, object],
        *,
        place: str | None = None,
        group: str | None = None,
        cells: Mapping[str, str] | None = None,
    ) -> None:
        """Hold one row; `place` names it where there is no row number, `cells` gives a column's cell."""
        self.problems = problems
        self.number = number
        self.values = values
        self.place = place
        self.group = group
        self.cells = cells or {}
        self._problems = 0

    @property
    def ok(self) -> bool:
        """Say whether no problem was found in this row (whatever other rows have)."""
        return not self._problems

    def _column(self, column: str) -> str:
        cell = self.cells.get(column)
        return f"{column} ({cell})" if cell else column

    def problem(self, column: str, message: str) -> None:
        self._problems += 1
        self.problems.add(self.number, self._column(column), message, place=self.place, group=self.group)

    def warn(self, column: str, message: str) -> None:
        self.problems.warn(self.number, self._column(column), message, place=self.place, group=self.group)

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

    def name(self, column: str, *, required: bool = False, max_length: int = 200) -> str | None:
        """Return a name or organisation; control characters (a tab, a vertical tab) are refused."""
        value = self.text(column, required=required, max_length=max_length)
        if value is not None and CONTROL_CHARACTER.search(value):
            self.problem(column, "contains a control character (a tab, line break or similar)")
            return None
        return value

    def choice(self, column: str, choices: Collection[str], *, required: bool = False) -> str | None:
        value = self.text(column, required=required, max_length=40)
        if value is not None and value not in choices:
            self.problem(column, f"must be one of {', '.join(choices)}, not {shown(value)}")
            return None
        return value

    def phone(self, column: str, *, required: bool = False) -> str | None:
        value = self.text(column, required=required, max_length=40)
        if value is None:
            return None
        try:
            phone = check_phone(value)
        except PhoneError as exc:
            self.problem(column, str(exc))
            return None
        if phone.warning:
            self.warn(column, phone.warning)
        return phone.number

    def time(self, column: str, *, required: bool = False) -> datetime | None:
        """Return an aware time from ISO 8601 text, or from a spreadsheet's or calendar's date-time."""
        given = self.raw(column)
        if isinstance(given, datetime):
            # A naive date-time is Copenhagen wall-clock time: the one parser decides
            # it, with the same refusals at the daylight-saving changes as for text.
            exact = given.second or given.microsecond
            value: str | None = given.isoformat(sep=" ", timespec="auto" if exact else "minutes")
        else:
            value = self.text(column, required=required, max_length=64)
        if value is None:
            return None
        try:
            return parse_time(value)
        except TimeError as exc:
            self.problem(column, str(exc))
            return None


class Seen:
    """Values already given earlier in the file: a repeat is an error on the later row."""

    def __init__(self) -> None:
        self._rows: dict[str, int] = {}

    def check(self, row: Row, column: str, value: str | None) -> None:
        if value is None:
            return
        if value in self._rows:
            row.problem(column, f"{shown(value)} is already given on row {self._rows[value]}")
        else:
            self._rows[value] = row.number


def read_csv(
    text: str, problems: Problems, required: Sequence[str], optional: Sequence[str] = ()
) -> tuple[set[str], list[Row]] | None:
    """Return the header's columns and the data rows, or None when the file cannot be read as a table."""
    delimiter = _delimiter(text, problems)
    if delimiter is None:
        return None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
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
    columns = check_header(header, header_line, problems, required, optional)
    if header is None or columns is None:
        return None
    rows = []
    for line, record in records:
        if len(record) > len(header):
            problems.add(
                line,
                "row",
                f"{len(record)} values, but {len(header)} columns "
                f"(a {SEPARATORS[delimiter]} in an unquoted value?)",
            )
            continue
        # A short row leaves its last values empty, as a spreadsheet may write it.
        values = {name: value for name, value in zip(header, record, strict=False) if name}
        rows.append(Row(problems, line, values))
    return columns, rows


SEPARATORS = {",": "comma", ";": "semicolon"}


def _delimiter(text: str, problems: Problems) -> str | None:
    """Return the separator the header line uses: a comma, or a semicolon as Danish Excel writes."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    # Read only outside quotes, so that a quoted column name cannot decide it.
    unquoted = first.split('"')[::2]
    commas = sum(part.count(",") for part in unquoted)
    semicolons = sum(part.count(";") for part in unquoted)
    if commas and semicolons:
        number = text.splitlines().index(first) + 1
        problems.add(
            number, "header", "separated by both commas and semicolons: use one separator throughout"
        )
        return None
    return ";" if semicolons else ","


def check_header(
    header: Sequence[str] | None,
    line: int,
    problems: Problems,
    required: Sequence[str],
    optional: Sequence[str] = (),
) -> set[str] | None:
    """Return the header's column names, or None when a column is unknown, repeated or missing."""
    expected = (*required, *optional)
    if header is None:
        problems.add(1, "header", f"the file is empty; expected a header row: {','.join(expected)}")
        return None
    before = len(problems)
    columns = {name for name in header if name}
    for name in sorted(columns):
        if list(header).count(name) > 1:
            problems.add(line, name, "column given more than once in the header")
        if name not in expected:
            problems.add(line, name, f"unknown column (expected {', '.join(expected)})")
    for name in required:
        if name not in columns:
            problems.add(line, name, "column missing from the header")
    return columns if len(problems) == before else None


def read_json_records(text: str, problems: Problems) -> list[Row] | None:
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
            rows.append(Row(problems, number, item))
        else:
            problems.add(number, "record", "must be a JSON object")
    return rows


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
