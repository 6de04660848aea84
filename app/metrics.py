"""Prometheus metrics: what the line did (calls, dials, webhook time, security events), what waits,
and how the scheduler's jobs fare.

Under gunicorn every worker writes its counters to files in PROMETHEUS_MULTIPROC_DIR and a
scrape adds them up (prometheus-client's multiprocess mode); without that variable the process's
own registry is read. The scheduler, one process, serves its own registry over HTTP
(`serve_process_metrics`). Labels are closed sets (routes, outcomes, statuses, steps, event kinds,
job ids): never a phone number, a CPR number or a call id.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, start_http_server
from prometheus_client import multiprocess as multiprocess_metrics
from prometheus_client.core import REGISTRY, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import event
from sqlalchemy.orm import Session

CALLS = Counter("linje72_calls", "Calls that ended, by route and outcome.", ["route", "outcome"])
DIAL_ATTEMPTS = Counter("linje72_dial_attempts", "Targets rung, by how the ring ended.", ["status"])
WEBHOOK_SECONDS = Histogram(
    "linje72_webhook_seconds",
    "Time to answer a webhook of the provider, by step of the call.",
    ["step"],
    # The provider gives up at 15 s; the policy's deadline is at most 5 s.
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 10.0, 15.0),
)
SECURITY_EVENTS = Counter(
    "linje72_security_events", "Security events: misuse of the line, refused signatures, limits.", ["kind"]
)

JOB_RUNS = Counter(
    "linje72_job_runs",
    "Runs of the scheduler's jobs, by job and how they ended (ok, failed).",
    ["job", "outcome"],
)
JOB_LAST_SUCCESS = Gauge(
    "linje72_job_last_success_timestamp_seconds",
    "When each of the scheduler's jobs last ended without an error (Unix time, by the app's clock).",
    ["job"],
    # Should files of several processes be added up, the latest success is the one that counts.
    multiprocess_mode="max",
)
JOB_SECONDS = Histogram(
    "linje72_job_seconds",
    "Time a scheduler job took, by job.",
    ["job"],
    # From a drain of an empty spool (milliseconds) to a night's purge of a large region (minutes).
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 1800.0),
)
JOB_OUTCOMES = ("ok", "failed")

_PENDING = "linje72.metrics.pending"


def count_on_commit(session: Session, counter: Counter, *labels: str) -> None:
    """Count one event when the session's transaction commits; nothing when it is rolled back.

    A webhook that passes its deadline rolls back what it did: the call it would have closed
    is closed by a later request, and counted then.
    """
    session.info.setdefault(_PENDING, []).append((counter, labels))


@event.listens_for(Session, "after_commit")
def _count_committed(session: Session) -> None:
    for counter, labels in session.info.pop(_PENDING, []):
        counter.labels(*labels).inc()


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)


def count_job(job: str, *, ok: bool, seconds: float, ended: datetime) -> None:
    """Record one run of a scheduler job: how it ended, how long it took, and when it last succeeded."""
    JOB_RUNS.labels(job, "ok" if ok else "failed").inc()
    JOB_SECONDS.labels(job).observe(seconds)
    if ok:
        JOB_LAST_SUCCESS.labels(job).set(ended.timestamp())


def declare_jobs(jobs: Iterable[str]) -> None:
    """Show every job's runs at 0 from the start, so that a rate of failures exists before the first run.

    The last success stays absent until there is one (a 0 would read as 1970).
    """
    for job in jobs:
        for outcome in JOB_OUTCOMES:
            JOB_RUNS.labels(job, outcome)
        JOB_SECONDS.labels(job)


# --- gauges read at scrape time ------------------------------------------------------------

_spool_depth: Callable[[], int] = lambda: 0  # noqa: E731 - replaced by the spool when it exists
_lock = threading.Lock()


def set_spool_depth_source(source: Callable[[], int]) -> None:
    """Name the function that tells how many calls wait in the local spool for the database."""
    global _spool_depth
    with _lock:
        _spool_depth = source


def spool_depth() -> int:
    with _lock:
        source = _spool_depth
    return int(source())


class ScrapeGauges(Collector):
    """Gauges computed when scraped: whether the database answers, the spool's depth and the
    coverage gaps ahead."""

    def __init__(self, coverage_gaps: Callable[[], int | None], database_up: Callable[[], bool]) -> None:
        self.coverage_gaps = coverage_gaps
        self.database_up = database_up

    def collect(self) -> Iterable[Metric]:
        up = self.database_up()
        yield GaugeMetricFamily(
            "linje72_database_up",
            "1 when the database answered this process's SELECT 1 within its timeout (as /readyz), else 0.",
            1 if up else 0,
        )
        yield GaugeMetricFamily(
            "linje72_spool_depth", "Calls kept in the local spool, waiting for the database.", spool_depth()
        )
        gaps = self.coverage_gaps() if up else None
        if gaps is not None:  # the database did not answer: no value rather than a wrong one
            yield GaugeMetricFamily(
                "linje72_coverage_gaps_ahead",
                "Stretches in the coverage days ahead where a department has nobody to ring.",
                gaps,
            )


class _ProcessRegistry(Collector):
    """This process's own counters (no multiprocess directory)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def serve_process_metrics(port: int, address: str) -> WSGIServer:
    """Serve this process's own metrics over HTTP from a thread; return the server (to shut it down).

    For the scheduler, which has no web server. Its own registry even when PROMETHEUS_MULTIPROC_DIR
    is set: prometheus-client then keeps the values in files there as well, but a MultiProcessCollector
    would add in every other process writing to that folder (gunicorn's workers, when it is theirs)
    and the files of schedulers that ran before.
    """
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_ProcessRegistry())
    server, _thread = start_http_server(port, address, registry=registry)
    return server


def exposition(gauges: Collector) -> bytes:
    """Return the metrics in Prometheus' text format: every worker's counters, and the gauges."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir():
        multiprocess_metrics.MultiProcessCollector(registry)
    else:
        registry.register(_ProcessRegistry())
    registry.register(gauges)
    return generate_latest(registry)
