"""Reminders of call-back tasks: the scheduler's job, run by APScheduler's trigger against the app's
clock (no sleeping), texts whoever answers first after 15 minutes and the backup after 45, and stops
once the task is taken; a number that takes no SMS, or an SMS that fails, gets a call."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app.data.db import dispose
from app.data.models import FollowUp, OutgoingMessage, User
from app.services import followups
from app.services.planner_phones import add_planner_phone
from app.values.times import parse_time
from ivr.simulator import ScriptedPhone, play_call
from schedules.jobs import REMINDER_MINUTES, build_scheduler
from tests import factories as f
from tests.fake_twilio import FakeTwilio, NoInternet
from tests.support import PUBLIC_URL, Clock
from tests.test_alerts import SENDING, build

VALBY = "+4532501010"
ANNA, BACKUP = f.ANNA, "+4540101009"
CALLED_AT = "2026-11-23 10:00"
SMS_TEXT = (
    "Linje 72: et ubesvaret opkald venter på opfølgning i Hjertemedicinsk Klinik. "
    f"Se opgaven: {PUBLIC_URL}/followup/"
)


@pytest.fixture
def provider() -> FakeTwilio:
    return FakeTwilio()


@pytest.fixture(autouse=True)
def no_internet(monkeypatch: pytest.MonkeyPatch) -> Iterator[NoInternet]:
    guard = NoInternet(monkeypatch)
    yield guard
    assert guard.attempts == [], "a request tried to leave the machine"


@pytest.fixture
def app(
    migrated: Engine, database_url: str, clock: Clock, instance_path: str, provider: FakeTwilio
) -> Iterator[Flask]:
    app = build(
        migrated, database_url, clock, instance_path, **SENDING, PROVIDER_HTTP_CLIENT=lambda: provider
    )
    yield app
    dispose(app)


@pytest.fixture
def task_id(app: Flask, session: Session, clock: Clock) -> int:
    """Monday 10:00: Anna on the day shift, Carl the backup; the Valby nurse calls and nobody answers."""
    dept = f.small_region(app, session)
    f.shift(session, dept, "backup", "2026-11-23 08:00", "2026-11-23 15:00", BACKUP, "Carl Bagvagt")
    f.user(session, "kard@rh.dk", "department", ("RH-KARD",))
    session.commit()
    clock.set(CALLED_AT)
    play_call(app, VALBY, ScriptedPhone(["0101401234", "1"]))
    session.expire_all()
    found = session.scalars(select(FollowUp)).one().id
    session.rollback()
    return found


def run_scheduler(app: Flask, clock: Clock, start: str, until: str) -> None:
    """Fire the scheduler's reminder job as APScheduler would from `start` to `until`, on the app's clock."""
    job = build_scheduler(app).get_job("follow_up_reminders")
    assert job is not None and isinstance(job.trigger, IntervalTrigger)
    assert job.trigger.interval == timedelta(minutes=REMINDER_MINUTES)
    # The same trigger, anchored at the test's clock instead of the machine's.
    trigger = IntervalTrigger(
        minutes=REMINDER_MINUTES, start_date=parse_time(start), timezone="Europe/Copenhagen"
    )
    end = parse_time(until)
    fire: datetime | None = trigger.get_next_fire_time(None, parse_time(start))
    while fire is not None and fire <= end:
        clock.now = fire
        job.func(*job.args)
        fire = trigger.get_next_fire_time(fire, fire)


def sent(session: Session) -> list[tuple[str, str, str, str]]:
    session.commit()
    session.expire_all()
    rows = session.scalars(select(OutgoingMessage).order_by(OutgoingMessage.id))
    return [(m.channel, m.to_number, m.purpose, m.created_at.astimezone().strftime("%H:%M")) for m in rows]


def test_whoever_answers_first_hears_at_15_minutes_and_the_backup_at_45_each_once(
    app: Flask, session: Session, provider: FakeTwilio, clock: Clock, task_id: int
) -> None:
    run_scheduler(app, clock, CALLED_AT, "2026-11-23 10:14")
    assert provider.sent == []
    run_scheduler(app, clock, "2026-11-23 10:14", "2026-11-23 10:44")
    (first,) = provider.of_kind("sms")
    assert first.data["To"] == ANNA
    assert first.data["Body"] == SMS_TEXT + str(task_id)
    run_scheduler(app, clock, "2026-11-23 10:44", "2026-11-23 12:00")
    assert [(r.kind, r.data["To"]) for r in provider.sent] == [("sms", ANNA), ("sms", BACKUP)]
    task = session.get(FollowUp, task_id)
    assert task is not None
    assert (task.first_reminder_at, task.second_reminder_at) == (
        parse_time("2026-11-23 10:15"),
        parse_time("2026-11-23 10:45"),
    )
    assert [(m.channel, m.to_number, m.purpose) for m in session.scalars(select(OutgoingMessage))] == [
        ("sms", ANNA, "followup_first"),
        ("sms", BACKUP, "followup_second"),
    ]


def test_no_message_names_the_caller_or_the_patient(
    app: Flask, session: Session, provider: FakeTwilio, clock: Clock, task_id: int
) -> None:
    provider.refuse["sms"] = (400, 21614, "'To' number is not a valid mobile number")
    run_scheduler(app, clock, CALLED_AT, "2026-11-23 11:00")
    assert len(provider.sent) == 4  # two SMS refused, two calls instead
    for request in provider.sent:
        text = " ".join(str(value) for value in request.data.values())
        for secret in ("0101401234", "010140", "1940", VALBY, "Valby", "Hjemmesygeplejen"):
            assert secret not in text


def test_a_task_taken_before_its_reminder_is_never_reminded(
    app: Flask, session: Session, provider: FakeTwilio, clock: Clock, task_id: int
) -> None:
    clock.set("2026-11-23 10:10")
    task = session.get(FollowUp, task_id)
    nurse = session.scalars(select(User)).one()
    assert task is not None
    followups.claim(session, task, nurse, clock.now)
    session.commit()
    run_scheduler(app, clock, "2026-11-23 10:10", "2026-11-23 12:00")
    assert provider.sent == []


def test_a_task_taken_after_the_first_reminder_gets_no_second(
    app: Flask, session: Session, provider: FakeTwilio, clock: Clock, task_id: int
) -> None:
    run_scheduler(app, clock, CALLED_AT, "2026-11-23 10:20")
    task = session.get(FollowUp, task_id)
    nurse = session.scalars(select(User)).one()
    assert task is not None
    followups.close(session, task, nurse, "advice", clock.now)
    session.commit()
    run_scheduler(app, clock, "2026-11-23 10:20", "2026-11-23 12:00")
    assert [r.data["To"] for r in provider.sent] == [ANNA]


def test_an_sms_the_provider_refuses_becomes_a_call_that_reads_the_reminder(
    app: Flask, session: Session, provider: FakeTwilio, clock: Clock, task_id: int
) -> None:
    provider.refuse["sms"] = (400, 21614, "'To' number is not a valid mobile number")
    run_scheduler(app, clock, CALLED_AT, "2026-11-23 10:15")
    assert [(r.kind, r.data["To"]) for r in provider.sent] == [("sms", ANNA), ("call", ANNA)]
    said = [say.text for say in ET.fromstring(str(provider.of_kind("call")[0].data["Twiml"])).iter("Say")]
    assert (
        said
        == [
            "Her er Linje 72. Et ubesvaret opkald venter på opfølgning i Hjertemedicinsk Klinik. "
            "Log ind på Linje 72 og se opfølgningslisten."
        ]
        * 2
    )
    assert [(c, to, purpose) for c, to, purpose, _ in sent(session)] == [
        ("sms", ANNA, "followup_first"),
        ("voice", ANNA, "followup_first"),
    ]


def test_a_number_not_marked_for_sms_and_the_departments_own_phone_get_a_call(
    app: Flask, session: Session, provider: FakeTwilio, clock: Clock, task_id: int
) -> None:
    # Anna's number is listed among the department's alert numbers as a landline.
    add_planner_phone(session, "RH-KARD", ANNA, name="Anna (fastnet)", mobile=False)
    session.commit()
    run_scheduler(app, clock, CALLED_AT, "2026-11-23 10:15")
    assert [(r.kind, r.data["To"]) for r in provider.sent] == [("call", ANNA)]


def test_without_a_rota_person_the_departments_day_phone_is_rung(
    app: Flask, session: Session, provider: FakeTwilio, clock: Clock
) -> None:
    f.department(session)
    f.caller(session)
    f.discharge(app, session, f.department(session, "RH-NEFR", name="Nyremedicinsk"), "2026-11-21T10:30")
    session.commit()
    clock.set(CALLED_AT)
    play_call(app, VALBY, ScriptedPhone(["0101401234", "1"]))
    run_scheduler(app, clock, CALLED_AT, "2026-11-23 10:50")
    # Nobody on RH-NEFR's rota: its day phone hears first, its switchboard second (no backup); both ring.
    assert [(r.kind, r.data["To"]) for r in provider.sent] == [
        ("call", "+4531102001"),
        ("call", "+4531100000"),
    ]
