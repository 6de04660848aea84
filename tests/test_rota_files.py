"""Rota files as planners make them: CSV from Danish Excel, workbooks (.xlsx) and calendars (.ics)."""

from __future__ import annotations

import io
import sys
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.cli.data import ProgressBar
from app.data.models import Shift
from app.intake.rota import ShiftRecord, read_rota_file
from app.intake.table import Problems
from app.values.times import local_minute, parse_time
from tests.support import EXAMPLES, versionless

NOW = parse_time("2026-11-23T10:00:00+01:00")
DEPARTMENTS = {"RH-KARD", "BFH-GER"}
HEADER = ["department", "role", "start", "end", "name", "phone"]
SAVE_AS = 'save it in Excel as "Excel Workbook (.xlsx)" or as "CSV UTF-8"'


def read(data: bytes, name: str, **options: str) -> tuple[list[tuple[str, ...]], list[str], list[str]]:
    """Read a rota file; return its shifts as a planner would write them, its errors and its warnings."""
    problems = Problems(name)
    records = read_rota_file(data, name, problems, DEPARTMENTS, NOW, **options)  # type: ignore[arg-type]
    return [shown(record) for record in records], problems.lines(), problems.warnings()


def shown(record: ShiftRecord) -> tuple[str, ...]:
    return (
        record.department,
        record.role,
        local_minute(record.start),
        local_minute(record.end),
        record.name,
        record.phone,
    )


# --- CSV as Excel saves it ---------------------------------------------------------------------

ANNA = ("RH-KARD", "day", "2026-11-23 08:00", "2026-11-23 15:00", "Søren Holm", "+4540101001")


@pytest.mark.parametrize(
    ("content", "shifts"),
    [
        pytest.param(
            "department,role,start,end,name,phone\nRH-KARD,day,2026-11-23 08:00,2026-11-23 15:00,"
            "Søren Holm,40101001\n".encode(),
            [ANNA],
            id="utf-8",
        ),
        pytest.param(
            "department,role,start,end,name,phone\nRH-KARD,day,2026-11-23 08:00,2026-11-23 15:00,"
            "Søren Holm,40101001\n".encode("utf-8-sig"),
            [ANNA],
            id="byte order mark",
        ),
        pytest.param(
            "department;role;start;end;name;phone\r\nRH-KARD;day;2026-11-23 08:00;2026-11-23 15:00;"
            "Søren Holm;40 10 10 01\r\n".encode("utf-8-sig"),
            [ANNA],
            id="semicolons, as Danish Excel writes CSV UTF-8",
        ),
        pytest.param(
            "department;role;start;end;name;phone\nRH-KARD;day;2026-11-23 08:00;2026-11-23 15:00;"
            '"Holm, Søren";40101001\n'.encode(),
            [(*ANNA[:4], "Holm, Søren", ANNA[5])],
            id="semicolons, a comma inside a value",
        ),
    ],
)
def test_a_csv_is_read_with_commas_or_semicolons_and_with_or_without_a_bom(
    content: bytes, shifts: list[tuple[str, ...]]
) -> None:
    assert read(content, "rota.csv") == (shifts, [], [])


@pytest.mark.parametrize(
    ("content", "errors"),
    [
        pytest.param(
            "department,role,start,end,name,phone\nRH-KARD,day,2026-11-23 08:00,2026-11-23 15:00,"
            "Søren Holm,40101001\n".encode("cp1252"),
            [
                "rota.csv: not UTF-8 text (byte 0xf8 at offset 84, line 2; 'ø' in Windows-1252): "
                'save it as CSV UTF-8 (in Excel: Save As, file type "CSV UTF-8")'
            ],
            id="Windows-1252",
        ),
        pytest.param(
            b"department;role;start;end,name,phone\nRH-KARD;day;2026-11-23 08:00;2026-11-23 15:00;;40\n",
            ["rota.csv:1: header: separated by both commas and semicolons: use one separator throughout"],
            id="a header with both separators",
        ),
        pytest.param(
            b"department;role;start;end;name;phone\nRH-KARD;day;2026-11-23 08:00;2026-11-23 15:00;A;B;4\n",
            ["rota.csv:2: row: 7 values, but 6 columns (a semicolon in an unquoted value?)"],
            id="a semicolon inside an unquoted value",
        ),
        pytest.param(
            b"PK\x03\x04rest of a workbook",
            ["rota.csv: not a CSV file but a zip archive (an Excel workbook?): name it .xlsx"],
            id="a workbook named .csv",
        ),
    ],
)
def test_a_csv_that_cannot_be_read_is_refused_saying_what_to_do(content: bytes, errors: list[str]) -> None:
    assert read(content, "rota.csv") == ([], errors, [])


