"""The scheduled jobs, and the one scheduler process that runs them.

APScheduler 3 must run in exactly one process (a job store cannot be shared
between workers), so `linje72 scheduler` takes a lock first: a PostgreSQL
advisory lock, or a file lock beside a SQLite database. Each job is a service
call in its own session; no job drives the call flow.
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.config import Policy
from app.data.db import get_engine, session_scope
from app.services.contacts import close_stale_calls
from app.services.coverage import find_gaps
from app.values.times import local_iso

log = logging.getLogger("linje72.jobs")
ADVISORY_LOCK = 72_072
GAP_HORIZON = timedelta(hours=48)


class SchedulerRunning(RuntimeError):
    """Another scheduler process holds the lock."""


def close_stale(session: Session, policy: Policy, now: datetime) -> int:
    """Close calls whose end never reached us (a lost status callback)."""
    count = close_stale_calls(session, now)
    log.info("closed %d stale calls", count)
    return count


def report_gaps(session: Session, policy: Policy, now: datetime, horizon: timedelta = GAP_HORIZON) -> int:
    """Warn about time in the coming hours where nobody of a department answers first."""
    gaps = find_gaps(session, policy.calendar, now, horizon)
    for gap in gaps:
        log.warning(
            "rota gap: nobody of %s answers first in %s time from %s to %s",
            gap.department,
            gap.period,
            local_iso(gap.start),
            local_iso(gap.end),
        )
    return len(gaps)


JOBS: dict[str, Callable[[Session, Policy, datetime], int]] = {
    "close_stale_calls": close_stale,
    "report_gaps": report_gaps,
}


def run_job(app: Flask, name: str) -> None:
    """Run one job in its own session and transaction; a failure is logged, not raised."""
    with app.app_context():
        try:
            with session_scope(write=True) as session:
                JOBS[name](session, app.config["POLICY"], app.config["CLOCK"]())
        except Exception:
            log.exception("job %s failed", name)


@contextmanager
def single_scheduler(app: Flask) -> Iterator[None]:
    """Hold the deployment-wide scheduler lock; raise SchedulerRunning if it is taken.

    On PostgreSQL the advisory lock is a session lock held on an autocommit
    connection: no transaction stays open for the scheduler's life, so a server's
    idle-in-transaction timeout cannot end the connection and the lock with it.
    """
    engine = get_engine()
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
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
