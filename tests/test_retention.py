"""Retention: what the nightly purge keeps and removes, the statistics that outlive it, `linje72 purge`."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import create_app
from app.config import ConfigError
from app.data.db import dispose, session_scope
from app.data.models import (
    AuditEvent,
    Base,
    Contact,
    ContactStatistic,
    Department,
    DialAttempt,
    Discharge,
    Patient,
    PatientLookup,
    SecurityEvent,
    SpooledRecord,
    StayMessage,
)
from app.services.retention import PurgeReport, purge
from ivr.simulator import ScriptedPhone, play_call
from tests import factories as f
from tests.support import Clock, app_settings

NOW = "2026-11-23T10:00:00+01:00"
RETENTION = timedelta(days=180)
WINDOW = timedelta(hours=72)
NURSE = "+4532501010"
DAY_PHONE = "+4531102001"
MINUTE = timedelta(minutes=1)


def cutoff(clock: Clock) -> datetime:
    return clock.now - RETENTION


def run_purge(app: Flask, clock: Clock, **options: Any) -> PurgeReport:
    with app.app_context():
        return purge(lambda: session_scope(write=True), clock.now, RETENTION, WINDOW, **options)


def fresh(session: Session) -> Session:
    """End the test session's transaction, so that it reads what the purge's transactions wrote."""
    session.commit()
    session.expire_all()
    return session


def snapshot(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, as plain tuples: what 'nothing changed' is checked against."""
    fresh(session)
    return {
        table.name: [
            tuple(row) for row in session.execute(select(table).order_by(*table.primary_key.columns))
        ]
        for table in Base.metadata.sorted_tables
    }


def stay(app: Flask, session: Session, external_id: str, **values: Any) -> Discharge:
    """A stay of the default patient, its times given as datetimes."""
    dept = session.scalars(select(Department)).first() or f.department(session)
    row = f.discharge(app, session, dept, "2026-01-01T10:00:00+01:00", external_id=external_id)
    for name, value in values.items():
        setattr(row, name, value)
    session.commit()
    return row


def remaining_stays(session: Session) -> set[str]:
    return set(fresh(session).scalars(select(Discharge.external_id)))


# The stays' boundaries: responsibility ends at the discharge plus the window, or at the
# extension the hospital sent, or earlier when the department ended it; a stay still in
# hospital (or cancelled) goes after the retention without any news of it.
STAY_CASES = (
    ("window ended a minute inside", {"discharged_at": -WINDOW + MINUTE}, True),
    ("window ended a minute outside", {"discharged_at": -WINDOW - MINUTE}, False),
    (
        "extended to a minute inside",
        {"discharged_at": -WINDOW - timedelta(days=30), "responsibility_until": MINUTE},
        True,
    ),
    (
        "extended to a minute outside",
        {"discharged_at": -WINDOW - timedelta(days=30), "responsibility_until": -MINUTE},
        False,
    ),
    ("ended early a minute outside", {"discharged_at": -MINUTE, "ended_at": -MINUTE}, False),
    ("ended early a minute inside", {"discharged_at": -MINUTE, "ended_at": MINUTE}, True),
    (
        "admitted, news a minute inside",
        {"status": "admitted", "discharged_at": None, "updated_at": MINUTE},
        True,
    ),
    (
        "admitted, news a minute outside",
        {"status": "admitted", "discharged_at": None, "updated_at": -MINUTE},
        False,
    ),
    ("cancelled a minute outside", {"status": "cancelled", "updated_at": -MINUTE}, False),
)


@pytest.mark.parametrize(("name", "times", "kept"), STAY_CASES, ids=[case[0] for case in STAY_CASES])
def test_a_stay_is_deleted_once_its_responsibility_ended_more_than_the_retention_ago(
    app: Flask, session: Session, clock: Clock, name: str, times: dict[str, Any], kept: bool
) -> None:
    values = {k: cutoff(clock) + v if isinstance(v, timedelta) else v for k, v in times.items()}
    stay(app, session, "SP-BOUNDARY", **values)

    report = run_purge(app, clock)

    assert remaining_stays(session) == ({"SP-BOUNDARY"} if kept else set())
    assert report.stays == (0 if kept else 1)