# --- Excel workbooks -------------------------------------------------------------------------------


class Text(str):
    """A cell value stored as text even when it starts with '=' (openpyxl would make it a formula)."""


def workbook(*sheets: tuple[str, list[list[object]]], merged: tuple[str, ...] = ()) -> bytes:
    """Return an .xlsx file with these sheets of rows (the first sheet's cells `merged`)."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets:
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
            for column, value in enumerate(row, start=1):
                if isinstance(value, Text):
                    sheet.cell(sheet.max_row, column).data_type = "s"
    for span in merged:
        book.worksheets[0].merge_cells(span)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def rows(*rows: list[object]) -> bytes:
    return workbook(("Vagtplan", [HEADER, *rows]))


BO = ("RH-KARD", "oncall", "2026-11-23 15:00", "2026-11-24 08:00", "Bo Jensen", "+4540101002")


@pytest.mark.parametrize(
    ("start", "end", "phone"),
    [
        pytest.param(datetime(2026, 11, 23, 15), datetime(2026, 11, 24, 8), "40101002", id="date cells"),
        pytest.param("2026-11-23 15:00", "2026-11-24T08:00+01:00", "+45 40 10 10 02", id="text"),
        pytest.param(46349.625, 46350.333333333336, 40101002, id="serial numbers, phone as a number"),
        pytest.param(datetime(2026, 11, 23, 15), "2026-11-24 08:00", 40101002.0, id="phone as a float"),
    ],
)
def test_a_workbook_row_is_read_like_a_csv_row_whatever_excel_made_of_dates_and_phones(
    start: object, end: object, phone: object
) -> None:
    assert read(rows(["RH-KARD", "oncall", start, end, "Bo Jensen", phone]), "rota.xlsx") == ([BO], [], [])


def test_a_formula_lookalike_name_is_stored_as_the_text_it_is() -> None:
    name = "=cmd|' /C calc'!A0"
    data = rows(["RH-KARD", "oncall", "2026-11-23 15:00", "2026-11-24 08:00", Text(name), "40101002"])

    assert read(data, "rota.xlsx") == ([(*BO[:4], name, BO[5])], [], [])


def test_merged_cells_give_every_row_they_cover_the_top_left_value() -> None:
    data = workbook(
        (
            "Vagtplan",
            [
                HEADER,
                ["RH-KARD", "oncall", "2026-11-23 15:00", "2026-11-24 08:00", "Bo Jensen", "40101002"],
                [None, None, "2026-11-24 15:00", "2026-11-25 08:00", "Anna Holm", "40101001"],
                [None, "day", "2026-11-25 08:00", "2026-11-25 15:00", "Anna Holm", "40101001"],
            ],
        ),
        merged=("A2:A4", "B2:B3"),
    )

    assert read(data, "rota.xlsx")[0] == [
        BO,
        ("RH-KARD", "oncall", "2026-11-24 15:00", "2026-11-25 08:00", "Anna Holm", "+4540101001"),
        ("RH-KARD", "day", "2026-11-25 08:00", "2026-11-25 15:00", "Anna Holm", "+4540101001"),
    ]


@pytest.mark.parametrize(
    ("row", "errors"),
    [
        pytest.param(
            ["RH-KARD", "oncall", "2026-11-23 15:00", "=C2+TIME(17,0,0)", "Bo Jensen", "=F1"],
            [
                "rota.xlsx:2: end (D2): a formula, not a value (copy the cells and paste them as values)",
                "rota.xlsx:2: phone (F2): a formula, not a value (copy the cells and paste them as values)",
            ],
            id="formulas",
        ),
        pytest.param(
            ["RH-KARD", "oncall", datetime(2026, 10, 25, 2, 30), "2026-10-25 08:00", "Bo Jensen", "40101002"],
            [
                "rota.xlsx:2: start (C2): 2026-10-25 02:30 happens twice in Copenhagen "
                "(daylight saving ends): give an offset"
            ],
            id="a date cell in the hour that happens twice",
        ),
        pytest.param(
            ["RH-KARD", "oncall", "2026-11-23 15:00", "2026-11-24 08:00", "Bo Jensen", "40101002", "husk"],
            ["rota.xlsx:2: G2: a value in a column without a name in the header"],
            id="a note beside the table",
        ),
        pytest.param(
            ["RH-KAR", "nat", "2026-11-23 15:00", "2026-11-23 14:00", "Bo\tJensen", 123],
            [
                "rota.xlsx:2: department (A2): no department with code 'RH-KAR' (import departments first)",
                "rota.xlsx:2: role (B2): must be one of day, oncall, backup, nurse, not 'nat'",
                "rota.xlsx:2: end (D2): must be after start",
                "rota.xlsx:2: name (E2): contains a control character (a tab, line break or similar)",
                "rota.xlsx:2: phone (F2): not a phone number that can be dialled (wrong length): '123'",
            ],
            id="the checks of a CSV row, with the cell",
        ),
    ],
)
def test_a_bad_workbook_row_is_refused_naming_the_sheet_row_and_cell(
    row: list[object], errors: list[str]
) -> None:
    assert read(rows(row), "rota.xlsx")[1] == errors


NOTES = ("Noter", [["Husk at tjekke telefonnumre"]])
WEEK = (
    "Uge 48",
    [HEADER, ["RH-KARD", "oncall", "2026-11-23 15:00", "2026-11-24 08:00", "Bo Jensen", 40101002]],
)


def test_a_sheet_is_chosen_by_name() -> None:
    data = workbook(NOTES, WEEK)

    assert read(data, "rota.xlsx", sheet="Uge 48") == ([BO], [], [])
    assert read(data, "rota.xlsx")[1][0].startswith(
        "rota.xlsx:1: Husk at tjekke telefonnumre: unknown column"
    )
    assert read(data, "rota.xlsx", sheet="Uge 49") == (
        [],
        ["rota.xlsx: no sheet named 'Uge 49'; the sheets are 'Noter', 'Uge 48'"],
        [],
    )


def zip_of(name: str, content: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(name, content)
    return out.getvalue()


@pytest.mark.parametrize(
    ("content", "error"),
    [
        pytest.param(
            b"department,role,start,end,name,phone\n",
            f"not an Excel workbook (.xlsx): not a zip archive (a CSV file renamed?); {SAVE_AS}",
            id="a CSV renamed",
        ),
        pytest.param(
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504),
            f"an Excel 97-2003 workbook (.xls), which cannot be read: {SAVE_AS}",
            id="an old .xls",
        ),
        pytest.param(
            rows()[:300],
            f"not an Excel workbook (.xlsx): a damaged zip archive (File is not a zip file); {SAVE_AS}",
            id="a cut-off workbook",
        ),
        pytest.param(
            zip_of("notes.txt", b"hello"),
            f"not an Excel workbook (.xlsx): a zip archive without a readable workbook; {SAVE_AS}",
            id="another zip",
        ),
    ],
)
def test_a_file_that_is_not_a_workbook_is_one_line_saying_how_to_save_it(content: bytes, error: str) -> None:
    assert read(content, "rota.xlsx") == ([], [f"rota.xlsx: {error}"], [])


# --- iCalendar -----------------------------------------------------------------------------------

COPENHAGEN_ZONE = """BEGIN:VTIMEZONE
TZID:Europe/Copenhagen
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
"""


def calendar(*events: str, zone: str = COPENHAGEN_ZONE) -> bytes:
    """Return an .ics file of these VEVENT bodies (CRLF line ends, as the standard has them)."""
    body = "".join(f"BEGIN:VEVENT\n{event.strip()}\nEND:VEVENT\n" for event in events)
    text = f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Linje 72 tests//DA\n{zone}{body}END:VCALENDAR\n"
    return text.replace("\n", "\r\n").encode()


def ics(*events: str, **options: str) -> tuple[list[tuple[str, ...]], list[str], list[str]]:
    return read(calendar(*events), "rota.ics", **{"department": "RH-KARD", "role": "oncall", **options})


def night(day: str, name: str = "Bo Jensen", phone: str = "+4540101002") -> tuple[str, ...]:
    """Return the 16:00-08:00 on-call shift from `day` (YYYY-MM-DD) to the next morning."""
    next_day = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
    return ("RH-KARD", "oncall", f"{day} 16:00", f"{next_day} 08:00", name, phone)


WEEKLY = """UID:nat-bo@rh.example
SUMMARY:Bagvagt
ATTENDEE;CN=Bo Jensen:tel:+4540101002
RRULE:FREQ=WEEKLY;COUNT=3
"""


@pytest.mark.parametrize(
    "times",
    [
        pytest.param(
            "DTSTART;TZID=Europe/Copenhagen:20261017T160000\nDTEND;TZID=Europe/Copenhagen:20261018T080000",
            id="TZID with VTIMEZONE",
        ),
        pytest.param("DTSTART:20261017T160000\nDTEND:20261018T080000", id="floating: Copenhagen time"),
        pytest.param("DTSTART;TZID=Europe/Copenhagen:20261017T160000\nDURATION:PT16H", id="DURATION"),
    ],
)
def test_a_weekly_night_keeps_its_local_hours_across_the_october_change(times: str) -> None:
    shifts, errors, warnings = ics(WEEKLY + times)

    assert (errors, warnings) == ([], [])
    assert shifts == [night("2026-10-17"), night("2026-10-24"), night("2026-10-31")]


def test_the_october_night_is_an_hour_longer_in_elapsed_time() -> None:
    problems = Problems("rota.ics")
    data = calendar(WEEKLY + "DTSTART:20261017T160000\nDTEND:20261018T080000")
    records = read_rota_file(
        data, "rota.ics", problems, DEPARTMENTS, NOW, department="RH-KARD", role="oncall"
    )

    assert [(record.end - record.start).total_seconds() / 3600 for record in records] == [16, 17, 16]
    assert [record.start.isoformat() for record in records] == [
        "2026-10-17T14:00:00+00:00",
        "2026-10-24T14:00:00+00:00",
        "2026-10-31T15:00:00+00:00",
    ]
    assert [record.place for record in records] == [
        'event "Bagvagt" (UID nat-bo@rh.example) on 2026-10-17 16:00',
        'event "Bagvagt" (UID nat-bo@rh.example) on 2026-10-24 16:00',
        'event "Bagvagt" (UID nat-bo@rh.example) on 2026-10-31 16:00',
    ]


def test_an_excluded_date_is_left_out_and_a_moved_occurrence_is_read_where_it_went() -> None:
    series = """UID:nat@rh.example
