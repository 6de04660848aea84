"""The decision under each regional agreement: window, age, residence, short stays, psychiatry, half days."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.data.models import Agreement as StoredAgreement
from app.data.models import Caller, Contact, Department
from app.values.times import parse_time
from ivr.simulator import ScriptedPhone, play_call
from routing import (
    Agreement,
    Calendar,
    DepartmentInfo,
    DischargeInfo,
    Period,
    Role,
    Route,
    ShiftInfo,
    decide,
    periods,
)
from routing.agreement import municipality_key
from routing.calendar import COPENHAGEN
from tests import factories as f
from tests.support import AFTER_HOURS, FALLBACK, Clock

CAPITAL = Agreement(
    code="RH",
    name="Region Hovedstaden",
    after_hours_number="+4570131813",
    fallback_number="+4538640000",
)
ZEALAND = Agreement(
    code="SJ",
    name="Region Sjælland",
    line_name="96-timers-linjen",
    after_hours_number="+4570151818",
    fallback_number="+4556510000",
    window=timedelta(hours=96),
    min_age=18,
    municipalities=frozenset({"Roskilde", "Køge", "Næstved"}),
    psychiatry=True,
    nursing_home_short_stays=True,
    # 5 June: open until noon, on call from 12:00 (not closed all day as in the Capital Region).
    calendar=Calendar(closed_days=frozenset({(12, 24), (12, 31)}), half_days=frozenset({(6, 5, time(12))})),
)
KARD = DepartmentInfo("RH-KARD", "Kardiologi", "Rigshospitalet", "+4531102001", "+4531100000", "+4531102009")
KOGE = DepartmentInfo("SJ-KOGE", "Medicinsk", "Sjællands Universitetshospital", "+4547320001", "+4547320000")
PSYK = DepartmentInfo(
    "RH-PSYK", "Psykiatri", "Psykiatrisk Center", "+4538640100", "+4538640101", psychiatric=True
)
PSYK_SJ = DepartmentInfo(
    "SJ-PSYK", "Psykiatri", "Psykiatrien Sjælland", "+4558531000", "+4558531001", psychiatric=True
)
AGREEMENTS = {"RH-KARD": CAPITAL, "RH-PSYK": CAPITAL, "SJ-KOGE": ZEALAND, "SJ-PSYK": ZEALAND}
DEPARTMENTS = {d.code: d for d in (KARD, KOGE, PSYK, PSYK_SJ)}
DISCHARGED = parse_time("2026-11-20 10:00")  # a Friday
ADULT = date(1940, 1, 1)


def stay(
    department: DepartmentInfo,
    *,
    hours: float = 120,
    destination: str = "nursing_home",
    municipality: str | None = "Køge",
    kind: str = "inpatient",
) -> DischargeInfo:
    return DischargeInfo(
        id="S1",
        department_code=department.code,
        discharged_at=DISCHARGED,
        admitted_at=DISCHARGED - timedelta(hours=hours),
        destination=destination,
        municipality=municipality,
        kind=kind,
    )


def run(stays: list[DischargeInfo], after: float, born: date | None = ADULT) -> tuple[Route, str | None]:
    decision = decide(
        discharges=stays,
        departments=DEPARTMENTS,
        shifts=(),
        calendar=Calendar(),
        now=DISCHARGED + timedelta(hours=after),
        window=timedelta(hours=72),
        fallback_number="+4500000000",
        after_hours_number="+4511111111",
        agreements=AGREEMENTS,
        born=born,
    )
    return decision.route, decision.targets[0].number


@pytest.mark.parametrize(
    ("stays", "after", "born", "route"),
    (
        pytest.param([stay(KARD)], 80, ADULT, Route.NO_RESPONSIBILITY, id="80h-after:-closed-under-72"),
        pytest.param([stay(KOGE)], 80, ADULT, Route.RESPONSIBILITY, id="80h-after:-open-under-96"),
        pytest.param([stay(KOGE)], 97, ADULT, Route.NO_RESPONSIBILITY, id="97h-after:-closed-under-96"),
        pytest.param([stay(KOGE)], 10, date(2009, 6, 1), Route.NO_RESPONSIBILITY, id="17-in-an-adults-only"),
        pytest.param([stay(KARD)], 10, date(2009, 6, 1), Route.RESPONSIBILITY, id="17-where-every-age-is"),
        pytest.param([stay(KOGE)], 10, None, Route.RESPONSIBILITY, id="age-not-known:-not-excluded"),
        pytest.param(
            [stay(KOGE, municipality="Odense")],
            10,
            ADULT,
            Route.NO_RESPONSIBILITY,
            id="outside-the-municipalities",
        ),
        pytest.param(
            [stay(KARD, municipality="Odense")], 10, ADULT, Route.RESPONSIBILITY, id="every-resident"
        ),
        pytest.param(
            [stay(KOGE, municipality="Køge Kommune")],
            10,
            ADULT,
            Route.RESPONSIBILITY,
            id="a-feed-naming-the-municipalitys-organisation",
        ),
        pytest.param(
            [stay(KOGE, municipality="Københavns Kommune")],
            10,
            ADULT,
            Route.NO_RESPONSIBILITY,
            id="københavns-kommune-is-outside-zealand",
        ),
        pytest.param(
            [stay(KARD, hours=20)], 10, ADULT, Route.NO_RESPONSIBILITY, id="20h-stay-without-exception"
        ),
        pytest.param(
            [stay(KOGE, hours=20)], 10, ADULT, Route.RESPONSIBILITY, id="20h-nursing-home-stay-exception"
        ),
        pytest.param(
            [stay(KOGE, hours=20, destination="home_nursing")],
            10,
            ADULT,
            Route.NO_RESPONSIBILITY,
            id="20h-stay-not-to-a-nursing-home",
        ),
        pytest.param(
            [stay(KOGE, hours=5, kind="emergency")],
            10,
            ADULT,
            Route.RESPONSIBILITY,
            id="emergency-nursing-home-stay",
        ),
        pytest.param(
            [stay(KARD, hours=5, kind="emergency")],
            10,
            ADULT,
            Route.NO_RESPONSIBILITY,
            id="emergency-elsewhere",
        ),
        pytest.param([stay(PSYK)], 10, ADULT, Route.NO_RESPONSIBILITY, id="psychiatry-outside-the-capital"),
        pytest.param([stay(PSYK_SJ)], 10, ADULT, Route.RESPONSIBILITY, id="psychiatry-in-zealand"),
    ),
)
def test_the_window_and_who_is_covered_follow_the_departments_agreement(
    stays: list[DischargeInfo], after: float, born: date | None, route: Route
) -> None:
    assert run(stays, after, born)[0] is route


def test_the_agreements_own_numbers_are_rung_when_no_window_is_open() -> None:
    # Friday 20:00, outside GP hours: the agreement's after-hours line, not the default.
    assert run([stay(KOGE)], 200) == (Route.NO_RESPONSIBILITY, ZEALAND.after_hours_number)
    assert run([stay(KARD)], 200) == (Route.NO_RESPONSIBILITY, CAPITAL.after_hours_number)


@pytest.mark.parametrize(
    ("agreement", "at", "period"),
    (
        (ZEALAND, "2026-06-05 11:00", Period.DAY),
        (ZEALAND, "2026-06-05 13:00", Period.ONCALL),  # the half day: on call from noon
        (CAPITAL, "2026-06-05 11:00", Period.ONCALL),  # closed all day
        (CAPITAL, "2026-06-04 13:00", Period.DAY),
    ),
)
def test_5_june_is_a_half_day_in_one_agreement_and_closed_in_the_other(
    agreement: Agreement, at: str, period: Period
) -> None:
    assert agreement.calendar.period(parse_time(at)) is period


def test_a_half_day_cuts_the_coverage_periods_too() -> None:
    day = [
        (s, p)
        for s, _, p in periods(
            ZEALAND.calendar, parse_time("2026-06-05 00:00"), parse_time("2026-06-06 00:00")
        )
    ]
    assert [(s.astimezone(ZEALAND.calendar.zone).time(), p) for s, p in day] == [
        (time(0), Period.ONCALL),
        (time(8), Period.DAY),
        (time(12), Period.ONCALL),
    ]


def test_an_inpatient_in_a_zealand_department_falls_back_to_zealands_own_line() -> None:
    admitted = DischargeInfo("S2", "SJ-KOGE", None, None, admitted_at=DISCHARGED)
    decision = decide(
        discharges=[admitted],
        departments=DEPARTMENTS,
        shifts=(),
        calendar=Calendar(),
        now=DISCHARGED + timedelta(hours=2),
        window=timedelta(hours=72),
        fallback_number="+4500000000",
        after_hours_number="+4511111111",
        agreements=AGREEMENTS,
    )
    assert decision.route is Route.INPATIENT
    assert decision.targets[-1].number == ZEALAND.fallback_number


def test_a_birthday_on_the_discharge_day_counts() -> None:
    eighteen_today = date(2008, 11, 20)
    assert ZEALAND.covers_patient(eighteen_today, "Køge", DISCHARGED)
    assert not ZEALAND.covers_patient(date(2008, 11, 21), "Køge", DISCHARGED)
    assert ZEALAND.covers_patient(ADULT, "køge", datetime(2026, 11, 20, 9, 0, tzinfo=DISCHARGED.tzinfo))


# --- Stored agreements: the file, the departments, a whole call, the command ------------------

AGREEMENTS_TOML = """
[agreement.SJ]
name = "Region Sjælland"
line_name = "96-timers-linjen"
window_hours = 96
min_age = 18
municipalities = ["Roskilde", "Køge"]
psychiatry = true
nursing_home_short_stays = true
after_hours_number = "+45 70 15 18 18"
fallback_number = "+45 56 51 00 00"
closed_days = ["12-24", "12-31"]
half_days = { "06-05" = "12:00" }
"""
DEPARTMENTS_CSV = (
    "code,name,hospital,day_phone,oncall_phone,switchboard_phone,agreement,psychiatric\n"
    "SJ-KOGE,Medicinsk Afdeling,Sjællands Universitetshospital,+4547320001,+4547320009,+4547320000,SJ,no\n"
    "RH-KARD,Kardiologi,Rigshospitalet,+4531102001,+4531102009,+4531100000,,no\n"
)


def cli_import(runner: FlaskCliRunner, tmp_path: Path, kind: str, name: str, content: str) -> Result:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return runner.invoke(args=["import", kind, str(path)])


def test_a_bad_agreements_file_is_refused_naming_each_key_and_nothing_is_stored(
    runner: FlaskCliRunner, session: Session, tmp_path: Path
) -> None:
    bad = (
        AGREEMENTS_TOML.replace("window_hours = 96", 'window_hours = "96"').replace(
            '"+45 70 15 18 18"', '"1818"'
        )
        + "colour = 'green'\n"
    )
    result = cli_import(runner, tmp_path, "agreements", "agreements.toml", bad)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert any(
        line.endswith("agreement.SJ.window_hours: must be a whole number of at least 1") for line in lines
    )
    assert any("agreement.SJ.after_hours_number:" in line and "not 1813" in line for line in lines)
    assert any("agreement.SJ.colour: unknown key" in line for line in lines)
    assert session.scalars(select(StoredAgreement)).all() == []


def test_a_department_of_an_unknown_agreement_is_refused(runner: FlaskCliRunner, tmp_path: Path) -> None:
    result = cli_import(runner, tmp_path, "departments", "departments.csv", DEPARTMENTS_CSV)
    assert result.exit_code == 1
    assert (
        f"{tmp_path / 'departments.csv'}:2: agreement: no agreement 'SJ' (import agreements first)"
        in result.stderr
    )


@pytest.fixture
def two_agreements(
    app: Flask, runner: FlaskCliRunner, session: Session, tmp_path: Path, clock: Clock
) -> None:
    """Zealand's agreement for SJ-KOGE; RH-KARD under the deployment's settings; a home nurse."""
    assert cli_import(runner, tmp_path, "agreements", "agreements.toml", AGREEMENTS_TOML).exit_code == 0
    assert cli_import(runner, tmp_path, "departments", "departments.csv", DEPARTMENTS_CSV).exit_code == 0
    f.caller(session)
    session.commit()


@pytest.mark.parametrize(
    ("department", "first", "route"),
    (
        ("SJ-KOGE", "+4547320009", "responsibility"),  # 80 hours: open under Zealand's 96; its on-call phone
        ("RH-KARD", AFTER_HOURS, "no_responsibility"),  # closed under the default 72: the after-hours line
    ),
)
@pytest.mark.usefixtures("two_agreements")
def test_a_call_80_hours_after_discharge_follows_the_discharging_departments_agreement(
    app: Flask, session: Session, clock: Clock, department: str, first: str, route: str
) -> None:
    dept = session.scalars(select(Department).where(Department.code == department)).one()
    f.discharge(app, session, dept, "2026-11-20T10:00:00+01:00")
    session.commit()
    clock.set("2026-11-23 18:00")  # Monday evening, 80 hours later
    trace = play_call(app, "+4532501010", ScriptedPhone([f.CPR_ACTIVE, "1"], {"+4547320009": "1"}))
    contact = session.scalars(select(Contact)).one()
    assert (contact.route, contact.targets[0]["number"]) == (route, first)
    if route == "responsibility":
        assert trace.connected_to == first
        # The department's staff hear the line by its agreement's name.
        assert trace.rings[0].whisper[0] == "Et opkald på 96-timers-linjen. Tryk 1 for at tage imod opkaldet."


@pytest.mark.usefixtures("two_agreements")
def test_agreements_show_prints_the_effective_rules_and_the_departments(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["agreements", "show", "SJ"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "SJ: Region Sjælland (96-timers-linjen)",
        "  window: 96 hours after discharge",
        "  ages: 18 and over",
        "  residents of: Køge, Roskilde",
        "  stays shorter than 24 hours open nothing; nursing-home residents' short stays included",
        "  psychiatric departments: included",
        "  who answers: every caller the doctors",
        "  after-hours line: +4570151818; fallback: +4556510000",
        "  day hours: 08:00-15:00; closed days: 12-24, 12-31; half days: 06-05 from 12:00",
        "  departments: SJ-KOGE",
    ]
    assert runner.invoke(args=["agreements", "show", "XX"]).exit_code == 2


@pytest.mark.usefixtures("two_agreements")
def test_coverage_follows_the_agreements_calendar_on_5_june(app: Flask, session: Session) -> None:
    from app.services.coverage import find_gaps

    for code in ("SJ-KOGE", "RH-KARD"):  # neither has its own on-call phone now: its nights need a doctor
        session.scalars(select(Department).where(Department.code == code)).one().oncall_phone = None
    session.commit()
    friday = parse_time("2026-06-05 06:00")  # 5 June 2026 is a Friday
    found = find_gaps(session, app.config["POLICY"].calendar, friday, timedelta(hours=10))
    zone = CAPITAL.calendar.zone
    spans = [
        (g.department, f"{g.start.astimezone(zone):%H:%M}-{g.end.astimezone(zone):%H:%M}") for g in found
    ]
    # Zealand's half day: open until noon, so its gaps are the early morning and from noon on. The
    # configuration's 5 June is closed all day: one gap from 06:00 to 16:00.
    assert spans == [("RH-KARD", "06:00-16:00"), ("SJ-KOGE", "06:00-08:00"), ("SJ-KOGE", "12:00-16:00")]


# --- the agreement's wording in the caller's own prompts ----------------------------------


@pytest.mark.parametrize(
    ("caller_agreement", "language", "greeting"),
    (
        ("SJ", "da", "Velkommen til 96-timers-linjen, Hjemmesygeplejen Køge."),
        (None, "da", "Velkommen til 72-timers-linjen, Hjemmesygeplejen Køge."),
        ("SJ", "en", "Welcome to the 96-hour line, Hjemmesygeplejen Køge."),
    ),
)
@pytest.mark.usefixtures("two_agreements")
def test_the_greeting_names_the_line_as_the_callers_agreement_does(
    app: Flask, session: Session, clock: Clock, caller_agreement: str | None, language: str, greeting: str
) -> None:
    f.caller(
        session,
        phone="+4556630000",
        code="5120",
        organisation="Hjemmesygeplejen Køge",
        agreement=caller_agreement,
        language=language,
    )
    session.commit()
    clock.set("2026-11-23 18:00")
    trace = play_call(app, "+4556630000", ScriptedPhone([]))
    assert trace.said[0] == greeting


@pytest.mark.parametrize(
    ("department", "language", "read_back"),
    (
        # 100 hours after discharge: past both windows, and each read-back names its own.
        ("SJ-KOGE", "da", "Der er intet aktivt 96-timers behandlingsansvar for patienten."),
        ("RH-KARD", "da", "Der er intet aktivt 72-timers behandlingsansvar for patienten."),
        ("SJ-KOGE", "en", "There is no active 96-hour treatment responsibility for this patient."),
    ),
)
@pytest.mark.usefixtures("two_agreements")
def test_the_read_back_names_the_window_of_the_discharging_departments_agreement(
    app: Flask, session: Session, clock: Clock, department: str, language: str, read_back: str
) -> None:
    dept = session.scalars(select(Department).where(Department.code == department)).one()
    f.discharge(app, session, dept, "2026-11-20T10:00:00+01:00")
    session.execute(Caller.__table__.update().values(language=language))
    session.commit()
    clock.set("2026-11-24 14:00")  # Tuesday afternoon, 100 hours later
    trace = play_call(app, "+4532501010", ScriptedPhone([f.CPR_ACTIVE, "1"]))
    assert any(line.startswith(read_back) for line in trace.said), trace.said


@pytest.mark.usefixtures("two_agreements")
def test_a_caller_of_an_unknown_agreement_is_refused_in_the_callers_file(
    runner: FlaskCliRunner, session: Session, tmp_path: Path
) -> None:
    text = (
        "phone,organisation,kind,code,language,agreement\n"
        "+4556630000,Hjemmesygeplejen Køge,home_nursing,5120,da,SJ\n"
        "+4556630001,Hjemmesygeplejen Nykøbing,home_nursing,5121,da,NF\n"
    )
    result = cli_import(runner, tmp_path, "callers", "callers.csv", text)
    assert result.exit_code == 1
    assert f"{tmp_path / 'callers.csv'}:3: agreement: no agreement 'NF' (import agreements first)" in (
        result.stderr
    )
    assert session.scalar(select(Caller).where(Caller.code == "5120")) is None
    good = text.splitlines()[:2]
    assert cli_import(runner, tmp_path, "callers", "callers.csv", "\n".join(good) + "\n").exit_code == 0
    session.rollback()  # read what the command stored
    assert session.scalar(select(Caller.agreement).where(Caller.code == "5120")) == "SJ"


@pytest.mark.parametrize(
    ("municipality", "route"),
    (("Køge", "responsibility"), ("Odense", "no_responsibility"), (None, "responsibility")),
)
@pytest.mark.usefixtures("two_agreements")
def test_a_call_about_a_patient_from_outside_zealands_municipalities_finds_no_window(
    app: Flask, session: Session, clock: Clock, municipality: str | None, route: str
) -> None:
    """The stored discharge's municipality reaches the decision (a feed that gives none excludes no one)."""
    dept = session.scalars(select(Department).where(Department.code == "SJ-KOGE")).one()
    f.discharge(app, session, dept, "2026-11-23T10:00:00+01:00", municipality=municipality)
    session.commit()
    clock.set("2026-11-23 18:00")
    play_call(app, "+4532501010", ScriptedPhone([f.CPR_ACTIVE, "1"]))
    assert session.scalars(select(Contact.route)).one() == route


