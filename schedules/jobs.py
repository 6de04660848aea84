"""The scheduled jobs, and the one scheduler process that runs them.

APScheduler 3 must run in exactly one process (a job store cannot be shared
between workers), so `linje72 scheduler` takes a lock first: a PostgreSQL
advisory lock, or a file lock beside a SQLite database. Each job is a service
call in its own session; no job drives the call flow. Every job runs through
`run_job`, which logs a failure and counts each run in the metrics the process
serves on LINJE72_SCHEDULER_METRICS_PORT.
"""

from __future__ import annotations

import fcntl
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from wsgiref.simple_server import WSGIServer

from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask
from sqlalchemy import text
from sqlalchemy.orm import Session

from app import metrics
from app.config import Operations, Policy
from app.data.db import get_engine, session_scope
from app.services import alerts, reminders, voice
from app.services import spool as outage
from app.services.contacts import close_stale_calls
from app.services.coverage import find_gaps
from app.services.retention import count_statistics, purge
from app.values.times import local_iso

log = logging.getLogger("linje72.jobs")
ADVISORY_LOCK = 72_072
GAP_HORIZON = timedelta(hours=48)
# How often the scheduler looks whether the rota changed, and for gaps a day away. A publish
# is a transaction in another process: this poll is how the scheduler hears of it.
WATCH_MINUTES = 3


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


def in_session(job: Callable[[Session, Policy, datetime], int]) -> Callable[[Flask], int]:
    """Make a job of one session and transaction, on the app's policy and clock."""

    def run(app: Flask) -> int:
        with app.app_context(), session_scope(write=True) as session:
            return job(session, app.config["POLICY"], app.config["CLOCK"]())

    return run


def check_gaps(app: Flask) -> int:
    """The morning's check: the gaps of the days ahead, each told once; then send what it recorded."""
    with app.app_context():
        now, policy, alerting = app.config["CLOCK"](), app.config["POLICY"], _alerting(app)
        with session_scope(write=True) as session:
            summary = alerts.check_gaps(session, policy, alerting, now, "morning")
        _send_pending(policy, alerting, now)
        return summary.new


def watch_rota(app: Flask) -> int:
    """Every few minutes: check again when the rota changed, remind of gaps a day away, send, retry.

    Returns how many messages the provider took.
    """
    with app.app_context():
        now, policy, alerting = app.config["CLOCK"](), app.config["POLICY"], _alerting(app)
        with session_scope(write=True) as session:
            if alerts.rota_changed(session):
                alerts.check_gaps(session, policy, alerting, now, "change")
            alerts.remind_near(session, policy, alerting, now)
        return _send_pending(policy, alerting, now)


# How often the scheduler looks for call-back tasks whose reminder is due.
REMINDER_MINUTES = 1


def remind_follow_ups(app: Flask) -> int:
    """Every minute: remind of call-back tasks nobody has taken (on call, then the backup), then send.

    Returns how many messages the provider took.
    """
    with app.app_context():
        now, policy, alerting = app.config["CLOCK"](), app.config["POLICY"], _alerting(app)
        with session_scope(write=True) as session:
            reminders.remind(session, policy, alerting, app.config["FOLLOW_UPS"], now)
        return _send_pending(policy, alerting, now)


def _send_pending(policy: Policy, alerting: alerts.Alerting, now: datetime) -> int:
    with session_scope(write=True) as session:
        waiting = alerts.pending(session, now)
    return alerts.deliver(waiting, policy, alerting, now, lambda: session_scope(write=True))


def copy_voice_messages(app: Flask) -> int:
    """Every minute: copy the callers' messages not stored yet, delete the provider's copies of those
    stored. Returns how many were finished. Each step is its own transaction (app.services.voice)."""
    with app.app_context():
        return voice.copy_pending(
            lambda: session_scope(write=True),
            app.extensions["linje72.recordings"],
            app.extensions["linje72.vault"],
            app.config["CLOCK"](),
        )


# Copenhagen time: the quietest hour of the line, after the day's calls have ended.
PURGE_AT = (3, 30)


def purge_old_data(app: Flask) -> int:
    """Every night: count the ended calls into the statistics, then remove what is past the retention.

    Returns how many rows were removed or thinned. Each batch is its own transaction (see
    app.services.retention), so the job opens its own sessions.
    """
    with app.app_context():
        report = purge(
            lambda: session_scope(write=True),
            app.config["CLOCK"](),
            app.config["RETENTION"],
            app.config["POLICY"].window,
        )
        return (
            report.contacts
            + report.stays
            + report.patients
            + report.lookups
            + report.security_events
            + report.spooled_records
        )


# How often ended calls and closed follow-ups are added to the statistics the region's dashboard reads.
COUNT_MINUTES = 10


def count_new_statistics(app: Flask) -> int:
    """Add the calls ended and the follow-ups closed since the last run to the statistics."""
    with app.app_context():
        calls, follow_ups = count_statistics(lambda: session_scope(write=True), app.config["CLOCK"]())
        return calls + follow_ups


