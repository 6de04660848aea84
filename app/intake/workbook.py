"""Read a table from an Excel workbook (.xlsx): the same header and rows as a CSV file.

A cell is read as the value it holds, never as what a formula would make of it: a
formula is refused (we do not evaluate it, and a cached result may be stale). Text
that merely starts with `=` is text. A cell inside a merged range has the value of
the range's top-left cell, as it looks on screen. Numbers where text is expected
(Excel turns the phone 40101001 into a number) are read as their digits; a number in
a time column is an Excel date serial.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from collections.abc import Collection, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from app.intake.table import Problems, Row, check_header

ZIP_MAGIC = b"PK\x03\x04"
# The Compound File format of Office 97-2003 (.xls): a workbook openpyxl cannot read.
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
SAVE_AS = 'save it in Excel as "Excel Workbook (.xlsx)" or as "CSV UTF-8"'


def read_xlsx(
    data: bytes,
    problems: Problems,
    required: Sequence[str],
    optional: Sequence[str] = (),
    *,
    sheet: str | None = None,
    times: Collection[str] = (),
) -> tuple[set[str], list[Row]] | None:
    """Return a sheet's header columns and data rows (the first sheet unless named), or None with the problem.

    `times` are the columns whose numbers are Excel date serials.
    """
    book = _open(data, problems)
    if book is None:
        return None
    if sheet is None:
        worksheet = book.worksheets[0]
    elif sheet not in book.sheetnames:
        names = ", ".join(repr(name) for name in book.sheetnames)
        problems.file(f"no sheet named {sheet!r}; the sheets are {names}")
        return None
    elif book[sheet] not in book.worksheets:
        problems.file(f"the sheet {sheet!r} is a chart, not a table")
        return None
    else:
        worksheet = book[sheet]
    merged = _merged(worksheet)
    header: list[str] | None = None
    header_line = 1
    rows: list[Row] = []
    for row in worksheet.iter_rows():
        # Each cell as the planner sees it: inside a merged range, the range's top-left cell.
        cells = [(cell.coordinate, merged.get(cell.coordinate, cell)) for cell in row]
        if all(_blank(cell.value) for _, cell in cells):
            continue
        number = row[0].row
        if header is None:
            if _formulas(cells, number, problems):
                return None
            header, header_line = [_header_name(cell.value) for _, cell in cells], number
            if check_header(header, header_line, problems, required, optional) is None:
                return None
            continue
        if _formulas(cells, number, problems, header) or _outside(cells, header, number, problems):
            continue
        values: dict[str, object] = {}
        places: dict[str, str] = {}
        for name, (coordinate, cell) in zip(header, cells, strict=False):
            if name:
                values[name] = _value(cell, name in times, book.epoch)
                places[name] = coordinate
        rows.append(Row(problems, number, values, cells=places))
    if header is None:
        check_header(None, header_line, problems, required, optional)
        return None
    return {name for name in header if name}, rows


def _open(data: bytes, problems: Problems) -> Any:
    """Return the workbook, or None with one line saying why the file is not one."""
    if data.startswith(OLE_MAGIC):
        problems.file(f"an Excel 97-2003 workbook (.xls), which cannot be read: {SAVE_AS}")
        return None
    if not data.startswith(ZIP_MAGIC):
        problems.file(f"not an Excel workbook (.xlsx): not a zip archive (a CSV file renamed?); {SAVE_AS}")
        return None
    # Imported here: openpyxl takes a while to load, and only a workbook needs it.
    import openpyxl

    try:
        # openpyxl warns about parts of a workbook it ignores (data validation, a
        # slicer): nothing a rota needs, and not a reason to refuse the file.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return openpyxl.load_workbook(io.BytesIO(data), data_only=False, keep_links=False)
    except zipfile.BadZipFile as exc:
        problems.file(f"not an Excel workbook (.xlsx): a damaged zip archive ({exc}); {SAVE_AS}")
    # Whatever else a damaged or foreign zip makes the parser raise, the answer for the
    # planner is the same: this is not a workbook we can read.
    except Exception:
        problems.file(f"not an Excel workbook (.xlsx): a zip archive without a readable workbook; {SAVE_AS}")
    return None


def _merged(worksheet: Any) -> dict[str, Any]:
    """Return, for every covered cell of a merged range, the range's top-left cell."""
    covered: dict[str, Any] = {}
    for span in worksheet.merged_cells.ranges:
        top_left = worksheet.cell(span.min_row, span.min_col)
        for row in worksheet.iter_rows(
            min_row=span.min_row, max_row=span.max_row, min_col=span.min_col, max_col=span.max_col
        ):
            for cell in row:
                if cell.coordinate != top_left.coordinate:
                    covered[cell.coordinate] = top_left
    return covered


Cells = Sequence[tuple[str, Any]]


def _formulas(cells: Cells, number: int, problems: Problems, header: Sequence[str] = ()) -> bool:
    """Report each formula (or error value) in a row; return whether there was one."""
    found = False
    for index, (coordinate, cell) in enumerate(cells):
        name = header[index] if index < len(header) else ""
        where = f"{name} ({coordinate})" if name else coordinate
        if cell.data_type == "f":
            problems.add(number, where, "a formula, not a value (copy the cells and paste them as values)")
            found = True
        elif cell.data_type == "e":
            problems.add(number, where, f"an error value ({cell.value}), not a value")
            found = True
    return found


def _outside(cells: Cells, header: Sequence[str], number: int, problems: Problems) -> bool:
    """Report values in columns the header does not name; return whether there were any."""
    found = False
    for index, (coordinate, cell) in enumerate(cells):
        if not _blank(cell.value) and (index >= len(header) or not header[index]):
            problems.add(number, coordinate, "a value in a column without a name in the header")
            found = True
    return found


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _header_name(value: object) -> str:
    return "" if value is None else _text(value).strip()


def _value(cell: Any, is_time: bool, epoch: datetime) -> object:
    """Return a cell's value as the row reads it: text, or a date-time in a time column."""
    value = cell.value
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return _text(value)
    if is_time and isinstance(value, int | float):
        return _serial(value, epoch)
    if is_time and isinstance(value, datetime):
        return value
    if is_time and isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time())
    return _text(value)


def _serial(value: float, epoch: datetime) -> object:
    """Return an Excel date serial (days since the workbook's epoch) as a naive date-time, to the second."""
    from openpyxl.utils.datetime import from_excel

    try:
        moment = from_excel(value, epoch)
    except (OverflowError, ValueError):
        return _text(value)
    if not isinstance(moment, datetime):
        # A serial below 1 is only a time of day: no date to place it on.
        return _text(value)
    # Serials are binary fractions of a day: 16:00 comes back as 15:59:59.994.
    return (moment + timedelta(milliseconds=500)).replace(microsecond=0)


def _text(value: object) -> str:
    """Return a non-text cell as the text it stands for: 40101001.0 as '40101001'."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    return str(value)