@pytest.mark.parametrize(
    ("given", "listed", "same"),
    (
        ("Køge Kommune", "Køge", True),
        ("KØGE", "Køge", True),
        ("Københavns Kommune", "København", True),
        ("Bornholms Regionskommune", "Bornholm", True),
        ("Stevns Kommune", "Stevns", True),
        ("Høje-Taastrup  Kommune", "Høje-Taastrup", True),
        ("Roskilde", "Køge", False),
        ("Kommune", "Køge", False),
    ),
)
def test_a_municipality_is_known_however_a_feed_names_it(given: str, listed: str, same: bool) -> None:
    assert (municipality_key(given) == municipality_key(listed)) is same


# --- A department's own calendar on top of its agreement's ------------------------------------

# Køge's ward closes at noon on 23 December and all of 2 January (its own calendar); Zealand's
# agreement has 5 June from noon. KARD runs under the Capital Region's calendar (5 June closed).
KOGE_OWN = replace(KOGE, closed_days=frozenset({(1, 2)}), half_days=frozenset({(12, 23, time(12))}))
# An early half day of the department's own on the agreement's half day: the earlier closing wins.
KOGE_EARLY = replace(KOGE, half_days=frozenset({(6, 5, time(10))}))
KARD_OWN = replace(KARD, half_days=frozenset({(6, 4, time(12))}))