@pytest.fixture
def region(app: Flask, session: Session) -> None:
    """RH-KARD answered by its day phone, the Valby home nurse, and the default patient."""
    f.department(session)
    f.caller(session)
    session.commit()


def call_at(app: Flask, session: Session, clock: Clock, moment: datetime, sid: int, keys: list[str]) -> None:
    """A whole call at `moment` about a patient discharged the day before, answered by the day phone."""
    clock.now = moment
    dept = session.scalars(select(Department)).one()
    f.discharge(
        app,
        session,
        dept,
        (moment - timedelta(days=1)).isoformat(),
        external_id=f"SP-{sid}",
        cpr="0101401234",
    )
    session.commit()
    play_call(app, NURSE, ScriptedPhone(keys, {DAY_PHONE: "1"}), call_sid=f"CA{sid:032x}")


def contact_of(session: Session, sid: int) -> Contact:
    return fresh(session).scalars(select(Contact).where(Contact.call_sid == f"CA{sid:032x}")).one()


def personal_data(contact: Contact) -> dict[str, Any]:
    return {
        "caller_number": contact.caller_number,
        "patient_ref": contact.patient_ref,
        "patient_cpr_encrypted": contact.patient_cpr_encrypted is not None,
        "patient_born": contact.patient_born,
        "discharge_id": contact.discharge_id,
        "targets": contact.targets,
        "connected_to": contact.connected_to,
        "numbers_rung": [(a.number, a.name) for a in contact.attempts],
    }


def tuesday_before(now: datetime, weeks: int) -> datetime:
    """A Tuesday around noon, Copenhagen time, `weeks` before `now` (a Monday): the day phone answers.

    (Not a Monday: 26 weeks before is Whit Monday, a holiday.)"""
    return now - timedelta(weeks=weeks) + timedelta(days=1, hours=1)


@pytest.mark.usefixtures("region")
def test_a_call_older_than_the_retention_loses_its_personal_data_and_keeps_what_the_statistics_need(
    app: Flask, session: Session, clock: Clock
) -> None:
    now = clock.now
    old, recent = tuesday_before(now, 26), tuesday_before(now, 25)  # 181 and 174 days ago
    call_at(app, session, clock, old, 1, ["0101401234", "1"])
    call_at(app, session, clock, recent, 2, ["0101401234", "1"])
    clock.now = now
    before_old, before_recent = personal_data(contact_of(session, 1)), personal_data(contact_of(session, 2))
    assert before_old["patient_cpr_encrypted"] and before_old["numbers_rung"][0] == (DAY_PHONE, "")

    run_purge(app, clock)

    thinned, kept = contact_of(session, 1), contact_of(session, 2)
    assert personal_data(thinned) == {
        "caller_number": "",
        "patient_ref": None,
        "patient_cpr_encrypted": False,
        "patient_born": None,
        "discharge_id": None,
        "targets": [],
        "connected_to": None,
        "numbers_rung": [("", "")],
    }
    assert (thinned.department.code, thinned.route, thinned.outcome, thinned.caller_kind) == (
        "RH-KARD",
        "responsibility",
        "connected",
        "home_nursing",
    )
    assert [(a.label, a.status) for a in thinned.attempts] == [("department_day", "accepted")]
    assert personal_data(kept) == before_recent
    assert thinned.purged_at == now and kept.purged_at is None


def test_a_call_in_progress_is_never_purged_nor_the_stay_it_is_about(
    app: Flask, session: Session, clock: Clock
) -> None:
    dept = f.department(session)
    old_stay = f.discharge(app, session, dept, "2026-01-01T10:00:00+01:00", external_id="SP-OLD")
    started = clock.now - RETENTION - timedelta(days=10)
    session.add(
        Contact(
            call_sid="CA" + "1" * 32,
            started_at=started,
            updated_at=started,
            caller_number=NURSE,
            patient_ref="P-0123456789abcdef",
            discharge_id=old_stay.id,
        )
    )
    session.commit()

    report = run_purge(app, clock)

    open_call = fresh(session).scalars(select(Contact)).one()
    assert (open_call.caller_number, open_call.patient_ref, open_call.discharge_id) == (
        NURSE,
        "P-0123456789abcdef",
        old_stay.id,
    )
    assert remaining_stays(session) == {"SP-OLD"}
    assert (report.contacts, report.stays, report.counted) == (0, 0, 0)


