"""The demo region: believable, idempotent, routed the way its summary says."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app import create_app
from app.config import Policy
from app.data import queries as records
from app.data.db import dispose, new_session
from app.data.models import Caller, Department, Discharge, Shift
from app.demo import seed_demo
from app.demo.data import DEPARTMENTS, GAP_DEPARTMENT, PATIENTS, DemoPatient
from app.services.directory import department_chain_at
from app.services.patients import decide_for_patient
from app.values.cpr import CprVault, parse
from app.values.phones import normalise
from routing import Decision, Period, Role, Route
from routing.calendar import COPENHAGEN
from tests.support import Clock, app_settings

SettableClock = Clock


def _seed(app: Flask, session: Session) -> str:
    summary = seed_demo(session, _vault(app), app.config["POLICY"], app.config["CLOCK"]())
    session.commit()
    return summary


def _vault(app: Flask) -> CprVault:
    vault: CprVault = app.extensions["linje72.vault"]
    return vault


def _policy(app: Flask) -> Policy:
    policy: Policy = app.config["POLICY"]
    return policy


def _counts(session: Session) -> dict[str, int]:
    return {
        model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
        for model in (Department, Caller, Shift, Discharge)
    }


def _local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=COPENHAGEN)


def _patient(cpr: str) -> DemoPatient:
    return next(p for p in PATIENTS if p.cpr == cpr)


def _decide(app: Flask, session: Session, cpr: str, now: datetime) -> Decision:
    """Decide a call about the patient with the service the call flow uses."""
    return decide_for_patient(session, _policy(app), _vault(app), cpr, now).decision


def test_demo_region_has_several_hospitals_municipalities_and_kinds_of_caller(
    app: Flask, session: Session
) -> None:
    _seed(app, session)
    departments = {d.code: d for d in session.scalars(select(Department))}
    assert 6 <= len(departments) <= 10
    assert len({d.hospital for d in departments.values()}) >= 5
    assert {"RH-KARD", "BFH-GER"} <= departments.keys()
    assert departments["BFH-GER"].day_hours == "08:00-15:30"
    assert any(d.oncall_phone is None for d in departments.values())
    assert len(set(session.scalars(select(Discharge.municipality)))) >= 5

    callers = list(session.scalars(select(Caller)))
    assert {c.kind for c in callers} >= {
        "home_nursing",
        "nursing_home",
        "temporary_stay",
        "residential",
        "gp",
        "acute_1813",
    }
    # The example callers of spec/examples/callers.csv are among them.
    valby = records.find_caller(session, phone="+4532501010")
    assert valby is not None and valby.code == "4711" and valby.kind == "home_nursing"
    kildegaarden = records.find_caller(session, code="4713")
    assert kildegaarden is not None and kildegaarden.phone is None
    assert kildegaarden.kind == "temporary_stay"
    gp = records.find_caller(session, phone="+4532501040")
    assert gp is not None and gp.kind == "gp" and gp.language == "en"


def test_seeding_twice_changes_no_counts(app: Flask, session: Session, clock: SettableClock) -> None:
    _seed(app, session)
    first = _counts(session)
    assert first["departments"] == len(DEPARTMENTS)
    assert first["discharges"] == sum(len(p.discharges) for p in PATIENTS)
    clock.set("2026-11-23T11:30:00+01:00")
    _seed(app, session)
    assert _counts(session) == first
    discharge = session.scalars(select(Discharge).where(Discharge.external_id == "DEMO-0001")).one()
    assert discharge.discharged_at == clock.now.replace(second=0) - timedelta(hours=3)


def test_seed_demo_keeps_the_callers_registry_unique_when_one_is_already_there(
    app: Flask, session: Session
) -> None:
    session.add(Caller(phone="+4532501010", code=None, organisation="Valby", kind="home_nursing"))
    session.add(Caller(phone=None, code="4713", organisation="Kildegården", kind="temporary_stay"))
    session.commit()
    _seed(app, session)
    assert session.scalar(select(func.count()).select_from(Caller).where(Caller.phone == "+4532501010")) == 1
    assert session.scalar(select(func.count()).select_from(Caller).where(Caller.code == "4713")) == 1
    valby = records.find_caller(session, phone="+4532501010")
    assert valby is not None and valby.code == "4711"


def test_seed_demo_flushes_and_leaves_the_commit_to_the_caller(app: Flask, session: Session) -> None:
    seed_demo(session, _vault(app), app.config["POLICY"], app.config["CLOCK"]())
    assert session.scalar(select(func.count()).select_from(Discharge)) == 14
    session.rollback()
    assert _counts(session) == {"departments": 0, "callers": 0, "shifts": 0, "discharges": 0}


def test_seed_demo_refuses_a_naive_now(app: Flask, session: Session) -> None:
    with pytest.raises(ValueError):
        seed_demo(session, _vault(app), app.config["POLICY"], datetime(2026, 11, 23, 10))


def test_the_rota_has_a_day_doctor_by_day_and_an_oncall_doctor_by_night(
    app: Flask,
    session: Session,
    clock: SettableClock,
) -> None:
    monday = date(2026, 11, 23)
    clock.set("2026-11-23T10:00:00+01:00")
    _seed(app, session)
    policy = _policy(app)
    expected = [
        ("RH-KARD", _local(monday, 10), Period.DAY, "day"),
        ("RH-KARD", _local(monday, 20), Period.ONCALL, "oncall"),
        ("RH-KARD", _local(monday + timedelta(days=1), 3), Period.ONCALL, "oncall"),
        ("RH-KARD", _local(monday - timedelta(days=1), 12), Period.ONCALL, "oncall"),  # Sunday
        ("BFH-GER", _local(monday, 15, 15), Period.DAY, "day"),  # its day ends 15:30
        ("BFH-GER", _local(monday, 15, 45), Period.ONCALL, "oncall"),
    ]
    for code, moment, period, first in expected:
        decision = department_chain_at(session, policy, code, moment)
        assert decision is not None
        assert decision.period is period, (code, moment)
        assert decision.targets[0].label == first, (code, moment)
        assert decision.targets[0].name, (code, moment)
        assert "backup" in [t.label for t in decision.targets], (code, moment)


def test_the_rota_leaves_one_oncall_gap_on_purpose(
    app: Flask, session: Session, clock: SettableClock
) -> None:
    clock.set("2026-11-23T10:00:00+01:00")
    summary = _seed(app, session)
    tuesday_night = _local(date(2026, 11, 24), 20)
    for demo in DEPARTMENTS:
        department = records.find_department(session, demo.code)
        assert department is not None
        roles = [s.role for s in records.shifts_covering(session, department.id, tuesday_night)]
        if demo.code == GAP_DEPARTMENT:
            assert roles == ["backup"]
        elif demo.oncall_pool:  # its nights are the pool's, which has its on-call doctor
            assert "oncall" not in roles, demo.code
            pool = records.find_department(session, demo.oncall_pool)
            assert pool is not None
            assert "oncall" in {s.role for s in records.shifts_covering(session, pool.id, tuesday_night)}
        else:
            assert {"backup", "oncall"} <= set(roles), demo.code
        # A ward with nurses on the rota has one at night too (rung first for nursing callers).
        assert ("nurse" in roles) is bool(demo.nurses), demo.code
    assert f"{GAP_DEPARTMENT} has no on-call doctor" in summary
    assert "Tue 24 Nov 15:30" in summary


@pytest.mark.parametrize(
    ("now", "odd_hours"),
    [("2026-03-28T12:00:00+01:00", 23), ("2026-10-24T12:00:00+02:00", 25)],
)
def test_the_rota_keeps_local_wall_clock_times_across_daylight_saving(
    app: Flask,
    session: Session,
    clock: SettableClock,
    now: str,
    odd_hours: int,
) -> None:
    clock.set(now)
    _seed(app, session)
    department = records.find_department(session, "RH-KARD")
    assert department is not None
    shifts = list(session.scalars(select(Shift).where(Shift.department_id == department.id)))
    assert shifts
    for shift in shifts:
        start = shift.start_at.astimezone(COPENHAGEN).time()
        end = shift.end_at.astimezone(COPENHAGEN).time()
        assert {start, end} <= {time(8), time(15)}, shift
    oncall_hours = {(s.end_at - s.start_at) / timedelta(hours=1) for s in shifts if s.role == "oncall"}
    # Saturday 08:00 to Sunday 08:00 over the change, a normal weekend day, weekday nights.
    assert oncall_hours == {odd_hours, 24, 17}


def test_demo_patients_are_routed_as_the_summary_says(
    app: Flask, session: Session, clock: SettableClock
) -> None:
    now = clock.set("2026-11-23T10:00:00+01:00")  # Monday, day time and GP hours
    _seed(app, session)
    for patient in PATIENTS:
        rows = records.discharges_of(session, _vault(app).lookup_key(patient.cpr))
        assert len(rows) == len(patient.discharges)
        # Each under its department's agreement (Zealand's 96 hours, adults, residents).
        route = _decide(app, session, patient.cpr, now).route
        assert (route is Route.RESPONSIBILITY) is patient.active, patient.expect

    def decision(cpr: str) -> Decision:
        return _decide(app, session, cpr, now)

    active = decision("0101451001")  # a few hours ago
    assert active.route is Route.RESPONSIBILITY and active.department_code == "RH-KARD"
    assert active.targets[0].label == "day"
    assert decision("0202501002").route is Route.RESPONSIBILITY  # two days ago
    nearly = decision("0303351003")  # 71 hours ago: one hour left
    assert nearly.route is Route.RESPONSIBILITY and nearly.responsibility is not None
    assert nearly.responsibility.until - now <= timedelta(hours=1)
    assert _decide(app, session, "0303351003", now + timedelta(hours=1)).route is Route.NO_RESPONSIBILITY

    expired = decision("0404381004")  # 80 hours ago: the GP in GP hours
    assert expired.route is Route.NO_RESPONSIBILITY
    assert expired.targets[0].label == "gp"
    assert expired.targets[0].number == _patient("0404381004").discharges[0].gp_phone

    extended = decision("0505421005")  # four days ago, extended until tomorrow noon
    assert extended.route is Route.RESPONSIBILITY and extended.responsibility is not None
    assert extended.responsibility.until == _local(date(2026, 11, 24), 12)

    assert decision("0606481006").route is Route.NO_RESPONSIBILITY  # destination other
    short = decision("0707551007")  # a stay under 24 hours, no GP known
    assert short.route is Route.NO_RESPONSIBILITY and short.targets[0].label == "after_hours"

    twice = decision("0808321008")  # the newest of two discharges decides
    assert twice.route is Route.RESPONSIBILITY and twice.department_code == "AHH-MED"
    assert {
        r.department.code for r in records.discharges_of(session, _vault(app).lookup_key("0808321008"))
    } == {
        "AHH-MED",
        "BFH-GER",
    }

    # Region Zealand's agreement: 80 hours is inside its 96, and its on-call line is its own.
    zealand = decision("2207511011")
    assert zealand.route is Route.RESPONSIBILITY and zealand.department_code == "SUH-MED"
    assert zealand.responsibility is not None
    assert zealand.responsibility.until - now == timedelta(hours=16)
    young = decision("1506104012")  # 16 years old: Zealand's agreement is for adults
    assert young.route is Route.NO_RESPONSIBILITY and young.targets[0].number == "+4570151818"
    outside = decision("0310521013")  # lives in København: not a Zealand resident; the GP by day
    assert outside.route is Route.NO_RESPONSIBILITY and outside.targets[0].label == "gp"


def test_demo_cpr_numbers_are_valid_and_mostly_born_1930_to_1960(app: Flask) -> None:
    born = [parse(p.cpr, date(2026, 11, 23))[1] for p in PATIENTS]
    assert len(set(p.cpr for p in PATIENTS)) == len(PATIENTS)
    assert sum(1930 <= b.year <= 1960 for b in born) >= len(born) - 1


def test_no_plaintext_cpr_is_stored(app: Flask, session: Session) -> None:
    _seed(app, session)
    numbers = [p.cpr for p in PATIENTS]
    forms = numbers + [f"{n[:6]}-{n[6:]}" for n in numbers]
    rows = session.execute(text("SELECT * FROM discharges")).all()
    assert len(rows) == sum(len(p.discharges) for p in PATIENTS) == 14
    for row in rows:
        for value in row:
            if isinstance(value, bytes | memoryview):
                blob = bytes(value)
                assert not any(form.encode() in blob for form in forms)
            else:
                assert not any(form in str(value) for form in forms)
    vault = _vault(app)
    for discharge in session.scalars(select(Discharge)):
        number = vault.decrypt(discharge.cpr_encrypted)
        assert number in numbers
        assert discharge.cpr_lookup == vault.lookup_key(number)


def test_every_stored_number_is_valid_and_normalised(app: Flask, session: Session) -> None:
    _seed(app, session)
    numbers: list[str | None] = []
    for department in session.scalars(select(Department)):
        numbers += [department.day_phone, department.oncall_phone, department.switchboard_phone]
    numbers += list(session.scalars(select(Caller.phone)))
    numbers += list(session.scalars(select(Shift.phone)))
    numbers += list(session.scalars(select(Discharge.gp_phone)))
    for number in filter(None, numbers):
        assert normalise(number, allow_short=False) == number


def test_cli_seed_demo_prints_a_summary_that_fits_the_terminal(
    app: Flask, runner: FlaskCliRunner, session: Session
) -> None:
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    for expected in ("0101451001", "+4532501010", "4711", "4713", "RH-KARD", GAP_DEPARTMENT):
        assert expected in result.output
    assert all(len(line) <= 80 for line in result.output.splitlines())
    counts = _counts(session)
    session.close()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert _counts(session) == counts


def test_the_demo_builds_its_rota_on_the_configured_day_hours(
    database_url: str, clock: Clock, instance_path: str
) -> None:
    app = create_app(app_settings(database_url, clock, instance_path, LINJE72_DAY_HOURS="07:30-16:00"))
    with app.app_context():
        session = new_session()
        summary = _seed(app, session)
        department = records.find_department(session, "RH-KARD")
        assert department is not None
        monday_noon = clock.set("2026-11-23 12:00")
        roles = [
            (s.role, s.start.astimezone(COPENHAGEN).time(), s.end.astimezone(COPENHAGEN).time())
            for s in records.shifts_covering(session, department.id, monday_noon)
        ]
        session.close()
    dispose(app)
    assert (Role.DAY, time(7, 30), time(16)) in roles
    assert "RH-KARD    HOV  07:30-16:00" in summary
    assert "BFH-GER    HOV  08:00-15:30" in summary  # a department's own hours still win


def test_the_demo_refuses_callers_that_clash_with_the_registry_and_stores_nothing(
    app: Flask, session: Session
) -> None:
    # The demo's Valby has phone +4532501010 and code 4711: here they belong to two callers.
    session.add(Caller(phone="+4532501010", code="9999", organisation="Valby", kind="home_nursing"))
    session.add(Caller(phone=None, code="4711", organisation="Someone else", kind="nursing_home"))
    session.commit()
    with pytest.raises(
        ValueError, match="clash with the registered ones: caller on row 1: code: '4711' belongs to"
    ):
        seed_demo(session, _vault(app), _policy(app), app.config["CLOCK"]())
    session.rollback()
    assert _counts(session) == {"departments": 0, "callers": 2, "shifts": 0, "discharges": 0}


def test_the_demos_zealand_wards_ring_their_nurse_first_for_nurses_and_share_a_pool_at_night(
    app: Flask, session: Session, clock: SettableClock
) -> None:
    clock.set("2026-11-23T10:00:00+01:00")
    _seed(app, session)
    day = _local(date(2026, 11, 23), 11)
    night = _local(date(2026, 11, 23), 22)

    def first(cpr: str, now: datetime, kind: str) -> tuple[str, str]:
        found = decide_for_patient(session, _policy(app), _vault(app), cpr, now, caller_kind=kind)
        target = found.decision.targets[0]
        return target.label, target.name

    # SUH-MED (Zealand, nurse first): the ward's nurse for a home nurse, the doctor for a GP.
    assert first("2207511011", day, "home_nursing") == ("nurse", "Lene Holt, sygeplejerske")
    assert first("2207511011", day, "gp")[0] == "day"
    # SUH-GER at night: the pool SUH-VAGT's on-call doctor; by day its own day doctor.
    label, name = first("0412441014", night, "gp")
    assert label == "oncall" and name in {"Tove Borup", "Jonas Hald", "Maja Lund"}
    assert first("0412441014", day, "gp")[0] == "day"
    # The Capital Region's wards have no nurses on the rota: a home nurse reaches the doctor.
    assert first("0101451001", day, "home_nursing")[0] == "day"