@pytest.mark.parametrize(
    ("department", "agreement", "at", "period"),
    (
        pytest.param(KOGE, ZEALAND, "2026-06-05 11:00", Period.DAY, id="agreement-half-day:-morning"),
        pytest.param(KOGE, ZEALAND, "2026-06-05 13:00", Period.ONCALL, id="agreement-half-day:-13:00"),
        pytest.param(KOGE_EARLY, ZEALAND, "2026-06-05 11:00", Period.ONCALL, id="own-earlier-closing-wins"),
        pytest.param(KOGE_EARLY, ZEALAND, "2026-06-05 09:30", Period.DAY, id="own-half-day:-before-10"),
        pytest.param(KARD_OWN, CAPITAL, "2026-06-04 13:00", Period.ONCALL, id="own-half-day:-4-june-13:00"),
        pytest.param(KARD, CAPITAL, "2026-06-04 13:00", Period.DAY, id="no-own-half-day:-4-june-13:00"),
        pytest.param(KOGE_OWN, ZEALAND, "2026-01-02 10:00", Period.ONCALL, id="own-closed-2-january"),
        pytest.param(KOGE, ZEALAND, "2026-01-02 10:00", Period.DAY, id="2-january-without-own-calendar"),
        pytest.param(KOGE_OWN, ZEALAND, "2026-12-23 13:00", Period.ONCALL, id="own-half-day-23-december"),
        pytest.param(KOGE_OWN, ZEALAND, "2026-12-23 11:00", Period.DAY, id="23-december-morning"),
        pytest.param(
            KOGE_OWN, ZEALAND, "2026-06-05 13:00", Period.ONCALL, id="own-calendar-keeps-agreements"
        ),
        pytest.param(KOGE_OWN, ZEALAND, "2026-12-24 10:00", Period.ONCALL, id="agreements-closed-day-kept"),
    ),
)
def test_a_departments_own_calendar_adds_to_its_agreements(
    department: DepartmentInfo, agreement: Agreement, at: str, period: Period
) -> None:
    assert department.calendar_on(agreement.calendar).period(parse_time(at)) is period