def monthly_figures_from_calls(session: Session) -> Counter[tuple[str, str, str, str]]:
    fresh(session)
    return Counter(
        (
            c.started_at.strftime("%Y-%m"),
            c.department.code if c.department else "",
            c.route or "",
            c.outcome or "",
        )
        for c in session.scalars(select(Contact).where(Contact.test_call.is_(False)))
    )


def monthly_figures_from_statistics(session: Session) -> Counter[tuple[str, str, str, str]]:
    fresh(session)
    figures: Counter[tuple[str, str, str, str]] = Counter()
    for row in session.scalars(select(ContactStatistic)):
        figures[(row.day.strftime("%Y-%m"), row.department, row.route, row.outcome)] += row.calls
    return figures


@pytest.mark.usefixtures("region")
def test_the_monthly_figures_are_the_same_before_and_after_the_calls_are_thinned(
    app: Flask, session: Session, clock: Clock
) -> None:
    now = clock.now
    for sid, weeks in enumerate((30, 27, 26, 26, 20, 2), start=1):
        call_at(app, session, clock, tuesday_before(now, weeks), sid, ["0101401234", "1"])
    call_at(app, session, clock, tuesday_before(now, 26), 9, ["1111111111", "2222222222", "3333"])
    clock.now = now
    expected = monthly_figures_from_calls(session)
    assert sum(expected.values()) == 7

    first = run_purge(app, clock)
    assert monthly_figures_from_statistics(session) == expected
    assert (first.counted, first.contacts) == (7, 5)

    clock.now = now + timedelta(days=400)  # every call now past the retention
    second = run_purge(app, clock)

    assert monthly_figures_from_statistics(session) == expected
    assert (second.counted, second.contacts) == (0, 2)
    totals = session.execute(
        select(
            func.sum(ContactStatistic.calls),
            func.sum(ContactStatistic.attempts),
            func.sum(ContactStatistic.seconds),
        )
    ).one()
    assert tuple(totals) == (7, 6, 0)  # the simulator's calls take no time


def test_a_test_call_is_thinned_but_never_counted(app: Flask, session: Session, clock: Clock) -> None:
    started = clock.now - RETENTION - timedelta(days=1)
    session.add(
        Contact(
            call_sid="CA" + "2" * 32,
            started_at=started,
            updated_at=started,
            ended_at=started + MINUTE,
            caller_number=NURSE,
            route="no_responsibility",
            outcome="forwarded",
            test_call=True,
        )
    )
    session.commit()

    report = run_purge(app, clock)

    assert (report.counted, report.contacts) == (1, 1)
    assert fresh(session).scalars(select(ContactStatistic)).all() == []
    assert session.scalars(select(Contact.caller_number)).one() == ""


def old_and_new_records(app: Flask, session: Session, clock: Clock) -> None:
    """A record of each kind a minute outside the retention and one a minute inside."""
    dept = f.department(session)
    caller = f.caller(session)
    outside, inside = cutoff(clock) - MINUTE, cutoff(clock) + MINUTE
    for n, at in enumerate((outside, inside)):
        contact = Contact(
            call_sid=f"CA{n:032x}",
            started_at=at,
            updated_at=at,
            ended_at=at + MINUTE,
            caller_number=NURSE,
            caller_id=caller.id,
            caller_kind="home_nursing",
            department_id=dept.id,
            period="day",
            route="responsibility",
            outcome="connected",
            patient_ref="P-0123456789abcdef",
        )
        session.add(contact)
        session.flush()
        session.add(
            DialAttempt(contact_id=contact.id, position=1, number=DAY_PHONE, label="day", started_at=at)
        )
        session.add(
            PatientLookup(at=at, contact_id=contact.id, caller_id=caller.id, patient_ref="P-0123456789abcdef")
        )
        session.add(SecurityEvent(at=at, kind="lookup_limit", caller_number=NURSE))
        session.add(StayMessage(source="hl7", message_id=f"MSG{n}", received_at=at, events=1))
        session.add(AuditEvent(at=at, actor="admin@example.dk", action="view", target="/contacts"))
    stay(app, session, "SP-OUT", discharged_at=outside - WINDOW)
    stay(app, session, "SP-IN", discharged_at=inside - WINDOW)
    session.add(Patient(cpr_lookup="f" * 64, deceased_at=outside))  # no stay left, died long ago
    session.add(Patient(cpr_lookup="e" * 64, deceased_at=inside))  # no stay, died within the retention
    session.commit()


