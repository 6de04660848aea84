"""A database outage loses nothing: calls answered without the database are spooled, then drained once.

"Without the database" here is an app of the same instance folder whose database cannot be
reached (nothing listens on its port): every webhook of it answers from the fail-safe path.
tests/test_outage.py stops a real PostgreSQL in the middle of calls.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import create_app
from app.data import spool
from app.data.db import dispose
from app.data.models import Contact, SpooledRecord
from app.services import spool as outage
from ivr.views import wait_for_drains
from schedules.jobs import build_scheduler
from tests import factories as f
from tests.replay_call import Call, action
from tests.support import FALLBACK, Clock, app_settings, spoken, twiml

NURSE = "+4532501010"
STRANGER = "+4532509999"
CPR = "0101401234"
UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/gone"


def sid(n: int) -> str:
    return f"CA{n:032x}"


@pytest.fixture
def down(clock: Clock, instance_path: str) -> Iterator[Flask]:
    """The same deployment (instance folder, clock, secrets) while its database is gone."""
    app = create_app(app_settings(UNREACHABLE, clock, instance_path))
    yield app
    dispose(app)


def forwarded_to_fallback(body: str) -> bool:
    root = twiml(body)
    return "teknisk fejl" in spoken(root) and root.findtext("Dial") == FALLBACK


def contacts_of(session: Session) -> list[Contact]:
    session.rollback()  # a fresh snapshot: what the drain committed meanwhile
    return list(session.scalars(select(Contact).order_by(Contact.call_sid)))


def drain(runner: FlaskCliRunner) -> str:
    result = runner.invoke(args=["spool", "drain"])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_call_that_never_reached_the_database_becomes_one_contact_when_it_returns(
    app: Flask, down: Flask, session: Session, runner: FlaskCliRunner, clock: Clock
) -> None:
    f.small_region(app, session)
    call = Call(down.test_client(), sid(1))
    body, _ = call.post("/voice/incoming")
    assert forwarded_to_fallback(body)
    clock.now += timedelta(seconds=95)
    assert call.end(CallDuration="95") == 204
    assert spool.spool_depth(app.instance_path) == 2
    assert contacts_of(session) == []

    assert drain(runner) == "Wrote 2 records of 1 calls.\n"

    [contact] = contacts_of(session)
    assert (contact.call_sid, contact.caller_number, contact.caller_organisation) == (
        sid(1),
        NURSE,
        "Hjemmesygeplejen Valby",
    )
    assert contact.outcome == "forwarded"
    assert contact.error == "database unavailable in step incoming: forwarded to the fallback number"
    assert [(a.label, a.number, a.status) for a in contact.attempts] == [("fallback", FALLBACK, "answered")]
    assert contact.ended_at == clock.now
    assert contact.started_at == clock.now - timedelta(seconds=95)
    assert contact.follow_up is False
    assert spool.spool_depth(app.instance_path) == 0
    assert drain(runner) == "Wrote 0 records of 0 calls.\n"
    assert len(contacts_of(session)) == 1


def test_a_call_that_began_before_the_outage_keeps_its_contact_and_the_patient_only_as_a_pseudonym(
    app: Flask, down: Flask, session: Session, runner: FlaskCliRunner
) -> None:
    f.small_region(app, session)
    _, root = Call(app.test_client(), sid(2)).post("/voice/incoming")
    body, _ = Call(down.test_client(), sid(2)).post(action(root), Digits=CPR)
    assert forwarded_to_fallback(body)
    assert CPR.encode() not in _spool_bytes(app)

    drain(runner)

    [contact] = contacts_of(session)
    assert contact.caller_organisation == "Hjemmesygeplejen Valby"
    assert contact.route == "invalid_patient"  # as the fail-safe records an error in the patient step
    assert contact.outcome == "forwarded"
    assert contact.error and contact.error.startswith("database unavailable in step patient")
    assert contact.patient_ref and contact.patient_ref.startswith("P-")
    assert str(contact.patient_born) == "1940-01-01"
    assert contact.patient_cpr_encrypted is None


def test_an_unknown_number_that_keyed_its_unit_code_in_the_outage_is_recorded_as_that_caller(
    app: Flask, down: Flask, session: Session, runner: FlaskCliRunner
) -> None:
    f.small_region(app, session)
    _, root = Call(app.test_client(), sid(3)).post("/voice/incoming", From=STRANGER)
    call = Call(down.test_client(), sid(3))
    call.form["From"] = STRANGER
    body, _ = call.post(action(root), Digits="4711")
    assert forwarded_to_fallback(body)
    assert b"4711" not in _spool_bytes(app)

    drain(runner)

    [contact] = contacts_of(session)
    assert (contact.caller_number, contact.caller_organisation) == (STRANGER, "Hjemmesygeplejen Valby")


def test_a_ring_whose_result_came_in_the_outage_is_recorded_with_that_result(
    app: Flask, down: Flask, session: Session, runner: FlaskCliRunner
) -> None:
    f.small_region(app, session)
    call = Call(app.test_client(), sid(4))
    _, root = call.post("/voice/incoming")
    _, root = call.post(action(root), Digits=CPR)
    _, root = call.post(action(root), Digits="1")
    dial = action(root, "Dial")
    body, _ = Call(down.test_client(), sid(4)).post(dial, DialCallStatus="busy")
    assert forwarded_to_fallback(body)
    # The end reaches the database again before the drain: the call is closed as abandoned first.
    assert call.end() == 204

    _wait_for_the_background_drain(app)

    [contact] = contacts_of(session)
    assert [(a.label, a.status) for a in contact.attempts] == [("day", "busy"), ("fallback", "answered")]
    assert contact.route == "responsibility"
    assert contact.outcome == "forwarded"
    assert contact.follow_up is False


def test_draining_the_same_records_again_changes_nothing(
    app: Flask, down: Flask, session: Session, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    f.small_region(app, session)
    for n in (5, 6):
        Call(down.test_client(), sid(n)).post("/voice/incoming")
    copy = tmp_path / "spool-copy"
    shutil.copy(spool.spool_path(app.instance_path), copy)
    drain(runner)
    before = [(c.call_sid, c.outcome, len(c.attempts)) for c in contacts_of(session)]

    shutil.copy(copy, spool.spool_path(app.instance_path))
    assert drain(runner) == "Wrote 0 records of 2 calls (2 written before).\n"

    assert [(c.call_sid, c.outcome, len(c.attempts)) for c in contacts_of(session)] == before
    assert len(before) == 2


def test_a_drain_that_stops_after_the_commit_is_finished_by_the_next_without_doubling(
    app: Flask, down: Flask, session: Session, runner: FlaskCliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    f.small_region(app, session)
    for n in (7, 8):
        Call(down.test_client(), sid(n)).post("/voice/incoming")

    def crash(*_: object) -> None:
        raise OSError("the process died here")

    with monkeypatch.context() as patch:
        patch.setattr(spool, "remove", crash)
        assert runner.invoke(args=["spool", "drain"]).exit_code == 1
    assert [c.call_sid for c in contacts_of(session)] == [sid(7)]  # committed, not forgotten

    assert drain(runner) == "Wrote 1 records of 2 calls (1 written before).\n"
    assert [c.call_sid for c in contacts_of(session)] == [sid(7), sid(8)]
    assert all(len(c.attempts) == 1 for c in contacts_of(session))


@pytest.mark.parametrize(
    ("later", "ids_kept", "drained"),
    (
        (timedelta(days=29), 1, "Wrote 1 records of 2 calls (1 written before).\n"),
        (timedelta(days=30), 1, "Wrote 1 records of 2 calls (1 written before).\n"),
        (timedelta(days=30, minutes=1), 1, "Wrote 1 records of 1 calls.\n"),
        (timedelta(days=31, minutes=1), 0, "Wrote 1 records of 1 calls.\n"),
    ),
    ids=["29-days", "30-days", "past-30-days", "past-31-days"],
)
def test_a_record_put_back_in_the_spool_is_never_written_twice_whatever_the_purge_forgot(
    app: Flask,
    down: Flask,
    session: Session,
    runner: FlaskCliRunner,
    clock: Clock,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    later: timedelta,
    ids_kept: int,
    drained: str,
) -> None:
    """The nightly purge forgets a drained record's id after 31 days; a drain holds a record older
    than 30 days aside unwritten, so a copy of the spool put back (or a removal lost) never doubles a
    call by itself, and nothing is thrown away: a person drains the held records once checked."""
    f.small_region(app, session)
    Call(down.test_client(), sid(14)).post("/voice/incoming")
    copy = tmp_path / "spool-copy"
    shutil.copy(spool.spool_path(app.instance_path), copy)
    drain(runner)

    clock.now += later
    assert runner.invoke(args=["purge"]).exit_code == 0
    assert fresh_count(session, SpooledRecord) == ids_kept
    shutil.copy(copy, spool.spool_path(app.instance_path))
    Call(down.test_client(), sid(15)).post("/voice/incoming")  # a new outage meanwhile
    result = runner.invoke(args=["spool", "drain"])

    assert result.exit_code == 0 and result.stdout == drained
    assert [(c.call_sid, len(c.attempts)) for c in contacts_of(session)] == [(sid(14), 1), (sid(15), 1)]
    if not drained.endswith("of 1 calls.\n"):
        assert spool.spool_depth(app.instance_path) == 0
        return
    assert result.stderr == (
        "1 records older than 30 days were held aside, not written "
        "(see the log and `linje72 spool status`).\n"
    )
    assert f"held 1 spooled records of call {sid(14)} aside, spooled from 2026-11-23T09:00:00+00:00" in (
        caplog.text
    )
    # Kept, and still counted: the depth goes on telling until a person acts.
    assert spool.spool_depth(app.instance_path) == 1
    assert runner.invoke(args=["spool", "drain"]).stdout == "Wrote 0 records of 0 calls.\n"
    assert runner.invoke(args=["spool", "status"]).stdout == (
        "1 records of 1 calls are held aside, older than 30 days: check the calls are not in the contact "
        "log, then `linje72 spool drain --held`.\n"
    )
    if ids_kept:  # its id still known: the held record is recognised as written before
        assert runner.invoke(args=["spool", "drain", "--held"]).stdout == (
            "Wrote 0 records of 1 calls (1 written before).\n"
        )
        assert [len(c.attempts) for c in contacts_of(session)] == [1, 1]
        assert spool.spool_depth(app.instance_path) == 0


def test_a_call_spooled_a_month_ago_is_held_not_lost_and_written_when_a_person_asks(
    app: Flask, down: Flask, session: Session, runner: FlaskCliRunner, clock: Clock
) -> None:
    f.small_region(app, session)
    Call(down.test_client(), sid(16)).post("/voice/incoming")
    clock.now += timedelta(days=31)

    held = runner.invoke(args=["spool", "drain"])
    assert held.exit_code == 0 and held.stdout == "Wrote 0 records of 0 calls.\n"
    assert "1 records older than 30 days were held aside" in held.stderr
    assert contacts_of(session) == []
    assert spool.spool_depth(app.instance_path) == 1

    written = runner.invoke(args=["spool", "drain", "--held"])
    assert written.exit_code == 0 and written.stdout == "Wrote 1 records of 1 calls.\n"
    assert [(c.call_sid, c.outcome) for c in contacts_of(session)] == [(sid(16), "forwarded")]
    assert spool.spool_depth(app.instance_path) == 0
    assert runner.invoke(args=["spool", "status"]).stdout == "The spool is empty.\n"


def fresh_count(session: Session, model: type[SpooledRecord]) -> int:
    session.rollback()
    return len(session.scalars(select(model)).all())


def test_a_call_that_cannot_be_written_stays_spooled_and_the_others_are_written(
    app: Flask, down: Flask, session: Session, runner: FlaskCliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    f.small_region(app, session)
    for n in (9, 10):
        Call(down.test_client(), sid(n)).post("/voice/incoming")
    merge = outage.merge_call

    def fails_for_the_first(
        session: Session, policy: object, vault: object, call_sid: str, records: list
    ) -> Contact:  # type: ignore[type-arg]
        if call_sid == sid(9):
            raise ValueError("a record that cannot be read")
        return merge(session, policy, vault, call_sid, records)  # type: ignore[arg-type]

    with monkeypatch.context() as patch:
        patch.setattr(outage, "merge_call", fails_for_the_first)
        result = runner.invoke(args=["spool", "drain"])
    assert result.exit_code == 1
    assert "1 calls could not be written" in result.output
    assert [c.call_sid for c in contacts_of(session)] == [sid(10)]
    assert runner.invoke(args=["spool", "status"]).output.startswith("1 records of 1 calls wait in the spool")

    drain(runner)
    assert [c.call_sid for c in contacts_of(session)] == [sid(9), sid(10)]


def test_the_spool_outlives_the_process_and_the_first_webhook_after_drains_it(
    app: Flask, down: Flask, session: Session, clock: Clock, database_url: str, instance_path: str
) -> None:
    f.small_region(app, session)
    Call(down.test_client(), sid(11)).post("/voice/incoming")
    outage.take_waiting()  # as in a process that did not spool anything itself

    restarted = create_app(app_settings(database_url, clock, instance_path))
    try:
        assert (
            restarted.test_cli_runner()
            .invoke(args=["spool", "status"])
            .output.startswith(
                "1 records of 1 calls wait in the spool; the oldest from 2026-11-23T10:00:00+01:00"
            )
        )
        Call(restarted.test_client(), sid(12)).post("/voice/incoming")
        _wait_for_the_background_drain(restarted)
    finally:
        dispose(restarted)
    assert [(c.call_sid, c.outcome) for c in contacts_of(session)] == [
        (sid(11), "forwarded"),
        (sid(12), None),
    ]


def test_an_empty_spool_says_so(runner: FlaskCliRunner) -> None:
    assert runner.invoke(args=["spool", "status"]).output == "The spool is empty.\n"
    assert spool.spool_depth(runner.app.instance_path) == 0


def _wait_for_the_background_drain(app: Flask) -> None:
    """Wait until the drain that the webhook started has ended (drains run one at a time, in order)."""
    wait_for_drains()
    assert spool.spool_depth(app.instance_path) == 0


def _spool_bytes(app: Flask) -> bytes:
    found = b""
    for path in Path(app.instance_path).glob(spool.FILE_NAME + "*"):
        found += path.read_bytes()
    return found


def test_the_scheduler_drains_the_spool_every_minute(app: Flask, down: Flask, session: Session) -> None:
    f.small_region(app, session)
    Call(down.test_client(), sid(13)).post("/voice/incoming")
    job = build_scheduler(app).get_job("drain_spool")
    assert job is not None and job.trigger.interval == timedelta(minutes=1)

    assert job.func(*job.args) is None  # run as the scheduler runs it: failures logged, not raised

    assert [(c.call_sid, c.outcome) for c in contacts_of(session)] == [(sid(13), "forwarded")]
    assert spool.spool_depth(app.instance_path) == 0


def test_metrics_show_the_calls_waiting_in_the_spool_until_they_are_drained(
    app: Flask, down: Flask, session: Session, runner: FlaskCliRunner, clock: Clock
) -> None:
    from tests.test_ops import sample, scrape

    f.small_region(app, session)
    call = Call(down.test_client(), sid(7))
    call.post("/voice/incoming")
    # The operators' view: /metrics (from loopback) counts the records waiting for the database.
    assert sample(scrape(app.test_client()), "linje72_spool_depth") == 1
    drain(runner)
    assert sample(scrape(app.test_client()), "linje72_spool_depth") == 0