@pytest.mark.parametrize(
    ("department", "at", "first"),
    (
        # 2 January 2026, a Friday, 10:00: Køge's ward is closed, so its on-call doctor answers.
        pytest.param(KOGE_OWN, "2026-01-02 10:00", "oncall", id="own-closed-day:-on-call"),
        pytest.param(KOGE, "2026-01-02 10:00", "day", id="same-day-elsewhere:-day"),
    ),
)
def test_the_call_rings_by_the_departments_own_calendar(
    department: DepartmentInfo, at: str, first: str
) -> None:
    now = parse_time(at)
    shifts = (
        ShiftInfo(Role.DAY, now - timedelta(hours=2), now + timedelta(hours=5), "+4540000001"),
        ShiftInfo(Role.ONCALL, now - timedelta(hours=2), now + timedelta(hours=5), "+4540000002"),
    )
    discharged = DischargeInfo("S3", department.code, now - timedelta(hours=5), "nursing_home")
    decision = decide(
        discharges=[discharged],
        departments={department.code: department},
        shifts=shifts,
        calendar=Calendar(),
        now=now,
        window=timedelta(hours=72),
        fallback_number="+4500000000",
        after_hours_number="+4511111111",
        agreements={department.code: ZEALAND},
    )
    assert decision.route is Route.RESPONSIBILITY
    assert decision.targets[0].label == first