def test_look_ups_security_events_and_feed_messages_go_after_the_retention_and_the_audit_log_stays(
    app: Flask, session: Session, clock: Clock
) -> None:
    old_and_new_records(app, session, clock)

    report = run_purge(app, clock)

    inside = cutoff(clock) + MINUTE
    fresh(session)
    assert session.scalars(select(PatientLookup.at)).all() == [inside]
    assert session.scalars(select(SecurityEvent.at)).all() == [inside]
    assert session.scalars(select(StayMessage.received_at)).all() == [inside]
    assert session.scalar(select(func.count(AuditEvent.id))) == 2
    assert session.scalars(select(Patient.cpr_lookup)).all() == ["e" * 64]
    statistics = session.scalars(select(ContactStatistic)).all()
    assert [(s.department, s.period, s.route, s.outcome, s.caller_kind) for s in statistics] == [
        ("RH-KARD", "day", "responsibility", "connected", "home_nursing")
    ]
    assert [(s.calls, s.follow_ups, s.attempts, s.seconds) for s in statistics] == [(2, 0, 2, 120)]
    assert remaining_stays(session) == {"SP-IN"}
    assert report == PurgeReport(
        counted=2,
        contacts=1,
        stays=1,
        patients=1,
        lookups=1,
        security_events=1,
        stay_messages=1,
        audit_kept=1,
    )


@pytest.mark.parametrize("retention_days", (30, 180, 3650))
def test_drained_spool_records_are_forgotten_31_days_after_they_were_spooled_whatever_the_retention(
    app: Flask, session: Session, clock: Clock, retention_days: int
) -> None:
    kept = timedelta(days=31)
    for n, spooled_at in enumerate((clock.now - kept - MINUTE, clock.now - kept + MINUTE, clock.now)):
        session.add(
            SpooledRecord(
                record_id=f"{n:032x}", call_sid=f"CA{n:032x}", spooled_at=spooled_at, drained_at=clock.now
            )
        )
    session.commit()

    def run(**options: Any) -> PurgeReport:
        with app.app_context():
            scope = lambda: session_scope(write=True)  # noqa: E731
            return purge(scope, clock.now, timedelta(days=retention_days), WINDOW, **options)

    assert run(dry_run=True).spooled_records == 1
    assert run().spooled_records == 1
    assert fresh(session).scalars(
        select(SpooledRecord.spooled_at).order_by(SpooledRecord.spooled_at)
    ).all() == [
        clock.now - kept + MINUTE,
        clock.now,
    ]


def test_a_patient_with_a_stay_left_is_kept(app: Flask, session: Session, clock: Clock) -> None:
    row = stay(app, session, "SP-IN", discharged_at=cutoff(clock))
    session.add(Patient(cpr_lookup=row.cpr_lookup, deceased_at=cutoff(clock) - timedelta(days=1)))
    session.commit()

    run_purge(app, clock)

    assert fresh(session).scalars(select(Patient.cpr_lookup)).all() == [row.cpr_lookup]


def test_a_second_purge_removes_nothing_more(app: Flask, session: Session, clock: Clock) -> None:
    old_and_new_records(app, session, clock)
    run_purge(app, clock)
    after_first = snapshot(session)

    second = run_purge(app, clock)

    assert snapshot(session) == after_first
    assert second == PurgeReport(audit_kept=1)


def test_a_dry_run_changes_nothing_and_says_what_the_purge_then_removes(
    app: Flask, session: Session, clock: Clock
) -> None:
    old_and_new_records(app, session, clock)
    before = snapshot(session)

    would = run_purge(app, clock, dry_run=True)

    assert snapshot(session) == before
    assert run_purge(app, clock) == would


