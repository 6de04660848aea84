"""The scheduled jobs: closing calls whose end was lost, finding rota gaps, and the scheduler's metrics."""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app import create_app
from app.config import ConfigError
from app.data.db import dispose, get_engine
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
    serve_metrics,
    single_scheduler,
)
from tests import factories as f
from tests.support import AUTH_TOKEN, Clock, app_settings

ROOT = Path(__file__).resolve().parents[1]
# Nothing listens on port 9: the connection is refused at once, and a job on it fails.
NO_DATABASE = "postgresql+psycopg://linje72@127.0.0.1:9/linje72"


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


# --- the scheduler's metrics -------------------------------------------------------------------


def sample(text: str, name: str, **labels: str) -> float | None:
    """Return one sample's value from an exposition as Prometheus reads it (None: not there)."""
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return found.value
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def app_without_database(clock: Clock, instance_path: str) -> Iterator[Flask]:
    app = create_app(app_settings(NO_DATABASE, clock, instance_path, LINJE72_DB_TIMEOUT="1"))
    yield app
    dispose(app)


@pytest.fixture
def scheduler_app(database_url: str, clock: Clock, instance_path: str, app: Flask) -> Iterator[Flask]:
    """The scheduler's app, serving its metrics on a free port of loopback (the default address)."""
    port = str(free_port())
    scheduler = create_app(
        app_settings(database_url, clock, instance_path, LINJE72_SCHEDULER_METRICS_PORT=port)
    )
    yield scheduler
    dispose(scheduler)


def test_every_job_of_the_scheduler_runs_through_the_one_wrapper_under_its_id(app: Flask) -> None:
    jobs = build_scheduler(app).get_jobs()
    assert sorted(job.id for job in jobs) == sorted(TASKS)
    assert all(job.func is run_job and job.args == (app, job.id) for job in jobs)


def test_the_scheduler_serves_the_runs_of_its_jobs_as_prometheus_reads_them(
    scheduler_app: Flask, app_without_database: Flask, clock: Clock
) -> None:
    server = serve_metrics(scheduler_app)
    assert server is not None
    url = f"http://127.0.0.1:{server.server_port}/metrics"
    try:
        before = requests.get(url, timeout=10).text
        # Declared at start: a job that has not run yet is there at 0, its last success absent.
        assert sample(before, "linje72_job_runs_total", job="purge", outcome="failed") is not None
        assert sample(before, "linje72_job_last_success_timestamp_seconds", job="purge") is None

        clock.set("2026-11-23T10:10:00+01:00")
        run_job(scheduler_app, "close_stale_calls", timer=iter([100.0, 102.5]).__next__)
        ran_at = clock.now
        clock.set("2026-11-23T10:20:00+01:00")
        run_job(app_without_database, "close_stale_calls", timer=iter([200.0, 200.25]).__next__)
        after = requests.get(url, timeout=10).text
    finally:
        server.shutdown()
        server.server_close()

    def grew(name: str, **labels: str) -> float:
        return (sample(after, name, **labels) or 0) - (sample(before, name, **labels) or 0)

    assert grew("linje72_job_runs_total", job="close_stale_calls", outcome="ok") == 1
    assert grew("linje72_job_runs_total", job="close_stale_calls", outcome="failed") == 1
    # The failure at 10:20 leaves the success of 10:10 as the last one.
    assert sample(after, "linje72_job_last_success_timestamp_seconds", job="close_stale_calls") == (
        ran_at.timestamp()
    )
    assert grew("linje72_job_seconds_count", job="close_stale_calls") == 2
    assert grew("linje72_job_seconds_sum", job="close_stale_calls") == 2.75
    assert grew("linje72_job_seconds_bucket", job="close_stale_calls", le="0.5") == 1
    assert grew("linje72_job_seconds_bucket", job="close_stale_calls", le="5.0") == 2


