"""Who answers, by who calls (nurse-first), and shared on-call pools (issue 10, items 3 and 4)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.data.models import Contact, Department
from app.intake.rota import ShiftRecord
from app.services.coverage import department_coverage, find_gaps
from app.services.tokens import add_token
from app.values.callers import CALLER_KINDS
from app.values.times import parse_time
from ivr.simulator import ScriptedPhone, play_call
from routing import (
    DOCTOR_CALLERS,
    NURSING_CALLERS,
    Agreement,
    Calendar,
    DepartmentInfo,
    DischargeInfo,
    Role,
    ShiftInfo,
    apply_overrides,
    check_rota,
    coverage,
    decide,
    gaps,
)
from tests import factories as f
from tests.console import log_in
from tests.support import FALLBACK, Clock

MONDAY_10 = parse_time("2026-11-23 10:00")  # day time
MONDAY_22 = parse_time("2026-11-23 22:00")  # on-call time
NURSE, DOCTOR, NIGHT_DOCTOR, BACKUP = "+4540200001", "+4540200002", "+4540200003", "+4540200004"
POOL_DOCTOR, POOL_PHONE, POOL_BACKUP = "+4540300001", "+4540300009", "+4540300004"

ZEALAND = Agreement(
    code="SJ", name="Region Sjælland", after_hours_number="+4570151818", fallback_number="+4556510000"
)
NURSE_FIRST = Agreement(
    code="SJ",
    name="Region Sjælland",
    after_hours_number="+4570151818",
    fallback_number="+4556510000",
    nurse_first=True,
)
KOGE = DepartmentInfo("SJ-KOGE", "Medicinsk", "Sjællands Universitetshospital", "+4547320001", "+4547320000")
SHIFTS = (
    ShiftInfo(Role.NURSE, parse_time("2026-11-23 07:00"), parse_time("2026-11-24 07:00"), NURSE, "Nina"),
    ShiftInfo(Role.DAY, parse_time("2026-11-23 08:00"), parse_time("2026-11-23 15:00"), DOCTOR, "Dan"),
    ShiftInfo(
        Role.ONCALL, parse_time("2026-11-23 15:00"), parse_time("2026-11-24 08:00"), NIGHT_DOCTOR, "Ib"
    ),
    ShiftInfo(Role.BACKUP, parse_time("2026-11-23 08:00"), parse_time("2026-11-24 08:00"), BACKUP, "Bo"),
)


def discharged(department: str, *, admitted: bool = False) -> DischargeInfo:
    if admitted:  # in hospital now
        return DischargeInfo("S1", department, None, None, admitted_at=parse_time("2026-11-22 10:00"))
    return DischargeInfo(
        "S1",
        department,
        parse_time("2026-11-22 10:00"),
        "home_nursing",
        admitted_at=parse_time("2026-11-19 10:00"),
    )


def chain(
    caller_kind: str | None,
    agreement: Agreement | None,
    now: datetime,
    *,
    admitted: bool = False,
) -> list[str]:
    decision = decide(
        discharges=[discharged(KOGE.code, admitted=admitted)],
        departments={KOGE.code: KOGE},
        shifts=SHIFTS,
        calendar=Calendar(),
        now=now,
        window=timedelta(hours=72),
        fallback_number=FALLBACK,
        after_hours_number="+4570131813",
        agreements={KOGE.code: agreement} if agreement else {},
        caller_kind=caller_kind,
    )
    return [target.label for target in decision.targets]


DOCTORS_BY_DAY = ["day", "department_day", "backup", "switchboard", "fallback"]
DOCTORS_AT_NIGHT = ["oncall", "backup", "switchboard", "fallback"]


@pytest.mark.parametrize(
    ("caller_kind", "agreement", "now", "labels"),
    (
        pytest.param(
            "home_nursing", NURSE_FIRST, MONDAY_10, ["nurse", *DOCTORS_BY_DAY], id="home-nurse:nurse-first"
        ),
        pytest.param(
            "nursing_home", NURSE_FIRST, MONDAY_22, ["nurse", *DOCTORS_AT_NIGHT], id="nursing-home-at-night"
        ),
        pytest.param(
            "acute_nursing", NURSE_FIRST, MONDAY_10, ["nurse", *DOCTORS_BY_DAY], id="acute-nursing:nursing"
        ),
        pytest.param(
            "temporary_stay", NURSE_FIRST, MONDAY_10, ["nurse", *DOCTORS_BY_DAY], id="temporary-stay"
        ),
        pytest.param("residential", NURSE_FIRST, MONDAY_10, ["nurse", *DOCTORS_BY_DAY], id="residential"),
        pytest.param("gp", NURSE_FIRST, MONDAY_10, DOCTORS_BY_DAY, id="gp:doctors-only"),
        pytest.param("nursing_home_doctor", NURSE_FIRST, MONDAY_10, DOCTORS_BY_DAY, id="nursing-home-doctor"),
        pytest.param("acute_1813", NURSE_FIRST, MONDAY_22, DOCTORS_AT_NIGHT, id="1813:doctors-only"),
        pytest.param("other", NURSE_FIRST, MONDAY_10, DOCTORS_BY_DAY, id="other-kind:doctors"),
        pytest.param(None, NURSE_FIRST, MONDAY_10, DOCTORS_BY_DAY, id="kind-unknown:doctors"),
        pytest.param("home_nursing", ZEALAND, MONDAY_10, DOCTORS_BY_DAY, id="nurse-first-off:no-nurse"),
        pytest.param("home_nursing", None, MONDAY_10, DOCTORS_BY_DAY, id="no-agreement:no-nurse"),
    ),
)
def test_nursing_callers_get_the_nurses_first_only_where_the_agreement_says_so(
    caller_kind: str | None, agreement: Agreement | None, now: datetime, labels: list[str]
) -> None:
    assert chain(caller_kind, agreement, now) == labels


def test_an_inpatients_department_rings_its_nurses_first_for_a_home_nurse_too() -> None:
    assert chain("home_nursing", NURSE_FIRST, MONDAY_10, admitted=True) == ["nurse", *DOCTORS_BY_DAY]
    assert chain("gp", NURSE_FIRST, MONDAY_10, admitted=True) == DOCTORS_BY_DAY


def test_every_kind_of_caller_is_either_nursing_staff_a_doctor_or_other() -> None:
    assert not NURSING_CALLERS & DOCTOR_CALLERS
    assert NURSING_CALLERS | DOCTOR_CALLERS | {"other"} == set(CALLER_KINDS)


@pytest.mark.parametrize(
    ("second", "finding"),
    (
        (
            ("nurse", "+4540200009"),
            ("note", "two people in the role nurse at once: both are rung, earliest start first"),
        ),
        (("oncall", NURSE), ("error", "the same person is already on the rota at that time")),
    ),
)
def test_check_rota_treats_a_nurse_like_any_role(second: tuple[str, str], finding: tuple[str, str]) -> None:
    first = ShiftRecord("SJ-KOGE", Role.NURSE, MONDAY_10, MONDAY_22, NURSE, "Nina")
    other = ShiftRecord("SJ-KOGE", Role(second[0]), MONDAY_10, MONDAY_22, second[1], "Ole")
    assert [(x.severity, x.message) for x in check_rota([first, other])] == [finding]


# --- Shared on-call pools: the decision and the coverage ---------------------------------------

POOL = DepartmentInfo("SJ-MEDPOOL", "Medicinsk vagtlag", "SUH", "+4540300000", "+4540300099", POOL_PHONE)
WARD_A = DepartmentInfo("SJ-MEDA", "Medicinsk A", "SUH", "+4540400001", "+4540400000", oncall_pool=POOL.code)
WARD_B = DepartmentInfo("SJ-MEDB", "Medicinsk B", "SUH", "+4540500001", "+4540500000", oncall_pool=POOL.code)
POOL_SHIFTS = (
    ShiftInfo(
        Role.ONCALL, parse_time("2026-11-23 15:00"), parse_time("2026-11-24 08:00"), POOL_DOCTOR, "Pia"
    ),
    ShiftInfo(
        Role.BACKUP, parse_time("2026-11-23 15:00"), parse_time("2026-11-24 08:00"), POOL_BACKUP, "Per"
    ),
)
OWN_SHIFTS = {
    WARD_A.code: (
        ShiftInfo(
            Role.DAY, parse_time("2026-11-23 08:00"), parse_time("2026-11-23 15:00"), "+4540400011", "Ada"
        ),
        ShiftInfo(
            Role.ONCALL, parse_time("2026-11-23 15:00"), parse_time("2026-11-24 08:00"), "+4540400012", "X"
        ),
    ),
    WARD_B.code: (
        ShiftInfo(
            Role.DAY, parse_time("2026-11-23 08:00"), parse_time("2026-11-23 15:00"), "+4540500011", "Bea"
        ),
    ),
}


def pooled_chain(ward: DepartmentInfo, now: datetime) -> list[tuple[str, str, str]]:
    decision = decide(
        discharges=[discharged(ward.code)],
        departments={ward.code: ward, POOL.code: POOL},
        shifts=OWN_SHIFTS[ward.code],
        pool_shifts=POOL_SHIFTS,
        calendar=Calendar(),
        now=now,
        window=timedelta(hours=72),
        fallback_number=FALLBACK,
        after_hours_number="+4570131813",
    )
    return [(t.number, t.label, t.pool) for t in decision.targets]


@pytest.mark.parametrize(
    ("ward", "now", "expected"),
    (
        pytest.param(
            WARD_A,
            MONDAY_22,
            [
                (POOL_DOCTOR, "oncall", POOL.code),
                (POOL_PHONE, "department_oncall", POOL.code),
                (POOL_BACKUP, "backup", POOL.code),
                (WARD_A.switchboard_phone, "switchboard", ""),
                (FALLBACK, "fallback", ""),
            ],
            id="ward-A-at-night:the-pool",
        ),
        pytest.param(
            WARD_B,
            MONDAY_22,
            [
                (POOL_DOCTOR, "oncall", POOL.code),
                (POOL_PHONE, "department_oncall", POOL.code),
                (POOL_BACKUP, "backup", POOL.code),
                (WARD_B.switchboard_phone, "switchboard", ""),
                (FALLBACK, "fallback", ""),
            ],
            id="ward-B-at-night:the-same-pool",
        ),
        pytest.param(
            WARD_A,
            MONDAY_10,
            [
                ("+4540400011", "day", ""),
                (WARD_A.day_phone, "department_day", ""),
                (WARD_A.switchboard_phone, "switchboard", ""),
                (FALLBACK, "fallback", ""),
            ],
            id="ward-A-by-day:its-own",
        ),
        pytest.param(
            WARD_B,
            MONDAY_10,
            [
                ("+4540500011", "day", ""),
                (WARD_B.day_phone, "department_day", ""),
                (WARD_B.switchboard_phone, "switchboard", ""),
                (FALLBACK, "fallback", ""),
            ],
            id="ward-B-by-day:its-own",
        ),
    ),
)
def test_a_pool_answers_two_departments_at_night_and_each_its_own_by_day(
    ward: DepartmentInfo, now: datetime, expected: list[tuple[str, str, str]]
) -> None:
    assert pooled_chain(ward, now) == expected


NIGHT = (parse_time("2026-11-23 15:00"), parse_time("2026-11-24 08:00"))


@pytest.mark.parametrize(
    ("pool_shifts", "gap_wards"),
    (
        pytest.param((), [WARD_A.code, WARD_B.code], id="nobody-in-the-pool:both-nights-are-gaps"),
        pytest.param(POOL_SHIFTS[:1], [], id="the-pools-on-call-doctor-closes-both"),
        pytest.param(POOL_SHIFTS[1:], [WARD_A.code, WARD_B.code], id="a-pool-backup-closes-nothing"),
    ),
)
def test_a_pool_gap_at_night_is_a_gap_of_every_department_that_uses_it(
    pool_shifts: tuple[ShiftInfo, ...], gap_wards: list[str]
) -> None:
    pool = DepartmentInfo(
        POOL.code, POOL.name, POOL.hospital, POOL.day_phone, POOL.switchboard_phone
    )  # no phone
    found = []
    for ward in (WARD_A, WARD_B):
        # Ward A's own on-call doctor does not count: its nights are the pool's.
        stretches = coverage(
            ward,
            Calendar(),
            apply_overrides(OWN_SHIFTS[ward.code], []),
            *NIGHT,
            pool=pool,
            pool_covers=apply_overrides(pool_shifts, []),
        )
        assert {s.pool for s in stretches} == {pool.code}
        found += [(g.department, g.start, g.end, g.pool) for g in gaps(ward.code, stretches)]
    assert found == [(code, *NIGHT, pool.code) for code in gap_wards]


def test_a_nurse_shift_never_closes_a_gap() -> None:
    nurse = ShiftInfo(Role.NURSE, *NIGHT, NURSE, "Nina")
    stretches = coverage(KOGE, Calendar(), apply_overrides([nurse], []), *NIGHT)
    assert [(g.start, g.end) for g in gaps(KOGE.code, stretches)] == [NIGHT]


# --- Stored: the files, whole calls, who answers now, the coverage pages ------------------------

AGREEMENTS_TOML = """
[agreement.SJ]
name = "Region Sjælland"
line_name = "96-timers-linjen"
window_hours = 96
nurse_first = true
after_hours_number = "+45 70 15 18 18"
fallback_number = "+45 56 51 00 00"
"""
HEADER = "code,name,hospital,day_phone,oncall_phone,switchboard_phone,agreement,oncall_pool\n"
DEPARTMENTS_CSV = HEADER + (
    "SJ-MEDPOOL,Medicinsk vagtlag,SUH,+4540300000,,+4540300099,SJ,\n"
    "SJ-MEDA,Medicinsk Afdeling A,SUH,+4540400001,,+4540400000,SJ,SJ-MEDPOOL\n"
    "SJ-MEDB,Medicinsk Afdeling B,SUH,+4540500001,,+4540500000,SJ,SJ-MEDPOOL\n"
)


def cli_import(runner: FlaskCliRunner, tmp_path: Path, kind: str, name: str, content: str) -> Result:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return runner.invoke(args=["import", kind, str(path)])


@pytest.fixture
def pooled(
    app: Flask, runner: FlaskCliRunner, session: Session, tmp_path: Path, clock: Clock
) -> dict[str, Department]:
    """Zealand with nurse-first; two wards taking their nights from SJ-MEDPOOL; a home nurse and a GP."""
    assert cli_import(runner, tmp_path, "agreements", "agreements.toml", AGREEMENTS_TOML).exit_code == 0
    result = cli_import(runner, tmp_path, "departments", "departments.csv", DEPARTMENTS_CSV)
    assert result.exit_code == 0, result.output
    found = {d.code: d for d in session.scalars(select(Department))}
    f.caller(session)  # Hjemmesygeplejen Valby, home_nursing
    f.caller(session, phone="+4532509090", code="4712", organisation="Lægerne i Køge", kind="gp")
    ward = found["SJ-MEDA"]
    f.shift(session, ward, "nurse", "2026-11-23 07:00", "2026-11-23 23:00", NURSE, "Nina Sygeplejerske")
    f.shift(session, ward, "day", "2026-11-23 08:00", "2026-11-23 15:00", DOCTOR, "Dan Læge")
    f.shift(
        session, found["SJ-MEDPOOL"], "oncall", "2026-11-23 15:00", "2026-11-24 08:00", POOL_DOCTOR, "Pia"
    )
    f.discharge(app, session, ward, "2026-11-22T10:00:00+01:00", destination="home_nursing")
    session.commit()
    return found


@pytest.mark.parametrize(
    ("caller", "answers", "first", "never"),
    (
        pytest.param("+4532501010", {NURSE: "1"}, NURSE, None, id="home-nurse:the-wards-nurse-first"),
        pytest.param("+4532509090", {DOCTOR: "1"}, DOCTOR, NURSE, id="gp:the-doctor-and-never-the-nurse"),
    ),
)
def test_a_whole_call_rings_the_nurse_first_for_a_home_nurse_and_the_doctor_for_a_gp(
    app: Flask,
    session: Session,
    clock: Clock,
    pooled: dict[str, Department],
    caller: str,
    answers: dict[str, str],
    first: str,
    never: str | None,
) -> None:
    clock.set("2026-11-23 10:00")
    trace = play_call(app, caller, ScriptedPhone([f.CPR_ACTIVE, "1"], answers))
    assert trace.rung[0] == first and trace.connected_to == first
    assert never not in trace.rung
    # A nurse on the rota is a person: she must press 1 before she hears anything of the call.
    assert trace.rings[0].whisper[0] == "Et opkald på 96-timers-linjen. Tryk 1 for at tage imod opkaldet."
    contact = session.scalars(select(Contact)).one()
    assert (contact.outcome, contact.route) == ("connected", "responsibility")


def test_a_whole_call_at_night_rings_the_pools_doctor_who_hears_the_patients_own_department(
    app: Flask, session: Session, clock: Clock, pooled: dict[str, Department]
) -> None:
    clock.set("2026-11-23 23:30")  # the ward's nurse has gone home; on call: the pool
    trace = play_call(app, "+4532509090", ScriptedPhone([f.CPR_ACTIVE, "1"], {POOL_DOCTOR: "1"}))
    assert trace.rung == [POOL_DOCTOR] and trace.connected_to == POOL_DOCTOR
    told = trace.rings[0].whisper
    assert told[0] == "Et opkald på 96-timers-linjen. Tryk 1 for at tage imod opkaldet."
    assert "ringer om en patient fra Medicinsk Afdeling A, født 1. januar 1940" in told[1]
    contact = session.scalars(select(Contact)).one()
    assert contact.department.code == "SJ-MEDA"
    assert [t["number"] for t in contact.targets] == [POOL_DOCTOR, "+4540400000", "+4556510000"]


@pytest.mark.parametrize(
    ("rows", "message"),
    (
        pytest.param(
            "SJ-MEDA,Medicinsk A,SUH,+4540400001,,+4540400000,SJ,SJ-NOPE\n",
            "3: oncall_pool: no department 'SJ-NOPE' to take the on-call chain from",
            id="unknown-department",
        ),
        pytest.param(
            "SJ-MEDA,Medicinsk A,SUH,+4540400001,,+4540400000,SJ,SJ-MEDA\n",
            "3: oncall_pool: a department cannot be its own on-call pool",
            id="itself",
        ),
        pytest.param(
            "SJ-MEDA,Medicinsk A,SUH,+4540400001,,+4540400000,SJ,SJ-MEDPOOL\n"
            "SJ-MEDB,Medicinsk B,SUH,+4540500001,,+4540500000,SJ,SJ-MEDA\n",
            "4: oncall_pool: SJ-MEDA takes its own on-call from SJ-MEDPOOL: a pool must have an on-call "
            "chain of its own (no pools of pools)",
            id="pool-of-a-pool",
        ),
    ),
)
def test_a_bad_oncall_pool_is_refused_naming_the_row_and_nothing_is_stored(
    runner: FlaskCliRunner, session: Session, tmp_path: Path, rows: str, message: str
) -> None:
    assert cli_import(runner, tmp_path, "agreements", "agreements.toml", AGREEMENTS_TOML).exit_code == 0
    pool = "SJ-MEDPOOL,Medicinsk vagtlag,SUH,+4540300000,,+4540300099,SJ,\n"
    result = cli_import(runner, tmp_path, "departments", "departments.csv", HEADER + pool + rows)
    assert result.exit_code == 1
    assert any(line.endswith(message) or message in line for line in result.stderr.splitlines()), (
        result.stderr
    )
    assert session.scalars(select(Department)).all() == []


def test_a_pool_department_cannot_take_a_pool_itself(
    runner: FlaskCliRunner, session: Session, tmp_path: Path, pooled: dict[str, Department]
) -> None:
    again = HEADER + (
        "SJ-KIR,Kirurgisk vagtlag,SUH,+4540600000,+4540600009,+4540600099,SJ,\n"
        "SJ-MEDPOOL,Medicinsk vagtlag,SUH,+4540300000,,+4540300099,SJ,SJ-KIR\n"
    )
    result = cli_import(runner, tmp_path, "departments", "again.csv", again)
    assert result.exit_code == 1
    assert (
        "again.csv:3: oncall_pool: SJ-MEDPOOL is the on-call pool of SJ-MEDA, SJ-MEDB: "
        "a pool takes no pool itself" in result.stderr
    )


def test_agreements_show_says_nursing_callers_get_the_nurses_first(
    runner: FlaskCliRunner, pooled: dict[str, Department]
) -> None:
    result = runner.invoke(args=["agreements", "show", "SJ"])
    assert (
        "  who answers: nursing callers the department's nurses first, doctors the doctors" in result.stdout
    )


def test_who_answers_now_shows_the_pool_answering_at_night(
    app: Flask, session: Session, pooled: dict[str, Department]
) -> None:
    token = add_token(session, "switchboard", ["read"], MONDAY_10)[1]
    f.user(session, "region@x.dk", "region")
    session.commit()
    client = app.test_client()
    response = client.get(
        "/api/v1/departments/SJ-MEDB/oncall?at=2026-11-23T22:00", headers={"Authorization": f"Bearer {token}"}
    )
    body = response.get_json()
    assert body["gap"] is False
    assert [(t["number"], t["label"], t["name"], t["pool"]) for t in body["targets"]] == [
        (POOL_DOCTOR, "oncall", "Pia", "SJ-MEDPOOL"),
        ("+4540500000", "switchboard", "", None),
        ("+4556510000", "fallback", "", None),
    ]
    log_in(client, "region@x.dk")
    page = client.get("/?at=2026-11-23T22:00").get_data(as_text=True)
    card = page[page.index('aria-label="SJ-MEDB"') :]
    card = card[: card.index("</section>")]
    assert POOL_DOCTOR in card and "vagthavende · Pia · fælles vagtlag SJ-MEDPOOL" in card


def test_who_answers_now_shows_the_nurse_a_nursing_caller_reaches_first(
    app: Flask, session: Session, pooled: dict[str, Department]
) -> None:
    token = add_token(session, "switchboard", ["read"], MONDAY_10)[1]
    f.user(session, "region@x.dk", "region")
    session.commit()
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    body = client.get("/api/v1/departments/SJ-MEDA/oncall?at=2026-11-23T10:00", headers=auth).get_json()
    assert [(t["number"], t["name"]) for t in body["nurses_first"]] == [(NURSE, "Nina Sygeplejerske")]
    assert NURSE not in [t["number"] for t in body["targets"]]  # the doctors' chain, as a GP's call rings
    assert body["agreement"] == "SJ"
    # The next morning the nurse's shift has ended: nobody is shown first.
    later = client.get("/api/v1/departments/SJ-MEDA/oncall?at=2026-11-24T10:00", headers=auth).get_json()
    assert later["nurses_first"] == []
    log_in(client, "region@x.dk")
    page = client.get("/?at=2026-11-23T10:00").get_data(as_text=True)
    card = page[page.index('aria-label="SJ-MEDA"') :]
    card = card[: card.index("</section>")]
    assert "Sygeplejefaglige opkald når først sygeplejersken:" in card and "Nina Sygeplejerske" in card


def test_the_pools_empty_night_is_a_gap_of_both_wards_and_its_shift_closes_them(
    app: Flask, session: Session, pooled: dict[str, Department]
) -> None:
    calendar = app.config["POLICY"].calendar
    start, end = parse_time("2026-11-24 15:00"), parse_time("2026-11-25 08:00")  # nobody on the pool's rota
    wards = ["SJ-MEDA", "SJ-MEDB"]
    found = find_gaps(session, calendar, start, end - start, wards)
    assert [(g.department, g.pool) for g in found] == [("SJ-MEDA", "SJ-MEDPOOL"), ("SJ-MEDB", "SJ-MEDPOOL")]
    f.shift(
        session, pooled["SJ-MEDPOOL"], "oncall", "2026-11-24 15:00", "2026-11-25 08:00", POOL_DOCTOR, "Pia"
    )
    session.commit()
    assert find_gaps(session, calendar, start, end - start, wards) == []
    (ward,) = department_coverage(session, calendar, start, end, ["SJ-MEDA"])
    assert [(s.pool, [p.name for p in s.people]) for s in ward.stretches] == [("SJ-MEDPOOL", ["Pia"])]


@pytest.mark.parametrize(
    ("pool_night_in_the_file", "gaps_seen"),
    (
        pytest.param(False, [("SJ-MEDA", "2026-11-24 15:00")], id="the-pools-published-rota:monday-covered"),
        pytest.param(True, [], id="the-pools-night-in-the-same-file"),
    ),
)
def test_a_pooled_wards_rota_is_checked_against_its_pools_nights(
    app: Flask,
    session: Session,
    clock: Clock,
    pooled: dict[str, Department],
    pool_night_in_the_file: bool,
    gaps_seen: list,
) -> None:
    from app.services.rota import review_rota
    from app.values.times import local_minute

    clock.set("2026-11-23 07:00")
    days = [
        ShiftRecord(
            "SJ-MEDA", Role.DAY, parse_time(f"2026-11-{d} 08:00"), parse_time(f"2026-11-{d} 15:00"), DOCTOR
        )
        for d in (23, 24, 25)
    ]
    # The ward's own rota has no nights: Monday's is the pool's (published), Tuesday's nobody's.
    pool_night = ShiftRecord(
        "SJ-MEDPOOL", Role.ONCALL, parse_time("2026-11-24 15:00"), parse_time("2026-11-25 08:00"), POOL_DOCTOR
    )
    records = days + ([pool_night] if pool_night_in_the_file else [])
    review = review_rota(session, app.config["POLICY"], records, clock())
    assert [(g.department, local_minute(g.start)) for g in review.gaps] == gaps_seen


def test_linje72_coverage_names_the_pool_of_each_wards_gap(
    runner: FlaskCliRunner, pooled: dict[str, Department]
) -> None:
    result = runner.invoke(
        args=["coverage", "--days", "1", "--at", "2026-11-24T15:00", "--department", "SJ-MEDB"]
    )
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == (
        "SJ-MEDB  oncall  2026-11-24 15:00 to 2026-11-25 08:00  17 h  (on-call pool SJ-MEDPOOL)"
    )
