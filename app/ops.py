"""What the load balancer and the monitoring ask: is the process up, can it reach the database, metrics.

`/healthz` answers from the process alone (restart it if this fails); `/readyz` asks the database
(send it no calls if this fails); `/metrics` is Prometheus' scrape, from the allowed networks or
with the metrics token.
"""

from __future__ import annotations

import hmac
import logging
import threading
from datetime import datetime, timedelta
from ipaddress import ip_address

from flask import Blueprint, Flask, Response, abort, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app import metrics
from app.config import Operations
from app.data.db import session_scope
from app.services.coverage import find_gaps

bp = Blueprint("ops", __name__)
log = logging.getLogger("linje72.ops")
# How far ahead the coverage gauge looks, and how long one count serves the scrapes.
GAPS_AHEAD = timedelta(days=7)
GAPS_CACHED_FOR = timedelta(seconds=60)


@bp.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@bp.get("/readyz")
def readyz() -> Response | tuple[Response, int]:
    """200 when the database answers a `SELECT 1` within the call path's timeout, else 503 and why."""
    problem = database_problem()
    if problem is not None:
        return jsonify(status="unavailable", reason=problem), 503
    return jsonify(status="ok")


def database_problem() -> str | None:
    """Ask the database a `SELECT 1` within the call path's timeout; None when it answered, else why not.

    The kind of error only: its text can hold the database's address and user. /readyz and the
    `linje72_database_up` gauge both ask this.
    """
    try:
        with session_scope(call=True) as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.warning("not ready: the database did not answer (%s)", type(exc).__name__)
        return f"the database did not answer ({type(exc).__name__})"
    return None


@bp.get("/metrics")
def scrape() -> Response:
    operations: Operations = current_app.config["OPERATIONS"]
    if not _may_scrape(operations):
        abort(403, description="Metrics are served to the monitoring networks or with the metrics token.")
    gauges = metrics.ScrapeGauges(
        current_app.extensions["linje72.coverage_gaps"], lambda: database_problem() is None
    )
    body = metrics.exposition(gauges)
    return Response(body, content_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


def _may_scrape(operations: Operations) -> bool:
    header = request.headers.get("Authorization", "")
    kind, _, token = header.partition(" ")
    if operations.metrics_token and kind.lower() == "bearer":
        return hmac.compare_digest(token.strip().encode(), operations.metrics_token.encode())
    try:
        client = ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return client.is_loopback or any(client in network for network in operations.metrics_networks)


class CoverageGaps:
    """Count the coverage gaps in the week ahead, at most once a minute of the app's clock."""

    def __init__(self, app: Flask) -> None:
        self.config = app.config
        self.lock = threading.Lock()
        self.counted: tuple[datetime, int] | None = None

    def __call__(self) -> int | None:
        now: datetime = self.config["CLOCK"]()
        with self.lock:
            if self.counted is not None and timedelta(0) <= now - self.counted[0] < GAPS_CACHED_FOR:
                return self.counted[1]
        try:
            with session_scope(call=True) as session:
                gaps = len(find_gaps(session, self.config["POLICY"].calendar, now, GAPS_AHEAD))
        except SQLAlchemyError as exc:
            log.warning("could not count the coverage gaps for /metrics: %s", type(exc).__name__)
            return None
        with self.lock:
            self.counted = (now, gaps)
        return gaps