# Köge's ward closes at noon on 23 December (its own half day); Kardiologi is closed on 2 January.
OWN_CALENDARS_CSV = (
    "code,name,hospital,day_phone,oncall_phone,switchboard_phone,agreement,closed_days,half_days\n"
    "SJ-KOGE,Medicinsk Afdeling,Sjællands Universitetshospital,+4547320001,+4547320009,+4547320000,SJ,,"
    "12-23 12:00\n"
    "RH-KARD,Kardiologi,Rigshospitalet,+4531102001,+4531102009,+4531100000,,01-02,\n"
)


@pytest.fixture
def own_calendars(app: Flask, runner: FlaskCliRunner, session: Session, tmp_path: Path) -> None:
    """Zealand's agreement; SJ-KOGE under it with its own half day, RH-KARD with its own closed day."""
    assert cli_import(runner, tmp_path, "agreements", "agreements.toml", AGREEMENTS_TOML).exit_code == 0
    result = cli_import(runner, tmp_path, "departments", "departments.csv", OWN_CALENDARS_CSV)
    assert result.exit_code == 0, result.output
    f.caller(session)
    session.commit()


@pytest.mark.parametrize(
    ("department", "at", "rung"),
    (
        # Wednesday 23 December 2026, 13:00: Køge's own half day, so its on-call doctor.
        ("SJ-KOGE", "2026-12-23 13:00", "+4540200002"),
        # The same moment at Kardiologi, which has no half day then: its day doctor.
        ("RH-KARD", "2026-12-23 13:00", "+4540100001"),
        # Friday 2 January 2026, 10:00: Kardiologi's own closed day: its on-call doctor.
        ("RH-KARD", "2026-01-02 10:00", "+4540100002"),
        ("SJ-KOGE", "2026-01-02 10:00", "+4540200001"),
    ),
)
@pytest.mark.usefixtures("own_calendars")
def test_a_call_on_a_departments_own_half_or_closed_day_rings_its_on_call_doctor(
    app: Flask, session: Session, clock: Clock, department: str, at: str, rung: str
) -> None:
    dept = session.scalars(select(Department).where(Department.code == department)).one()
    day = at[:10]
    first = "+45402" if department == "SJ-KOGE" else "+45401"
    f.shift(session, dept, "day", f"{day} 08:00", f"{day} 15:00", f"{first}00001", "Dagvagt")
    f.shift(session, dept, "oncall", f"{day} 00:00", f"{day} 23:59", f"{first}00002", "Vagthavende")
    moment = parse_time(at)
    f.discharge(app, session, dept, (moment - timedelta(hours=20)).isoformat())
    session.commit()
    clock.set(at)
    trace = play_call(app, "+4532501010", ScriptedPhone([f.CPR_ACTIVE, "1"], {rung: "1"}))
    contact = session.scalars(select(Contact)).one()
    assert contact.route == "responsibility"
    assert trace.rings[0].number == rung
    assert trace.connected_to == rung