SUMMARY:Bagvagt
ATTENDEE;CN=Bo Jensen:tel:+4540101002
DTSTART;TZID=Europe/Copenhagen:20261201T160000
DTEND;TZID=Europe/Copenhagen:20261202T080000
RRULE:FREQ=DAILY;COUNT=4
EXDATE;TZID=Europe/Copenhagen:20261202T160000
"""
    moved = """UID:nat@rh.example
RECURRENCE-ID;TZID=Europe/Copenhagen:20261203T160000
SUMMARY:Bagvagt
ATTENDEE;CN=Anna Holm:tel:+4540101001
DTSTART;TZID=Europe/Copenhagen:20261203T180000
DTEND;TZID=Europe/Copenhagen:20261204T080000
"""
    extra = """UID:ekstra@rh.example
SUMMARY:Bagvagt
ATTENDEE;CN=Bo Jensen:tel:+4540101002
DTSTART;TZID=Europe/Copenhagen:20261210T160000
DTEND;TZID=Europe/Copenhagen:20261211T080000
"""

    assert ics(series, moved, extra) == (
        [
            night("2026-12-01"),
            ("RH-KARD", "oncall", "2026-12-03 18:00", "2026-12-04 08:00", "Anna Holm", "+4540101001"),
            night("2026-12-04"),
            night("2026-12-10"),
        ],
        [],
        [],
    )


ON_DEC_1 = "DTSTART:20261201T160000\nDTEND:20261202T080000\n"


@pytest.mark.parametrize(
    ("person", "name", "phone"),
    [
        pytest.param(
            "SUMMARY:Bagvagt\nATTENDEE;CN=Bo Jensen:tel:+45-40-10-10-02", "Bo Jensen", "+4540101002"
        ),
        pytest.param(
            "SUMMARY:Bo Jensen\nLOCATION:Ring 40 10 10 02", "Bo Jensen", "+4540101002", id="location"
        ),
        pytest.param(
            "SUMMARY:Bo Jensen\nLOCATION:Rigshospitalet\nDESCRIPTION:Bagvagt\\, mobil +45 40101002",
            "Bo Jensen",
            "+4540101002",
            id="description",
        ),
        pytest.param(
            "SUMMARY:Bagvagt\nATTENDEE;CN=Anna Holm:mailto:anna@rh.example\nLOCATION:40101001",
            "Anna Holm",
            "+4540101001",
            id="a mail attendee names the person; the number from LOCATION",
        ),
        pytest.param(
            "SUMMARY:Bagvagt\nATTENDEE;CN=Bo Jensen:tel:+4540101002\nLOCATION:40101001",
            "Bo Jensen",
            "+4540101002",
            id="tel: before LOCATION",
        ),
    ],
)
def test_the_person_and_number_come_from_the_attendee_else_summary_and_text(
    person: str, name: str, phone: str
) -> None:
    shifts, errors, _ = ics(f"UID:a@rh.example\n{ON_DEC_1}{person}")

    assert errors == []
    assert shifts == [night("2026-12-01", name, phone)]


@pytest.mark.parametrize(
    ("events", "errors"),
    [
        pytest.param(
            [f"UID:a@rh.example\nSUMMARY:Bo Jensen\nLOCATION:Rigshospitalet\n{ON_DEC_1}"],
            [
                'rota.ics: event "Bo Jensen" (UID a@rh.example) on 2026-12-01 16:00: phone: no phone number: '
                "give an ATTENDEE with a tel: URI, or a number in LOCATION"
            ],
            id="no phone",
        ),
        pytest.param(
            [f"UID:a@rh.example\nSUMMARY:Bo Jensen\n{ON_DEC_1}RRULE:FREQ=WEEKLY;COUNT=3"],
            [
                'rota.ics: event "Bo Jensen" (UID a@rh.example) on 2026-12-01 16:00: phone: no phone number: '
                "give an ATTENDEE with a tel: URI, or a number in LOCATION (and 2 more occurrences)"
            ],
            id="no phone in a series: one line",
        ),
        pytest.param(
            ["UID:jul@rh.example\nSUMMARY:Jul\nDTSTART;VALUE=DATE:20261224\nDTEND;VALUE=DATE:20261225"],
            [
                'rota.ics: event "Jul" (UID jul@rh.example) on 2026-12-24: start: '
                "an all-day event, not a shift: give it a start and an end time"
            ],
            id="all-day",
        ),
        pytest.param(
            [
                "UID:b@rh.example\nSUMMARY:Bo\tJensen\nLOCATION:40101002\n"
                "DTSTART:20261201T160000\nDTEND:20261209T160000"
            ],
            [
                'rota.ics: event "Bo Jensen" (UID b@rh.example) on 2026-12-01 16:00: end: '
                "a shift may last at most 7 days",
                'rota.ics: event "Bo Jensen" (UID b@rh.example) on 2026-12-01 16:00: name: '
                "contains a control character (a tab, line break or similar)",
            ],
            id="the checks of a CSV row",
        ),
        pytest.param(
            [
                "UID:c@rh.example\nSUMMARY:Bo Jensen\nLOCATION:40101002\n"
                "DTSTART:20270328T023000\nDURATION:PT8H"
            ],
            [
                'rota.ics: event "Bo Jensen" (UID c@rh.example) on 2027-03-28 02:30: start: '
                "2027-03-28 02:30 does not exist in Copenhagen (daylight saving starts): give an offset"
            ],
            id="a floating time that does not exist",
        ),
        pytest.param(
            [f"UID:d@rh.example\nSUMMARY:Bagvagt\n{ON_DEC_1}ATTENDEE:tel:40101001\nATTENDEE:tel:40101002"],
            [
                'rota.ics: event "Bagvagt" (UID d@rh.example) on 2026-12-01 16:00: phone: '
                "several attendees with a tel: number; a shift is one person's"
            ],
            id="two people",
        ),
    ],
)
def test_a_bad_event_is_refused_naming_the_event_and_occurrence(events: list[str], errors: list[str]) -> None:
    assert ics(*events)[1] == errors


def test_a_series_without_end_is_read_a_year_ahead_with_a_warning() -> None:
    shifts, errors, warnings = ics(
        f"UID:a@rh.example\nSUMMARY:Bagvagt\nLOCATION:40101002\n{ON_DEC_1}RRULE:FREQ=WEEKLY"
    )

    assert errors == []
    assert warnings == [
        'rota.ics: event "Bagvagt" (UID a@rh.example) from 2026-12-01 16:00: RRULE: warning: repeats without '
        "end (no COUNT or UNTIL): read up to 2027-11-24 10:00; import the calendar again before then"
    ]
    assert (len(shifts), shifts[0], shifts[-1]) == (
        52,
        night("2026-12-01", "Bagvagt"),
        night("2027-11-23", "Bagvagt"),
    )


@pytest.mark.parametrize(
    ("name", "options", "error"),
    [
        (
            "rota.ics",
            {"role": "oncall"},
            "rota.ics: a calendar does not say which department and role its events are: "
            "give both with the file (--department CODE --role ROLE)",
        ),
        (
            "rota.ics",
            {"department": "RH-KAR", "role": "oncall"},
            "rota.ics: department: no department with code 'RH-KAR' (import departments first)",
        ),
        (
            "rota.csv",
            {"department": "RH-KARD", "role": "oncall"},
            "rota.csv: a department and role are only given with an iCalendar file; a CSV file names them "
            "on each row",
        ),
        (
            "rota.ics",
            {"sheet": "Uge 48"},
            "rota.ics: a sheet is only chosen in an Excel workbook, and this is an iCalendar file",
        ),
        ("rota.ics", {"department": "RH-KARD", "role": "oncall"}, None),
    ],
)
def test_a_calendar_needs_a_department_and_role_and_only_a_calendar_takes_them(
    name: str, options: dict[str, str], error: str | None
) -> None:
    data = calendar(f"UID:a@rh.example\nSUMMARY:Bo Jensen\nLOCATION:40101002\n{ON_DEC_1}")
    if name.endswith(".csv"):
        data = (EXAMPLES / "rota.csv").read_bytes()

    assert read(data, name, **options)[1] == ([error] if error else [])


@pytest.mark.parametrize(
    ("data", "shifts"),
    [
        pytest.param(
            calendar(f"UID:a@rh.example\nSUMMARY:Bo Jensen\nLOCATION:40101002\n{ON_DEC_1}"),
            [night("2026-12-01")],
            id="a calendar",
        ),
        pytest.param(
            rows(["RH-KARD", "oncall", "2026-12-01 16:00", "2026-12-02 08:00", "Bo Jensen", 40101002]),
            [night("2026-12-01")],
            id="a workbook",
        ),
    ],
)
def test_a_file_without_a_known_extension_is_told_by_its_content(
    data: bytes, shifts: list[tuple[str, ...]]
) -> None:
    options = {"department": "RH-KARD", "role": "oncall"} if data.startswith(b"BEGIN") else {}

    assert read(data, "upload", **options) == (shifts, [], [])


def test_the_reader_reports_its_progress_row_by_row() -> None:
    seen: list[tuple[int, int]] = []
    problems = Problems("rota.csv")

    data = (EXAMPLES / "rota.csv").read_bytes()

    read_rota_file(data, "rota.csv", problems, DEPARTMENTS, NOW, progress=lambda *done: seen.append(done))

    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("stream", "total", "shown"),
    [(Terminal, 2001, True), (Terminal, 2000, False), (io.StringIO, 50_000, False)],
)
def test_a_progress_bar_is_shown_only_for_a_large_file_at_a_terminal(
    monkeypatch: pytest.MonkeyPatch, stream: type[io.StringIO], total: int, shown: bool
) -> None:
    err = stream()
    monkeypatch.setattr(sys, "stderr", err)
    with ProgressBar("Checking rota.xlsx") as progress:
        for done in range(1, total + 1, 500):
            progress(done, total)
        progress(total, total)

    assert ("Checking rota.xlsx" in err.getvalue()) is shown
    assert ("100%" in err.getvalue()) is shown


# --- End to end through the command line ------------------------------------------------------


@pytest.fixture
def departments(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["import", "departments", str(EXAMPLES / "departments.csv")])
    assert result.exit_code == 0, result.output


def stored(session: Session) -> list[tuple[str, ...]]:
    session.rollback()  # see what the command committed
    shifts = session.scalars(select(Shift).order_by(Shift.start_at, Shift.role)).all()
    return [
        (s.department.code, s.role, local_minute(s.start_at), local_minute(s.end_at), s.name, s.phone)
        for s in shifts
    ]


@pytest.mark.usefixtures("departments")
def test_a_workbook_is_imported_from_the_chosen_sheet(
    runner: FlaskCliRunner, session: Session, tmp_path: Path
) -> None:
    path = tmp_path / "vagtplan.xlsx"
    path.write_bytes(
        workbook(
            NOTES,
            (
                "Uge 48",
                [
                    HEADER,
                    [
                        "RH-KARD",
                        "day",
                        datetime(2026, 11, 23, 8),
                        datetime(2026, 11, 23, 15),
                        "Anna Holm",
                        40101001,
                    ],
                    [None, "oncall", 46349.625, 46350.333333333336, Text("=cmd|' /C calc'!A0"), 40101002],
                ],
            ),
        )
    )

    result = runner.invoke(args=["import", "rota", str(path), "--sheet", "Uge 48"])

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{path}:3: department (A3): required, but missing",
        f"{path}: refused; nothing was changed.",
    ]
    assert stored(session) == []

    book = openpyxl.load_workbook(path)
    book["Uge 48"]["A3"] = "RH-KARD"
    book["Uge 48"]["E3"].data_type = "s"
    book.save(path)
    result = runner.invoke(args=["import", "rota", str(path), "--sheet", "Uge 48"])

    assert result.exit_code == 0, result.output
    assert versionless(result.stdout).splitlines() == [
        "RH-KARD: replaces 2026-11-23 08:00 to 2026-11-24 08:00 (local time): "
        "2 added, 0 removed, 0 changed, 0 unchanged",
        f"{path}: 2 shifts for 1 department: 2 added, 0 removed, 0 changed (rota version N)",
    ]
    assert stored(session) == [
        ("RH-KARD", "day", "2026-11-23 08:00", "2026-11-23 15:00", "Anna Holm", "+4540101001"),
        ("RH-KARD", "oncall", "2026-11-23 15:00", "2026-11-24 08:00", "=cmd|' /C calc'!A0", "+4540101002"),
    ]


@pytest.mark.usefixtures("departments")
def test_a_calendar_is_imported_for_the_department_and_role_given(
    runner: FlaskCliRunner, session: Session, tmp_path: Path
) -> None:
    path = tmp_path / "bagvagt.ics"
    path.write_bytes(
        calendar(
            "UID:nat@rh.example\nSUMMARY:Bagvagt\nATTENDEE;CN=Bo Jensen:tel:+4540101002\n"
            "DTSTART;TZID=Europe/Copenhagen:20261124T160000\nDTEND;TZID=Europe/Copenhagen:20261125T080000\n"
            "RRULE:FREQ=DAILY;COUNT=2"
        )
    )

    refused = runner.invoke(args=["import", "rota", str(path)])
    # Backup shifts leave the department's nights to nobody: published once the gaps are acknowledged.
    result = runner.invoke(
        args=["import", "rota", str(path), "--department", "BFH-GER", "--role", "backup", "--yes"]
    )

    assert refused.exit_code == 1
    assert refused.stderr.splitlines() == [
        f"{path}: a calendar does not say which department and role its events are: "
        "give both with the file (--department CODE --role ROLE)",
        f"{path}: refused; nothing was changed.",
    ]
    assert result.exit_code == 0, result.output
    assert (
        "BFH-GER: gap in on-call time from 2026-11-24 16:00 to 2026-11-25 08:00 (local time): "
        "nobody of the department answers first"
    ) in result.stdout.splitlines()
    assert versionless(result.stdout).splitlines()[-1] == (
        f"{path}: 2 shifts for 1 department: 2 added, 0 removed, 0 changed (rota version N)"
    )
    assert stored(session) == [
        ("BFH-GER", "backup", "2026-11-24 16:00", "2026-11-25 08:00", "Bo Jensen", "+4540101002"),
        ("BFH-GER", "backup", "2026-11-25 16:00", "2026-11-26 08:00", "Bo Jensen", "+4540101002"),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["import", "departments", "departments.csv", "--sheet", "Uge 48"], "--sheet: only for a rota file"),
        (["import", "rota", "rota.ics", "--role", "nat"], "'nat' is not one of 'day', 'oncall', 'backup'"),
    ],
)
def test_the_rota_options_are_refused_where_they_mean_nothing(
    runner: FlaskCliRunner, args: list[str], message: str
) -> None:
    result = runner.invoke(args=args)

    assert result.exit_code == 2
    assert message in result.output