def test_a_failed_job_is_logged_counted_and_not_raised(
    app_without_database: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    from prometheus_client import REGISTRY

    labels = {"job": "report_gaps", "outcome": "failed"}
    before = REGISTRY.get_sample_value("linje72_job_runs_total", labels) or 0
    run_job(app_without_database, "report_gaps")
    assert REGISTRY.get_sample_value("linje72_job_runs_total", labels) == before + 1
    assert "job report_gaps failed" in caplog.text


def test_without_a_port_the_scheduler_serves_no_metrics(app: Flask) -> None:
    assert app.config["OPERATIONS"].scheduler_metrics_port is None
    assert serve_metrics(app) is None


def test_a_port_in_use_is_logged_and_the_jobs_run_without_metrics(
    database_url: str, clock: Clock, instance_path: str, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        app = create_app(
            app_settings(database_url, clock, instance_path, LINJE72_SCHEDULER_METRICS_PORT=str(port))
        )
        try:
            with caplog.at_level(logging.ERROR, logger="linje72.jobs"):
                assert serve_metrics(app) is None
        finally:
            dispose(app)
    assert f"could not serve the scheduler's metrics at 127.0.0.1 port {port}" in caplog.text


@pytest.mark.parametrize(
    ("name", "value", "message"),
    (
        ("LINJE72_SCHEDULER_METRICS_PORT", "http", "LINJE72_SCHEDULER_METRICS_PORT must be a port number"),
        ("LINJE72_SCHEDULER_METRICS_PORT", "0", "LINJE72_SCHEDULER_METRICS_PORT must be a port number"),
        ("LINJE72_SCHEDULER_METRICS_PORT", "70000", "from 1 to 65535 (or empty: off), not '70000'"),
        (
            "LINJE72_SCHEDULER_METRICS_ADDRESS",
            "localhost",
            "LINJE72_SCHEDULER_METRICS_ADDRESS: expected an IP",
        ),
    ),
)
def test_a_malformed_scheduler_metrics_setting_stops_the_start_naming_it(
    database_url: str, clock: Clock, instance_path: str, name: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        create_app(app_settings(database_url, clock, instance_path, **{name: value}))


# Run in a process of its own: prometheus-client chooses multiprocess mode when it is imported.
MULTIPROCESS_SCRIPT = """
import sys, requests
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from app import create_app, metrics
from schedules.jobs import run_job, serve_metrics
from tests.support import Clock, app_settings

folder, database_url, instance_path, port = sys.argv[1:]
# A gunicorn worker's counters in the same folder: 5 runs that were never the scheduler's.
worker = MmapedDict(folder + "/counter_999999.db")
key = ["linje72_job_runs", "linje72_job_runs_total", ["job", "outcome"], ["close_stale_calls", "ok"], ""]
worker.write_value(mmap_key(*key), 5.0, 0.0)
worker.close()
app = create_app(
    app_settings(database_url, Clock(), instance_path, LINJE72_SCHEDULER_METRICS_PORT=port)
)
run_job(app, "close_stale_calls")
server = serve_metrics(app)
print(requests.get(f"http://127.0.0.1:{server.server_port}/metrics", timeout=10).text)
print("--- the web's /metrics of that folder ---")
print(metrics.exposition(metrics.ScrapeGauges(lambda: None, lambda: True)).decode())
"""


def test_with_a_multiprocess_folder_the_scheduler_serves_its_own_runs(
    app: Flask, database_url: str, instance_path: str, tmp_path: Path
) -> None:
    folder = tmp_path / "metrics"
    folder.mkdir()
    environment = {"PATH": os.environ.get("PATH", ""), "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            MULTIPROCESS_SCRIPT,
            str(folder),
            database_url,
            instance_path,
            str(free_port()),
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    scheduler, web = done.stdout.split("--- the web's /metrics of that folder ---")
    labels = {"job": "close_stale_calls", "outcome": "ok"}
    assert sample(scheduler, "linje72_job_runs_total", **labels) == 1
    # The folder is in use (the scheduler's values are in files there), and adding it up, as the
    # web's /metrics does, would have counted the worker's 5 as the scheduler's.
    assert any(path.name.startswith("counter_") and "999999" not in path.name for path in folder.iterdir())
    assert sample(web, "linje72_job_runs_total", **labels) == 6