def test_the_purge_works_in_bounded_batches_each_its_own_transaction(
    app: Flask, session: Session, clock: Clock
) -> None:
    for n in range(5):
        stay(app, session, f"SP-{n}", discharged_at=cutoff(clock) - WINDOW - MINUTE)
    deleted_per_transaction = []

    @contextmanager
    def scope() -> Iterator[Session]:
        with session_scope(write=True) as inner:
            before = inner.scalar(select(func.count(Discharge.id)))
            yield inner
            inner.flush()
            deleted_per_transaction.append(
                (before or 0) - (inner.scalar(select(func.count(Discharge.id))) or 0)
            )

    with app.app_context():
        report = purge(scope, clock.now, RETENTION, WINDOW, batch=2)

    assert report.stays == 5 and remaining_stays(session) == set()
    assert max(deleted_per_transaction) == 2
    assert [n for n in deleted_per_transaction if n] == [2, 2, 1]


@pytest.mark.usefixtures("region")
def test_linje72_purge_prints_what_it_removed_and_the_dry_run_what_it_would(
    app: Flask, session: Session, clock: Clock, runner: FlaskCliRunner
) -> None:
    now = clock.now
    call_at(app, session, clock, tuesday_before(now, 27), 1, ["0101401234", "1"])
    clock.now = now

    dry = runner.invoke(args=["purge", "--dry-run"])
    real = runner.invoke(args=["purge"])

    assert dry.exit_code == 0 and real.exit_code == 0
    assert "Retention 180 days: would remove what ended before 2026-05-27T11:00:00+02:00" in dry.output
    assert "(dry run: nothing changed)" in dry.output
    assert "Retention 180 days: removed what ended before 2026-05-27T11:00:00+02:00" in real.output
    for output in (dry.output, real.output):
        lines = {
            line.rsplit(None, 1)[0].strip(): int(line.rsplit(None, 1)[1]) for line in output.splitlines()[1:]
        }
        assert lines["calls thinned (personal data removed)"] == 1
        assert lines["stays deleted"] == 1
        assert lines["calls added to the statistics"] == 1


@pytest.mark.usefixtures("region")
def test_the_purge_logs_counts_and_never_a_cpr_number(
    app: Flask, session: Session, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    now = clock.now
    call_at(app, session, clock, tuesday_before(now, 27), 1, ["0101401234", "1"])
    clock.now = now
    caplog.set_level(logging.DEBUG, logger="linje72")  # another test may have set it higher

    run_purge(app, clock)

    messages = [record.getMessage() for record in caplog.records if record.name == "linje72.retention"]
    assert messages == [
        "purge: 1 counted, 0 follow_ups_counted, 1 contacts, 0 voice_messages, 1 stays, 0 patients, "
        "1 lookups, 0 security_events, 0 stay_messages, 0 spooled_records, 0 audit_kept"
    ]
    assert not any("0101401234" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    ("value", "message"),
    (
        ("abc", "LINJE72_RETENTION_DAYS must be a whole number of days from 30 to 3650, not 'abc'"),
        ("0", "LINJE72_RETENTION_DAYS must be a whole number of days from 30 to 3650, not '0'"),
        ("18", "LINJE72_RETENTION_DAYS must be a whole number of days from 30 to 3650, not '18'"),
        ("-180", "LINJE72_RETENTION_DAYS must be a whole number of days from 30 to 3650, not '-180'"),
        ("3651", "LINJE72_RETENTION_DAYS must be a whole number of days from 30 to 3650, not '3651'"),
    ),
)
def test_a_bad_retention_stops_the_start_naming_the_setting(
    database_url: str, clock: Clock, instance_path: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        create_app(app_settings(database_url, clock, instance_path, LINJE72_RETENTION_DAYS=value))
    assert str(raised.value) == message


@pytest.mark.parametrize(("value", "days"), ((None, 180), ("365", 365), ("30", 30)))
def test_the_retention_is_180_days_unless_set(
    database_url: str, clock: Clock, instance_path: str, value: str | None, days: int
) -> None:
    more = {"LINJE72_RETENTION_DAYS": value} if value else {}
    built = create_app(app_settings(database_url, clock, instance_path, **more))
    assert built.config["RETENTION"] == timedelta(days=days)
    dispose(built)