@pytest.mark.usefixtures("own_calendars")
def test_agreements_show_names_each_departments_own_calendar(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["agreements", "show", "SJ"])
    assert result.stdout.splitlines()[-1] == "  departments: SJ-KOGE (own: half days 12-23 from 12:00)"


@pytest.mark.usefixtures("own_calendars")
def test_who_answers_now_and_the_gaps_follow_a_departments_own_closed_day(
    app: Flask, session: Session
) -> None:
    from app.services.coverage import find_gaps
    from app.services.directory import who_answers

    for code in ("SJ-KOGE", "RH-KARD"):  # no on-call phone of their own: on-call time needs a doctor
        session.scalars(select(Department).where(Department.code == code)).one().oncall_phone = None
    session.commit()
    policy = app.config["POLICY"]
    friday = parse_time("2026-01-02 10:00")  # Friday 2 January 2026: Kardiologi's own closed day
    rows = {row.code: (row.decision.period, row.gap) for row in who_answers(session, policy, friday)}
    assert rows == {"RH-KARD": (Period.ONCALL, True), "SJ-KOGE": (Period.DAY, False)}
    found = [
        (g.department, f"{g.start.astimezone(COPENHAGEN):%H:%M}-{g.end.astimezone(COPENHAGEN):%H:%M}")
        for g in find_gaps(session, policy.calendar, friday, timedelta(hours=5))
    ]
    assert found == [("RH-KARD", "10:00-15:00")]  # Køge has day time until 15:00 as any Friday


