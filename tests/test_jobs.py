"""The scheduled jobs: closing calls whose end was lost, and finding rota gaps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.data.db import get_engine
from app.data.models import Contact
from app.services.contacts import close_stale_calls
from app.values.times import local_iso, parse_time
from ivr.simulator import Provider
from schedules.jobs import (
    ADVISORY_LOCK,
    TASKS,
    SchedulerRunning,
    build_scheduler,
    report_gaps,
    run_job,
    single_scheduler,
)
from tests import factories as f
from tests.support import AUTH_TOKEN, Clock


def test_a_call_whose_end_never_arrived_is_closed_as_abandoned_after_two_hours(
    app: Flask, session: Session, clock: Clock
) -> None:
    f.caller(session)
    session.commit()
    provider = Provider([app.test_client()], AUTH_TOKEN)
    form = {"CallSid": "CA" + "5" * 32, "From": "+4532501010", "To": "+4570207272"}
    assert provider.post("/voice/incoming", form)[0] == 200

    assert close_stale_calls(session, clock.now + timedelta(minutes=30)) == 0
    later = clock.now + timedelta(hours=3)
    assert close_stale_calls(session, later) == 1
    session.commit()
    row = session.scalars(select(Contact)).one()
    assert (row.outcome, row.route, row.ended_at) == ("abandoned", "invalid_patient", later)


def test_run_job_uses_the_apps_clock_and_commits(app: Flask, session: Session, clock: Clock) -> None:
    session.add(
        Contact(
            call_sid="CA" + "6" * 32, started_at=clock.now, updated_at=clock.now, caller_number="", targets=[]
        )
    )
    session.commit()
    clock.set(local_iso(clock.now + timedelta(hours=5)))
    run_job(app, "close_stale_calls")
    session.expire_all()
    assert session.scalars(select(Contact)).one().outcome == "abandoned"


def test_uncovered_oncall_time_is_reported_as_a_gap(
    app: Flask, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    dept = f.department(session, oncall_phone=None)  # no on-call phone: the nights need a doctor
    f.shift(session, dept, "oncall", "2026-11-23 15:00", "2026-11-24 02:00", "+4540101002")
    f.shift(session, dept, "oncall", "2026-11-24 04:00", "2026-11-24 08:00", "+4540101004")
    session.commit()
    start = parse_time("2026-11-23 12:00")
    count = report_gaps(session, app.config["POLICY"], start, timedelta(hours=20))
    assert count == 1
    assert (
        "nobody of RH-KARD answers first in oncall time from 2026-11-24T02:00:00+01:00 "
        "to 2026-11-24T04:00:00+01:00" in caplog.text
    )


def test_only_one_scheduler_may_run(app: Flask) -> None:
    with app.app_context(), single_scheduler(app):
        with pytest.raises(SchedulerRunning), single_scheduler(app):
            pass


def test_the_scheduler_lock_leaves_no_transaction_open(app: Flask, database_url: str) -> None:
    """The advisory lock is held on an autocommit connection, so no server timeout can end it."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the advisory lock is PostgreSQL's; SQLite uses a file lock")
    with app.app_context(), single_scheduler(app):
        engine = get_engine()
        with engine.connect() as probe:
            states = (
                probe.execute(
                    text(
                        "SELECT a.state FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                        "WHERE l.locktype = 'advisory' AND l.objid = :key"
                    ),
                    {"key": ADVISORY_LOCK},
                )
                .scalars()
                .all()
            )
    assert states == ["idle"]


def test_every_job_of_the_scheduler_runs_through_the_one_wrapper_under_its_id(app: Flask) -> None:
    jobs = build_scheduler(app).get_jobs()
    assert sorted(job.id for job in jobs) == sorted(TASKS)
    assert all(job.func is run_job and job.args == (app, job.id) for job in jobs)
