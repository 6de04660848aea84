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

Files are UTF-8, with or without a byte order mark. No error line ever holds a
CPR number. Nothing here touches a database: readers return records and problems.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from app.values.cpr import redact, shown
from app.values.phones import PhoneError
from app.values.phones import check as check_phone
from app.values.times import TimeError, parse_time


def decode(data: bytes, problems: Problems) -> str | None:
    """Return a file's bytes as text (UTF-8, a BOM allowed), or None with the problem noted."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.file(f"not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start})")
        return None


class Problems:
    """The error and warning lines of one file, given in row order however they were found."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._found: list[tuple[int, str]] = []
        self._warnings: list[tuple[int, str]] = []

    def __len__(self) -> int:
        return len(self._found)

    def add(self, row: int, column: str, message: str) -> None:
        # A CPR number pasted into the wrong column is still a CPR number: never echoed.
        self._found.append((row, f"{self.name}:{row}: {redact(column)}: {redact(message)}"))

    def file(self, message: str) -> None:
        """Report a problem with the file as a whole."""
        self._found.append((0, f"{self.name}: {message}"))

    def warn(self, row: int, column: str, message: str) -> None:
        """Note something to check that does not stop the import."""
        self._warnings.append((row, f"{self.name}:{row}: {redact(column)}: warning: {redact(message)}"))

    def lines(self) -> list[str]:
        return [line for _, line in sorted(self._found, key=lambda found: found[0])]

    def warnings(self) -> list[str]:
        return [line for _, line in sorted(self._warnings, key=lambda found: found[0])]


class Row:
    """One row or object of a file, read value by value; each problem becomes an error line."""

    def __init__(self, problems: Problems, number: int, values: Mapping[str, object]) -> None:
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

    def name(self, column: str, *, required: bool = False, max_length: int = 200) -> str | None:
        """Return a name or organisation; control characters (a tab, a vertical tab) are refused."""
        value = self.text(column, required=required, max_length=max_length)
        if value is not None and any(ord(char) < 32 or 127 <= ord(char) < 160 for char in value):
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
            self.problems.warn(self.number, column, phone.warning)
        return phone.number

    def time(self, column: str, *, required: bool = False) -> datetime | None:
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
        rows.append(Row(problems, line, values))
    return columns, rows


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