def drain_spool(app: Flask) -> int:
    """Every minute: write the calls spooled during a database outage on this machine into the database.

    Returns how many records were written.
    """
    with app.app_context():
        report = outage.drain(
            app.instance_path,
            lambda: session_scope(write=True),
            app.config["POLICY"],
            app.extensions["linje72.vault"],
            app.config["CLOCK"](),
        )
        return report.records


def _alerting(app: Flask) -> alerts.Alerting:
    alerting: alerts.Alerting = app.extensions["linje72.alerting"]
    return alerting


def announce_sending(app: Flask) -> None:
    """Say once, at start, whether gap warnings are sent, and what turns sending on."""
    alerting = _alerting(app)
    if alerting.sending and alerting.settings.sending is not None:
        sending = alerting.settings.sending
        where = (
            f"region {sending.region}, edge {sending.edge}"
            if sending.region
            else "the provider's default region"
        )
        log.info(
            "gap warnings are sent by SMS from %s and calls from %s (%s)",
            sending.sms_from,
            sending.call_from,
            where,
        )
    else:
        log.warning(
            "SMS is off: gap warnings are recorded and logged but reach nobody; "
            "set TWILIO_ACCOUNT_SID and LINJE72_SMS_FROM to send them"
        )


# Every job the scheduler runs, by its id: the name it has in the log and in the metrics.
TASKS: dict[str, Callable[[Flask], int]] = {
    "close_stale_calls": in_session(close_stale),
    "report_gaps": in_session(report_gaps),
    "gap_warnings": check_gaps,
    "purge": purge_old_data,
    "voice_messages": copy_voice_messages,
    "follow_up_reminders": remind_follow_ups,
    "count_statistics": count_new_statistics,
    "drain_spool": drain_spool,
    "watch_rota": watch_rota,
}


def run_job(app: Flask, job: str, *, timer: Callable[[], float] = time.perf_counter) -> None:
    """Run one of the scheduler's jobs by its id; a failure is logged and counted, not raised.

    Each run is counted by how it ended and timed (`timer`, seconds), and a success is stamped
    with the app's clock as it ends: the scheduler's metrics (app.metrics).
    """
    task = TASKS[job]
    started = timer()
    try:
        task(app)
    except Exception:
        log.exception("job %s failed", job)
        ok = False
    else:
        ok = True
    metrics.count_job(job, ok=ok, seconds=timer() - started, ended=app.config["CLOCK"]())


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

    def add(job: str, trigger: str, **options: object) -> None:
        scheduler.add_job(run_job, trigger, args=(app, job), id=job, **options)

    add("close_stale_calls", "interval", minutes=10)
    add("report_gaps", "cron", minute=5)
    morning = _alerting(app).settings.morning
    add("gap_warnings", "cron", hour=morning.hour, minute=morning.minute, misfire_grace_time=3600)
    add("purge", "cron", hour=PURGE_AT[0], minute=PURGE_AT[1], misfire_grace_time=6 * 3600)
    add("voice_messages", "interval", minutes=1)
    add("follow_up_reminders", "interval", minutes=REMINDER_MINUTES, misfire_grace_time=60, coalesce=True)
    add("count_statistics", "interval", minutes=COUNT_MINUTES)
    add("drain_spool", "interval", minutes=1, next_run_time=datetime.now(UTC))
    # First at start: a publish made while no scheduler ran is checked at once.
    add("watch_rota", "interval", minutes=WATCH_MINUTES, next_run_time=datetime.now(UTC))
    return scheduler


def serve_metrics(app: Flask) -> WSGIServer | None:
    """Serve the scheduler's metrics on LINJE72_SCHEDULER_METRICS_PORT; None when that is not set.

    A port that cannot be had is logged and the jobs run all the same: the warnings and reminders
    matter more than their figures, and the monitoring sees the target down.
    """
    operations: Operations = app.config["OPERATIONS"]
    port, address = operations.scheduler_metrics_port, operations.scheduler_metrics_address
    if port is None:
        return None
    metrics.declare_jobs(TASKS)
    try:
        server = metrics.serve_process_metrics(port, address)
    except OSError as exc:
        log.error(
            "could not serve the scheduler's metrics at %s port %d (%s); the jobs run without them",
            address,
            port,
            exc.strerror or exc,
        )
        return None
    log.info("scheduler metrics at http://%s:%d/metrics", address, server.server_port)
    return server


def run_scheduler(app: Flask) -> None:
    """Run the jobs until stopped; refuse to start beside another scheduler."""
    with single_scheduler(app):
        scheduler = build_scheduler(app)
        announce_sending(app)
        server = serve_metrics(app)
        log.info("scheduler started: %s", ", ".join(job.id for job in scheduler.get_jobs()))
        try:
            scheduler.start()
        finally:
            if server is not None:
                server.shutdown()
                server.server_close()
