"""File imports: departments, callers, rota and discharges, all or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.cli import cli
from app.data.models import Caller, Department, Discharge, Shift
from app.services.imports import ImportResult, import_path
from app.values.times import parse_time
from tests import factories
from tests.support import EXAMPLES, Clock, versionless

DEPARTMENTS_HEADER = "code,name,hospital,day_phone,oncall_phone,switchboard_phone,day_hours\n"
CALLERS_HEADER = "phone,organisation,kind,code,language\n"
ROTA_HEADER = "department,role,start,end,name,phone\n"


def write(tmp_path: Path, name: str, content: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text(content, encoding=encoding)
    return path


def invoke(runner: FlaskCliRunner, kind: str, path: Path) -> Result:
    return runner.invoke(cli, args=["import", kind, str(path)])


def run_import(app: Flask, session: Session, clock: Clock, kind: str, path: Path) -> ImportResult:
    return import_path(
        session, kind, path, vault=app.extensions["linje72.vault"], now=clock(), policy=app.config["POLICY"]
    )


def count(session: Session, model: type) -> int:
    session.rollback()  # see what other connections committed
    return session.scalar(select(func.count()).select_from(model)) or 0


def snapshot(session: Session) -> list[object]:
    """What this session sees now: the counts and a value of each kind."""
    counts = [
        session.scalar(select(func.count()).select_from(m)) for m in (Department, Caller, Shift, Discharge)
    ]
    return [
        *counts,
        session.scalars(select(Department.name).where(Department.code == "RH-KARD")).one(),
        session.scalars(select(Caller.organisation).where(Caller.code == "4711")).one(),
        session.scalars(select(Shift.name).order_by(Shift.start_at, Shift.name)).all(),
        session.scalars(select(Discharge.department_id).where(Discharge.external_id == "SP-000123")).one(),
    ]


@pytest.fixture
def departments(runner: FlaskCliRunner) -> None:
    result = invoke(runner, "departments", EXAMPLES / "departments.csv")
    assert result.exit_code == 0, result.output


# --- Example files and encodings -----------------------------------------------------------


def test_example_files_import_cleanly_in_order(runner: FlaskCliRunner, session: Session) -> None:
    expected = [
        ("departments", "departments.csv", "3 departments: 3 added, 0 updated"),
        ("callers", "callers.csv", "4 callers: 4 added, 0 updated"),
        ("rota", "rota.csv", "4 shifts for 2 departments: 4 added, 0 removed, 0 changed (rota version N)"),
        ("discharges", "discharges.json", "3 discharges: 3 added, 0 updated"),
    ]
    for kind, name, summary in expected:
        result = invoke(runner, kind, EXAMPLES / name)
        assert result.exit_code == 0, result.output
        assert versionless(result.stdout.splitlines()[-1]) == f"{EXAMPLES / name}: {summary}"
        assert result.stderr == ""
    rota = invoke(runner, "rota", EXAMPLES / "rota.csv")  # again: the same shifts replaced
    assert versionless(rota.stdout).splitlines() == [
        "BFH-GER: replaces 2026-11-23 15:30 to 2026-11-24 08:00 (local time): "
        "0 added, 0 removed, 0 changed, 1 unchanged",
        "RH-KARD: replaces 2026-11-23 08:00 to 2026-11-24 08:00 (local time): "
        "0 added, 0 removed, 0 changed, 3 unchanged",
        f"{EXAMPLES / 'rota.csv'}: 4 shifts for 2 departments: "
        "0 added, 0 removed, 0 changed (rota version N)",
    ]

    assert [count(session, model) for model in (Department, Caller, Shift, Discharge)] == [3, 4, 4, 3]
    geriatrics = session.scalars(select(Department).where(Department.code == "BFH-GER")).one()
    assert (geriatrics.day_phone, geriatrics.oncall_phone, geriatrics.day_hours) == (
        "+4531203001",
        None,
        "08:00-15:30",
    )
    code_only = session.scalars(select(Caller).where(Caller.code == "4713")).one()
    assert (code_only.phone, code_only.kind, code_only.language) == (None, "temporary_stay", "da")
    day = session.scalars(select(Shift).where(Shift.name == "Anna Holm")).one()
    assert (day.start_at, day.end_at) == (parse_time("2026-11-23T07:00Z"), parse_time("2026-11-23T14:00Z"))
    assert day.phone == "+4540101001"
    extended = session.scalars(select(Discharge).where(Discharge.external_id == "SP-000125")).one()
    assert extended.responsibility_until == parse_time("2026-11-24T08:00Z")
    assert extended.department.code == "NOH-MED"


def test_a_byte_order_mark_is_accepted(app: Flask, session: Session, clock: Clock, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "departments.csv",
        DEPARTMENTS_HEADER + "RH-KARD,Kardiologi,Rigshospitalet,31102001,,31100000,\n",
        encoding="utf-8-sig",
    )
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")

    result = run_import(app, session, clock, "departments", path)

    assert result.errors == []
    assert session.scalars(select(Department.code)).all() == ["RH-KARD"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"code,name\xe6\n", "not UTF-8 text"),
        (b"", "1: header: the file is empty"),
    ],
)
def test_a_file_that_is_not_a_table_is_one_error_naming_it(
    app: Flask, session: Session, clock: Clock, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "departments.csv"
    path.write_bytes(content)

    result = run_import(app, session, clock, "departments", path)

    assert len(result.errors) == 1
    assert result.errors[0].startswith(f"{path}:")
    assert message in result.errors[0]


def test_a_missing_file_is_one_error_without_a_traceback(runner: FlaskCliRunner, tmp_path: Path) -> None:
    result = invoke(runner, "rota", tmp_path / "nowhere.csv")

    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == f"{tmp_path / 'nowhere.csv'}: no such file"
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            "code,name,hospital,day_phone,switchboard_phone\n",
            ["departments.csv:1: oncall_phone: column missing from the header"],
        ),
        (
            "code,name,hospital,day_phone,oncall_phone,switchboard_phone,dayhours\n",
            [
                "departments.csv:1: dayhours: unknown column (expected code, name, hospital, day_phone, "
                "oncall_phone, switchboard_phone, day_hours, sor_ids, agreement, psychiatric, oncall_pool, "
                "closed_days, "
                "half_days)"
            ],
        ),
    ],
)
def test_a_header_without_the_required_columns_is_refused(
    app: Flask, session: Session, clock: Clock, tmp_path: Path, header: str, expected: list[str]
) -> None:
    path = write(tmp_path, "departments.csv", header + "RH-KARD,K,R,31102001,31100000\n")

    result = run_import(app, session, clock, "departments", path)

    assert [line.removeprefix(f"{tmp_path}/") for line in result.errors] == expected


# --- Upserts -----------------------------------------------------------------------------


def test_departments_are_updated_by_code_not_duplicated(
    runner: FlaskCliRunner, session: Session, tmp_path: Path, departments: None
) -> None:
    path = write(
        tmp_path,
        "departments.csv",
        DEPARTMENTS_HEADER + "RH-KARD,Kardiologisk Afdeling,Rigshospitalet,31102002,,31100000,08:00-16:00\n",
    )

    result = invoke(runner, "departments", path)

    assert result.stdout == f"{path}: 1 department: 0 added, 1 updated\n"
    assert count(session, Department) == 3
    cardiology = session.scalars(select(Department).where(Department.code == "RH-KARD")).one()
    assert (cardiology.name, cardiology.day_phone, cardiology.oncall_phone, cardiology.day_hours) == (
        "Kardiologisk Afdeling",
        "+4531102002",
        None,
        "08:00-16:00",
    )


SOR_HEADER = "code,name,hospital,day_phone,oncall_phone,switchboard_phone,sor_ids\n"


def test_a_departments_sor_ids_are_stored_and_kept_when_a_file_has_no_such_column(
    app: Flask, session: Session, clock: Clock, tmp_path: Path, departments: None
) -> None:
    # The example file gives RH-KARD two ward-level SOR ids.
    stored = session.scalars(select(Department.sor_ids).where(Department.code == "RH-KARD")).one()
    assert stored == "265161000016000 265161000016001"
    path = write(
        tmp_path, "departments.csv", DEPARTMENTS_HEADER + "RH-KARD,K,Rigshospitalet,31102001,,31100000,\n"
    )

    assert run_import(app, session, clock, "departments", path).errors == []
    session.commit()

    assert count(session, Department) == 3
    assert session.scalars(select(Department.sor_ids).where(Department.code == "RH-KARD")).one() == stored


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (
            "RH-KARD,K,R,31102001,,31100000,265161000016000\n"
            "NEW-1,N,R,31102001,,31100000,1 265161000016000\n",
            [
                "3: sor_ids: 265161000016000 is given to both RH-KARD (row 2) and NEW-1: "
                "a SOR id names one department"
            ],
        ),
        (
            "NEW-1,N,R,31102001,,31100000,265161000016001\n",
            [
                "2: sor_ids: 265161000016001 is already department RH-KARD's: a SOR id names one department "
                "(remove it there first, or give both departments in this file)"
            ],
        ),
        (
            "NEW-1,N,R,31102001,,31100000,2651-6100 12\n",
            ["2: sor_ids: '2651-6100' is not a SOR id (up to 18 digits, ids separated by spaces)"],
        ),
    ],
    ids=["two-rows", "stored-for-another-department", "not-digits"],
)
def test_a_sor_id_names_one_department_or_the_file_is_refused(
    app: Flask,
    session: Session,
    clock: Clock,
    tmp_path: Path,
    departments: None,
    rows: str,
    expected: list[str],
) -> None:
    path = write(tmp_path, "departments.csv", SOR_HEADER + rows)

    result = run_import(app, session, clock, "departments", path)

    assert [line.removeprefix(f"{path}:") for line in result.errors] == expected
    session.rollback()
    assert count(session, Department) == 3


def test_a_sor_id_moves_between_departments_given_in_one_file(
    app: Flask, session: Session, clock: Clock, tmp_path: Path, departments: None
) -> None:
    rows = "RH-KARD,K,R,31102001,,31100000,265161000016000\nBFH-GER,G,B,31203001,,31200000,265161000016001\n"
    path = write(tmp_path, "departments.csv", SOR_HEADER + rows)

    assert run_import(app, session, clock, "departments", path).errors == []
    session.commit()

    assert dict(
        session.execute(select(Department.code, Department.sor_ids).order_by(Department.code)).all()
    ) == {
        "BFH-GER": "265161000016001",
        "NOH-MED": None,
        "RH-KARD": "265161000016000",
    }


@pytest.mark.parametrize(
    ("row", "organisation", "phone", "code"),
    [
        ("+4532501010,Valby Hjemmepleje,home_nursing,4711,da", "Valby Hjemmepleje", "+4532501010", "4711"),
        ("32 50 10 10,Valby,home_nursing,9999,en", "Valby", "+4532501010", "9999"),
        (",Valby by code,home_nursing,4711,da", "Valby by code", None, "4711"),
        ("+4532501099,Valby new phone,home_nursing,4711,da", "Valby new phone", "+4532501099", "4711"),
    ],
)
def test_callers_are_updated_by_phone_or_else_by_code(
    runner: FlaskCliRunner,
    session: Session,
    tmp_path: Path,
    row: str,
    organisation: str,
    phone: str | None,
    code: str,
) -> None:
    factories.caller(session, phone="+4532501010", code="4711")
    session.commit()
    path = write(tmp_path, "callers.csv", CALLERS_HEADER + row + "\n")

    result = invoke(runner, "callers", path)

    assert result.stdout == f"{path}: 1 caller: 0 added, 1 updated\n", result.output
    assert count(session, Caller) == 1
    caller = session.scalars(select(Caller)).one()
    assert (caller.organisation, caller.phone, caller.code) == (organisation, phone, code)


def test_discharges_are_updated_by_id_not_duplicated(
    app: Flask, runner: FlaskCliRunner, session: Session, tmp_path: Path, departments: None
) -> None:
    assert invoke(runner, "discharges", EXAMPLES / "discharges.json").exit_code == 0
    path = write(
        tmp_path,
        "discharges.json",
        '[{"id": "SP-000124", "cpr": "0101401234", "department": "RH-KARD",'
        ' "discharged_at": "2026-11-22T14:00:00+01:00", "destination": "residential"}]',
    )

    result = invoke(runner, "discharges", path)

    assert result.stdout == f"{path}: 1 discharge: 0 added, 1 updated\n"
    assert count(session, Discharge) == 3
    updated = session.scalars(select(Discharge).where(Discharge.external_id == "SP-000124")).one()
    assert (updated.department.code, updated.destination, updated.municipality) == (
        "RH-KARD",
        "residential",
        None,
    )
    assert app.extensions["linje72.vault"].decrypt(updated.cpr_encrypted) == "0101401234"


# --- A bad file is refused whole -------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "name", "content", "expected"),
    [
        (
            "departments",
            "departments.csv",
            DEPARTMENTS_HEADER
            + "RH-KARD,Renamed,Rigshospitalet,31102001,,31100000,\n"
            + "BFH-GER,Geriatri,,12,,31200000,\n"
            + "NEW-1,Ny,Herlev,31102001,,31100000,8-16\n"
            + "RH-KARD,Twice,Rigshospitalet,31102001,,31100000,\n",
            [
                "3: hospital: required, but missing",
                "3: day_phone: not a phone number that can be dialled (wrong length): '12'",
                "4: day_hours: expected hours as HH:MM-HH:MM, got '8-16'",
                "5: code: 'RH-KARD' is already given on row 2",
            ],
        ),
        (
            "rota",
            "rota.csv",
            ROTA_HEADER
            + "RH-KARD,day,2026-11-25 08:00,2026-11-25 15:00,Anna Holm,40101001\n"
            + "RH-KARD,day,2026-11-25 15:00,2026-11-25 08:00,Bo Jensen,40101002\n"
            + "XX-NONE,night,2026-11-25,2026-11-26 08:00,,\n",
            [
                "3: end: must be after start",
                "4: department: no department with code 'XX-NONE' (import departments first)",
                "4: role: must be one of day, oncall, backup, nurse, not 'night'",
                "4: phone: required, but missing",
            ],
        ),
        (
            "callers",
            "callers.csv",
            CALLERS_HEADER
            + "+4532501010,Valby,home_nursing,4711,da\n"
            + "32 50 10 10,Valby again,home_nursing,4711,da\n"
            + "1813,Akuttelefonen,acute_1813,12,fr\n"
            + ",Nobody,nurse,,\n",
            [
                "3: phone: '+4532501010' is already given on row 2",
                "3: code: '4711' is already given on row 2",
                "4: phone: a short number cannot identify a caller: '1813'",
                "4: code: must be 4 to 8 digits, not '12'",
                "4: language: must be one of da, en, not 'fr'",
                "5: phone: give a phone number or a code (or both)",
                "5: kind: must be one of home_nursing, nursing_home, temporary_stay, residential, gp, "
                "acute_1813, acute_nursing, nursing_home_doctor, other, not 'nurse'",
            ],
        ),
        (
            "discharges",
            "discharges.json",
            '[{"id": "SP-1", "cpr": "0101401234", "department": "RH-KARD",'
            ' "discharged_at": "2026-11-21T10:30:00+01:00", "destination": "nursing_home"},\n'
            ' {"id": "SP-2", "cpr": "0101401234", "department": "NOPE",'
            ' "discharged_at": "2026-11-21T10:30:00+01:00", "admitted_at": "2026-11-22T10:00:00+01:00",'
            ' "destination": "hospice", "ward": "7"},\n'
            ' {"id": "SP-3", "cpr": "0101401234", "department": "RH-KARD",'
            ' "discharged_at": "2026-11-21T10:30:00+01:00", "destination": "other",'
            ' "responsibility_until": "2026-11-20T10:00:00+01:00", "gp_phone": "123"},\n'
            ' {"id": "SP-1", "department": "RH-KARD", "discharged_at": null, "destination": "other"}]',
            [
                "2: ward: unknown field (expected id, cpr, department, discharged_at, destination, "
                "admitted_at, municipality, gp_phone, responsibility_until)",
                "2: department: no department with code 'NOPE' (import departments first)",
                "2: admitted_at: must not be after discharged_at",
                "2: destination: must be one of home_nursing, nursing_home, other, residential, "
                "temporary_stay, not 'hospice'",
                "3: responsibility_until: must not be before discharged_at",
                "3: gp_phone: not a phone number that can be dialled (wrong length): '123'",
                "4: id: 'SP-1' is already given on row 1",
                "4: cpr: required, but missing",
                "4: discharged_at: required, but missing",
            ],
        ),
    ],
)
def test_a_bad_file_is_refused_whole_with_one_line_per_problem(
    runner: FlaskCliRunner,
    session: Session,
    tmp_path: Path,
    departments: None,
    kind: str,
    name: str,
    content: str,
    expected: list[str],
) -> None:
    assert invoke(runner, "callers", EXAMPLES / "callers.csv").exit_code == 0
    assert invoke(runner, "rota", EXAMPLES / "rota.csv").exit_code == 0
    before = [count(session, model) for model in (Department, Caller, Shift, Discharge)]
    path = write(tmp_path, name, content)

    result = invoke(runner, kind, path)

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [f"{path}:{line}" for line in expected] + [
        f"{path}: refused; nothing was changed."
    ]
    assert [count(session, model) for model in (Department, Caller, Shift, Discharge)] == before
    cardiology = session.scalars(select(Department).where(Department.code == "RH-KARD")).one()
    assert cardiology.name == "Hjertemedicinsk Klinik"
    assert session.scalars(select(Caller.organisation).where(Caller.code == "4711")).one() == (
        "Hjemmesygeplejen Valby, Københavns Kommune"
    )


@pytest.mark.parametrize(
    ("kind", "content"),
    [
        (
            "departments",
            DEPARTMENTS_HEADER + "NEW-1,Ny,Herlev,31102001,,31100000,\nRH-KARD,Renamed,R,12,,1,\n",
        ),
        ("callers", CALLERS_HEADER + "+4532501010,Renamed,home_nursing,4711,da\n+4520000000,New,gp,,xx\n"),
        (
            "rota",
            ROTA_HEADER + "RH-KARD,day,2026-11-23 08:00,2026-11-23 15:00,A,40101001\nRH-KARD,day,,,B,1\n",
        ),
        (
            "discharges",
            '{"id": "SP-000123", "cpr": "0101401234", "department": "NOH-MED",'
            ' "discharged_at": "2026-11-21T10:30:00+01:00", "destination": "other"}\n'
            '{"id": "SP-9", "cpr": "0101401234", "department": "RH-KARD",'
            ' "discharged_at": "2026-11-21T10:30:00+01:00", "destination": "away"}\n',
        ),
    ],
)
def test_a_refused_import_leaves_the_session_untouched(
    app: Flask,
    runner: FlaskCliRunner,
    session: Session,
    clock: Clock,
    tmp_path: Path,
    departments: None,
    kind: str,
    content: str,
) -> None:
    for name in ("callers.csv", "rota.csv", "discharges.json"):
        assert invoke(runner, name.split(".")[0], EXAMPLES / name).exit_code == 0
    path = write(tmp_path, "import.txt", content)
    before = snapshot(session)

    result = run_import(app, session, clock, kind, path)

    assert result.errors
    assert not (session.new or session.dirty or session.deleted)
    assert snapshot(session) == before


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (
            "+4532501010,Valby,home_nursing,4712,da\n",
            [":2: code: '4712' belongs to 'Solgården', but the phone number belongs to 'Valby'"],
        ),
        (
            "+4532501010,Valby without code,home_nursing,,da\n,Someone else,gp,4711,da\n",
            [":3: code: matches the same registered caller as row 2"],
        ),
    ],
)
def test_a_caller_row_that_matches_the_wrong_registered_caller_is_refused(
    app: Flask, session: Session, clock: Clock, tmp_path: Path, rows: str, expected: list[str]
) -> None:
    factories.caller(session, phone="+4532501010", code="4711", organisation="Valby")
    factories.caller(session, phone="+4532501020", code="4712", organisation="Solgården")
    path = write(tmp_path, "callers.csv", CALLERS_HEADER + rows)

    result = run_import(app, session, clock, "callers", path)

    assert result.errors == [f"{path}{line}" for line in expected]


# --- Rota --------------------------------------------------------------------------------


def test_a_rota_replaces_only_the_departments_shifts_inside_the_period_it_covers(
    runner: FlaskCliRunner, session: Session, tmp_path: Path
) -> None:
    cardiology = factories.department(session, "RH-KARD")
    geriatrics = factories.department(session, "BFH-GER")
    kept = [
        factories.shift(session, cardiology, "oncall", "2026-11-22 15:00", "2026-11-23 08:00", "+4540000001"),
        factories.shift(session, cardiology, "backup", "2026-11-22 20:00", "2026-11-23 12:00", "+4540000002"),
        factories.shift(session, cardiology, "day", "2026-11-24 08:00", "2026-11-24 15:00", "+4540000003"),
        factories.shift(session, geriatrics, "day", "2026-11-23 08:00", "2026-11-23 15:00", "+4540000004"),
    ]
    factories.shift(session, cardiology, "day", "2026-11-23 08:00", "2026-11-23 15:00", "+4540000005")
    factories.shift(session, cardiology, "oncall", "2026-11-23 15:00", "2026-11-24 08:00", "+4540000006")
    kept_ids = {shift.id for shift in kept}
    session.commit()
    path = write(
        tmp_path,
        "rota.csv",
        ROTA_HEADER
        + "RH-KARD,oncall,2026-11-23 15:00,2026-11-24 08:00,Bo Jensen,40101002\n"
        + "RH-KARD,day,2026-11-23 08:00,2026-11-23 15:00,Anna Holm,40101001\n",
    )

    result = invoke(runner, "rota", path)

    assert versionless(result.stdout).splitlines() == [
        "RH-KARD: replaces 2026-11-23 08:00 to 2026-11-24 08:00 (local time): "
        "0 added, 0 removed, 2 changed, 0 unchanged",
        f"{path}: 2 shifts for 1 department: 0 added, 0 removed, 2 changed (rota version N)",
    ]
    session.rollback()
    shifts = session.scalars(select(Shift).order_by(Shift.start_at, Shift.id)).all()
    assert kept_ids <= {shift.id for shift in shifts}
    assert [(s.department.code, s.role, s.phone) for s in shifts if s.id not in kept_ids] == [
        ("RH-KARD", "day", "+4540101001"),
        ("RH-KARD", "oncall", "+4540101002"),
    ]
    assert len(shifts) == 6


@pytest.mark.parametrize(
    ("start", "end", "error"),
    [
        ("2026-03-29 02:30", "2026-03-29 08:00", "2026-03-29 02:30 does not exist in Copenhagen"),
        ("2026-10-25 02:30", "2026-10-25 08:00", "2026-10-25 02:30 happens twice in Copenhagen"),
        ("2026-03-29T02:30+01:00", "2026-03-29 08:00", None),
        ("2026-10-25T02:30+02:00", "2026-10-25 08:00", None),
        ("2026-10-25T02:30+01:00", "2026-10-25 08:00", None),
    ],
)
def test_a_local_time_at_a_daylight_saving_change_needs_an_offset(
    app: Flask, session: Session, clock: Clock, tmp_path: Path, start: str, end: str, error: str | None
) -> None:
    factories.department(session, "RH-KARD")
    path = write(tmp_path, "rota.csv", ROTA_HEADER + f"RH-KARD,oncall,{start},{end},,40101002\n")

    result = run_import(app, session, clock, "rota", path)

    if error is None:
        assert result.errors == []
        assert session.scalars(select(Shift.start_at)).one() == parse_time(start)
    else:
        assert len(result.errors) == 1
        assert result.errors[0].startswith(f"{path}:2: start: {error}")
        assert result.errors[0].endswith("give an offset")


# --- Discharges --------------------------------------------------------------------------

JSON_LINES = (
    '{"id": "SP-1", "cpr": "0101401234", "department": "RH-KARD",'
    ' "discharged_at": "2026-11-21 10:30", "destination": "nursing_home"}\n'
    "\n"
    '{"id": "SP-2", "cpr": "150352-1236", "department": "BFH-GER",'
    ' "discharged_at": "2026-11-22T13:05:00+01:00", "destination": "home_nursing",'
    ' "admitted_at": null, "responsibility_until": null, "municipality": ""}\n'
)


def test_discharges_can_come_as_json_lines(
    app: Flask, session: Session, clock: Clock, tmp_path: Path, departments: None
) -> None:
    path = write(tmp_path, "discharges.jsonl", JSON_LINES)

    result = run_import(app, session, clock, "discharges", path)

    assert result.errors == []
    assert result.summary == "2 discharges: 2 added, 0 updated"
    stored = session.scalars(select(Discharge).order_by(Discharge.external_id)).all()
    assert [(d.external_id, d.department.code, d.discharged_at) for d in stored] == [
        ("SP-1", "RH-KARD", parse_time("2026-11-21T09:30Z")),
        ("SP-2", "BFH-GER", parse_time("2026-11-22T12:05Z")),
    ]
    assert stored[1].municipality is None


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (JSON_LINES + '{"id": "SP-3"\n', [":4: line: not valid JSON: Expecting ',' delimiter (column 14)"]),
        (
            JSON_LINES.replace("BFH-GER", "XX"),
            [":3: department: no department with code 'XX' (import departments first)"],
        ),
        (
            '[{"id": "SP-1", "cpr": "0101401234", "department": "RH-KARD",\n'
            '  "discharged_at": "2026-11-21 10:30", "destination": "other"},\n'
            ' {"id": "SP-2"}, 7]',
            [
                ":2: cpr: required, but missing",
                ":2: department: required, but missing",
                ":2: discharged_at: required, but missing",
                ":2: destination: required, but missing",
                ":3: record: must be a JSON object",
            ],
        ),
        (
            '[{"id": "SP-1"} {"id": "SP-2"}]',
            [": not valid JSON: Expecting ',' delimiter (line 1, column 17)"],
        ),
        (
            "id,cpr\nSP-1,0101401234\n",
            [": not JSON (neither an array nor one object a line): Expecting value (line 1, column 1)"],
        ),
    ],
)
def test_discharge_errors_name_the_line_or_the_position_in_the_array(
    app: Flask,
    session: Session,
    clock: Clock,
    tmp_path: Path,
    departments: None,
    content: str,
    expected: list[str],
) -> None:
    path = write(tmp_path, "discharges.json", content)

    result = run_import(app, session, clock, "discharges", path)

    assert result.errors == [f"{path}{line}" for line in expected]
    assert count(session, Discharge) == 0


LENGTH = (
    "a CPR number has 10 digits, or (a replacement number) a birth date DDMMYY and "
    "four letters and digits with at least one letter"
)
BAD_CPRS = [
    ("3213401234", "the CPR number does not hold a real birth date"),
    ("0101304000", "the CPR number's birth date is in the future"),
    ("01014012", LENGTH),
    ("01-01-40-12-34-5", LENGTH),
    ("0101401A2", LENGTH),
    ("3213407AB1", "the replacement CPR number does not start with a real day and month"),
]


@pytest.mark.parametrize(("cpr", "message"), BAD_CPRS)
def test_a_bad_cpr_number_is_refused_without_repeating_it(
    runner: FlaskCliRunner, tmp_path: Path, departments: None, cpr: str, message: str
) -> None:
    path = write(
        tmp_path,
        "discharges.json",
        f'{{"id": "SP-1", "cpr": "{cpr}", "department": "RH-KARD",'
        ' "discharged_at": "2026-11-21T10:30:00+01:00", "destination": "other"}\n',
    )

    result = invoke(runner, "discharges", path)

    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == f"{path}:1: cpr: {message}"
    digits = cpr.replace("-", "")
    assert digits not in result.output and cpr not in result.output
    assert digits[:6] not in result.output


def test_a_cpr_number_given_as_a_json_number_is_refused_without_repeating_it(
    app: Flask, session: Session, clock: Clock, tmp_path: Path, departments: None
) -> None:
    path = write(
        tmp_path,
        "discharges.json",
        '[{"id": "SP-1", "cpr": 1503521236, "department": "RH-KARD",'
        ' "discharged_at": "2026-11-21T10:30:00+01:00", "destination": "other"}]',
    )

    result = run_import(app, session, clock, "discharges", path)

    assert result.errors == [f"{path}:1: cpr: must be text (a JSON string)"]


def test_a_stored_discharge_holds_no_plaintext_cpr_number(
    app: Flask, runner: FlaskCliRunner, session: Session, departments: None
) -> None:
    assert invoke(runner, "discharges", EXAMPLES / "discharges.json").exit_code == 0
    vault = app.extensions["linje72.vault"]

    session.rollback()
    stored = session.scalars(select(Discharge).where(Discharge.external_id == "SP-000123")).one()
    assert vault.decrypt(stored.cpr_encrypted) == "0101401234"
    assert stored.cpr_lookup == vault.lookup_key("0101401234")
    for row in session.execute(text("SELECT * FROM discharges")):
        for value in row:
            raw = bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
            for cpr in (b"0101401234", b"1503521236", b"2812449871", b"010140"):
                assert cpr not in raw


def test_a_shift_longer_than_a_week_is_refused(
    runner: FlaskCliRunner, session: Session, departments: None, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "rota.csv",
        ROTA_HEADER + "RH-KARD,oncall,2026-11-20 15:00,2026-11-28 08:00,Bo,+4540101002\n",
    )
    result = invoke(runner, "rota", path)
    assert result.exit_code == 1
    assert f"{path}:2: end: a shift may last at most 7 days" in result.output
    assert count(session, Shift) == 0


CPR_FORMS = ("0101401234", "010140-1234", "010140 1234")


@pytest.mark.parametrize("cpr", CPR_FORMS, ids=["plain", "dash", "space"])
@pytest.mark.parametrize(
    ("kind", "name", "header", "row"),
    (
        ("rota", "rota.csv", ROTA_HEADER, "{cpr},{cpr},{cpr},{cpr},{cpr},{cpr}\n"),
        ("callers", "callers.csv", CALLERS_HEADER, "{cpr},{cpr},{cpr},{cpr},{cpr}\n"),
        (
            "discharges",
            "discharges.json",
            "",
            '{{"id": "{cpr}", "cpr": "{cpr}x", "department": "{cpr}", "discharged_at": "{cpr}", '
            '"destination": "{cpr}", "gp_phone": "{cpr}", "admitted_at": "{cpr}", "{cpr}": 1}}\n',
        ),
    ),
)
def test_a_cpr_number_in_any_column_is_never_echoed_in_an_error_line(
    runner: FlaskCliRunner,
    tmp_path: Path,
    departments: None,
    kind: str,
    name: str,
    header: str,
    row: str,
    cpr: str,
) -> None:
    path = write(tmp_path, name, header + row.format(cpr=cpr) + row.format(cpr=cpr))
    result = invoke(runner, kind, path)
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) >= 5
    digits = cpr.replace("-", "").replace(" ", "")
    for line in result.stderr.splitlines():
        assert cpr not in line and digits not in line, line
        assert "010140" not in line, line


def test_a_name_with_a_control_character_is_refused_naming_the_column(
    runner: FlaskCliRunner, tmp_path: Path, departments: None
) -> None:
    path = write(tmp_path, "callers.csv", CALLERS_HEADER + "+4532501099,Pleje\x0bhjemmet,nursing_home,,da\n")
    result = invoke(runner, "callers", path)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"{path}:2: organisation: contains a control character (a tab, line break or similar)"
    )


@pytest.fixture
def planned_rota(app: Flask, session: Session) -> None:
    """A week of RH-KARD nights already published."""
    department = factories.department(session)
    for day in range(23, 30):
        factories.shift(
            session, department, "oncall", f"2026-11-{day} 15:00", f"2026-11-{day + 1} 08:00", "+4540000006"
        )
    session.commit()


STRAY = (
    ROTA_HEADER
    + "RH-KARD,oncall,2026-11-24 15:00,2026-11-25 08:00,Bo Jensen,40101002\n"
    + "RH-KARD,oncall,2062-11-25 15:00,2062-11-26 08:00,Bo Jensen,40101002\n"
)


@pytest.mark.usefixtures("planned_rota")
def test_a_rota_with_one_row_in_2062_is_not_imported_without_confirmation(
    runner: FlaskCliRunner, session: Session, tmp_path: Path
) -> None:
    path = write(tmp_path, "rota.csv", STRAY)
    result = invoke(runner, "rota", path)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "RH-KARD: replaces 2026-11-24 15:00 to 2062-11-26 08:00 (local time): "
        "1 added, 5 removed, 1 changed, 0 unchanged"
    ]
    assert result.stderr.splitlines() == [
        f"{path}:3: start: warning: 2062-11-25 15:00 is more than a year ahead: a typing error?",
        f"{path}: not imported: it would remove more shifts than it adds for RH-KARD "
        "(5 shifts removed, 1 added); 1 warning to acknowledge; "
        "check the lines above (or confirm, e.g. with --yes)",
        f"{path}: refused; nothing was changed.",
    ]
    assert count(session, Shift) == 7


@pytest.mark.usefixtures("planned_rota")
@pytest.mark.parametrize(
    ("args", "stdin", "kept"), ((["--yes"], "", 3), ([], "", 7)), ids=["--yes", "no-terminal"]
)
def test_a_rota_that_removes_more_than_it_adds_needs_yes(
    runner: FlaskCliRunner, session: Session, tmp_path: Path, args: list[str], stdin: str, kept: int
) -> None:
    path = write(tmp_path, "rota.csv", STRAY)
    result = runner.invoke(cli, args=["import", "rota", str(path), *args], input=stdin)
    assert count(session, Shift) == kept  # 7 - 6 + 2 with --yes; untouched without
    assert result.exit_code == (0 if args else 1)


@pytest.mark.usefixtures("planned_rota")
def test_another_department_adding_many_shifts_does_not_hide_a_stray_row(
    runner: FlaskCliRunner, session: Session, tmp_path: Path
) -> None:
    factories.department(session, "BFH-GER")
    session.commit()
    many = "".join(
        f"BFH-GER,oncall,2026-12-{day:02d} 15:00,2026-12-{day + 1:02d} 08:00,Dorte Berg,40102002\n"
        for day in range(1, 21)
    )
    path = write(tmp_path, "rota.csv", STRAY + many)
    result = invoke(runner, "rota", path)
    assert result.exit_code == 1
    assert "for RH-KARD (5 shifts removed, 1 added)" in result.stderr
    assert count(session, Shift) == 7