@pytest.mark.parametrize(
    ("cells", "problem"),
    (
        (",,13-40,", "closed_days: '13-40' is not a day as MM-DD (e.g. 12-24)"),
        (",,,06-05", "half_days: '06-05' is not a half day as MM-DD HH:MM (e.g. 06-05 12:00)"),
        (",,,06-05 25:00", "half_days: '06-05 25:00' is not a half day as MM-DD HH:MM (e.g. 06-05 12:00)"),
    ),
)
def test_a_bad_own_calendar_in_departments_csv_is_refused_by_row_and_column(
    runner: FlaskCliRunner, session: Session, tmp_path: Path, cells: str, problem: str
) -> None:
    text = (
        "code,name,hospital,day_phone,oncall_phone,switchboard_phone,agreement,closed_days,half_days\n"
        f"RH-KARD,Kardiologi,Rigshospitalet,+4531102001,+4531102009,+4531100000{cells}\n"
    )
    result = cli_import(runner, tmp_path, "departments", "departments.csv", text)
    assert result.exit_code == 1
    assert f"{tmp_path / 'departments.csv'}:2: {problem}" in result.stderr
    assert session.scalars(select(Department)).all() == []


@pytest.mark.usefixtures("two_agreements")
def test_agreements_show_lists_the_deployments_own_settings_first_as_default(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["agreements", "show"])
    assert result.exit_code == 0, result.output
    blocks = result.stdout.split("\n\n")
    default = blocks[0].splitlines()
    assert default[0] == "default: the deployment's own settings (72-timers-linjen)"
    assert "  window: 72 hours after discharge" in default
    assert f"  after-hours line: {AFTER_HOURS}; fallback: {FALLBACK}" in default
    assert default[-1] == "  departments: RH-KARD"  # the one without an agreement of its own
    assert blocks[1].startswith("SJ: Region Sjælland (96-timers-linjen)")
    only = runner.invoke(args=["agreements", "show", "default"])
    assert only.stdout.splitlines() == default
