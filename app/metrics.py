"""Prometheus metrics: what the line did (calls, dials, webhook time, security events) and what waits.

Under gunicorn every worker writes its counters to files in PROMETHEUS_MULTIPROC_DIR and a
scrape adds them up (prometheus-client's multiprocess mode); without that variable the process's
own registry is read. Labels are closed sets (routes, outcomes, statuses, steps, event kinds):
never a phone number, a CPR number or a call id.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
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
    """Gauges computed when scraped: the spool's depth and the coverage gaps ahead."""

    def __init__(self, coverage_gaps: Callable[[], int | None]) -> None:
        self.coverage_gaps = coverage_gaps

    def collect(self) -> Iterable[Metric]:
        yield GaugeMetricFamily(
            "linje72_spool_depth", "Calls kept in the local spool, waiting for the database.", spool_depth()
        )
        gaps = self.coverage_gaps()
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


def exposition(gauges: Collector) -> bytes:
    """Return the metrics in Prometheus' text format: every worker's counters, and the gauges."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir():
        multiprocess_metrics.MultiProcessCollector(registry)
    else:
        registry.register(_ProcessRegistry())
    registry.register(gauges)
    return generate_latest(registry)
