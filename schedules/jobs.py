"""The scheduled jobs, and the one scheduler process that runs them.

APScheduler 3 must run in exactly one process (a job store cannot be shared
between workers), so `linje72 scheduler` takes a lock first: a PostgreSQL
advisory lock, or a file lock beside a SQLite database.
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.cpr import CprVault
from app.db import get_engine, new_session, will_write
from app.models import Contact
from app.policy import Policy
from app.timeparse import local_iso
from ivr.flow import CallFlow
from schedules.coverage import find_gaps

log = logging.getLogger("linje72.jobs")
STALE_AFTER = timedelta(hours=2)
ADVISORY_LOCK = 72_072


class SchedulerRunning(RuntimeError):
    """Another scheduler process holds the lock."""


def close_stale_calls(session: Session, policy: Policy, vault: CprVault, now: datetime) -> int:
    """Close calls whose end never reached us (a lost status callback), as the callback would."""
    stale = session.scalars(
        select(Contact.call_sid).where(Contact.ended_at.is_(None), Contact.updated_at < now - STALE_AFTER)
    ).all()
    flow = CallFlow(session, policy, vault, now)
    for call_sid in stale:
        flow.status(call_sid, None, "completed")
    return len(stale)


def report_gaps(session: Session, policy: Policy, now: datetime, horizon: timedelta) -> int:
    """Warn about on-call time in the coming hours that no rota shift covers."""
    gaps = find_gaps(session, policy.calendar, now, horizon)
    for gap in gaps:
        log.warning(
            "rota gap: %s has no on-call doctor from %s to %s",
            gap.department,
            local_iso(gap.start),
            local_iso(gap.end),
        )
    return len(gaps)


def run_job(app: Flask, name: str) -> None:
    """Run one job in its own session and transaction."""
    with app.app_context():
        session = will_write(new_session())
        now: datetime = app.config["CLOCK"]()
        policy: Policy = app.config["POLICY"]
        try:
            if name == "close_stale_calls":
                count = close_stale_calls(session, policy, app.extensions["linje72.vault"], now)
                log.info("closed %d stale calls", count)
            elif name == "report_gaps":
                report_gaps(session, policy, now, timedelta(hours=48))
            session.commit()
        except Exception:
            session.rollback()
            log.exception("job %s failed", name)
        finally:
            session.close()


@contextmanager
def single_scheduler(app: Flask) -> Iterator[None]:
    """Hold the deployment-wide scheduler lock; raise SchedulerRunning if it is taken."""
    engine = get_engine()
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            if not connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_LOCK}):
                raise SchedulerRunning("another linje72 scheduler is already running")
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK})
        return
    lock_path = Path(app.instance_path) / "scheduler.lock"
    with open(lock_path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SchedulerRunning("another linje72 scheduler is already running") from None
        yield


def build_scheduler(app: Flask) -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone="Europe/Copenhagen")
    scheduler.add_job(
        run_job, "interval", minutes=10, args=(app, "close_stale_calls"), id="close_stale_calls"
    )
    scheduler.add_job(run_job, "cron", minute=5, args=(app, "report_gaps"), id="report_gaps")
    return scheduler


def run_scheduler(app: Flask) -> None:
    """Run the jobs until stopped; refuse to start beside another scheduler."""
    with single_scheduler(app):
        scheduler = build_scheduler(app)
        log.info("scheduler started: %s", ", ".join(job.id for job in scheduler.get_jobs()))
        scheduler.start()
