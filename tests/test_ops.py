"""What the load balancer and the monitoring see: /healthz, /readyz and /metrics."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session

from app import create_app, metrics
from app.data.db import dispose
from app.services.coverage import find_gaps
from ivr.simulator import ScriptedPhone, play_call
from tests import factories as f
from tests.support import Clock, app_settings
from tests.test_webhooks import FORM, post_signed

ANNA = "+4540101001"
METRICS_TOKEN = "metrics-token-0123456789abcdef"
CPR = "0101401234"


def sample(text: str, name: str, **labels: str) -> float:
    """Return one sample's value from a scrape (0 when the labels were never counted)."""
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return found.value
    return 0.0


def scrape(client: FlaskClient) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.fixture
def region(app: Flask, session: Session) -> None:
    cardiology = f.department(session)
    f.shift(session, cardiology, "day", "2026-11-23 08:00", "2026-11-23 15:00", ANNA, "Anna Holm")
    f.caller(session)
    f.discharge(app, session, cardiology, "2026-11-21T10:30:00+01:00")
    session.commit()


def test_healthz_answers_from_the_process_and_readyz_from_the_database(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json() == {"status": "ok"}


@pytest.fixture
def app_without_database(clock: Clock, instance_path: str) -> Iterator[Flask]:
    # Nothing listens on port 9: the connection is refused at once.
    url = "postgresql+psycopg://linje72:db-password-secret@127.0.0.1:9/linje72"
    app = create_app(app_settings(url, clock, instance_path, LINJE72_DB_TIMEOUT="1"))
    yield app
    dispose(app)


def test_readyz_is_503_with_a_reason_that_does_not_name_the_database(app_without_database: Flask) -> None:
    client = app_without_database.test_client()
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable" and "database did not answer" in body["reason"]
    text = response.get_data(as_text=True)
    assert "db-password-secret" not in text and "127.0.0.1" not in text and "linje72@" not in text


def test_metrics_say_whether_the_database_answers(client: FlaskClient, app_without_database: Flask) -> None:
    assert sample(scrape(client), "linje72_database_up") == 1
    text = scrape(app_without_database.test_client())  # still served: the monitoring must see this
    assert sample(text, "linje72_database_up") == 0
    # No count of gaps rather than a wrong one; the spool still reports.
    assert "linje72_coverage_gaps_ahead " not in text and "linje72_spool_depth 0.0" in text
    assert "db-password-secret" not in text and "127.0.0.1" not in text


@pytest.mark.parametrize(
    ("settings", "address", "headers", "status"),
    (
        ({}, "127.0.0.1", {}, 200),
        ({}, "10.20.30.40", {}, 403),
        ({"LINJE72_METRICS_NETWORKS": "10.20.0.0/16"}, "10.20.30.40", {}, 200),
        ({"LINJE72_METRICS_NETWORKS": "10.21.0.0/16"}, "10.20.30.40", {}, 403),
        (
            {"LINJE72_METRICS_TOKEN": METRICS_TOKEN},
            "10.20.30.40",
            {"Authorization": f"Bearer {METRICS_TOKEN}"},
            200,
        ),
        ({"LINJE72_METRICS_TOKEN": METRICS_TOKEN}, "10.20.30.40", {"Authorization": "Bearer wrong"}, 403),
        ({"LINJE72_METRICS_TOKEN": METRICS_TOKEN}, "127.0.0.1", {"Authorization": "Bearer wrong"}, 403),
    ),
    ids=[
        "loopback",
        "elsewhere",
        "allowed-network",
        "other-network",
        "token",
        "wrong-token",
        "loopback-wrong-token",
    ],
)
def test_metrics_are_served_to_loopback_the_allowed_networks_or_with_the_token(
    database_url: str, clock: Clock, instance_path: str, settings: dict[str, str], address: str,
    headers: dict[str, str], status: int,
) -> None:  # fmt: skip
    app = create_app(app_settings(database_url, clock, instance_path, **settings))
    try:
        response = app.test_client().get("/metrics", headers=headers, environ_base={"REMOTE_ADDR": address})
        assert response.status_code == status
        if status == 200:
            assert "linje72_spool_depth" in response.get_data(as_text=True)
    finally:
        dispose(app)


@pytest.mark.usefixtures("region")
def test_a_call_is_counted_by_route_and_outcome_its_rings_by_status_and_its_steps_timed(
    app: Flask, client: FlaskClient
) -> None:
    before = scrape(client)
    play_call(app, "+4532501010", ScriptedPhone([CPR, "1"], {ANNA: "1"}))
    after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert grew("linje72_calls_total", route="responsibility", outcome="connected") == 1
    assert grew("linje72_dial_attempts_total", status="accepted") == 1
    for step in ("incoming", "patient", "confirm", "whisper", "whisper_answer", "dial_result", "status"):
        assert grew("linje72_webhook_seconds_count", step=step) >= 1, step
    assert CPR not in after and "+4532501010" not in after and ANNA not in after


@pytest.mark.usefixtures("region")
def test_a_test_call_and_a_repeated_status_callback_are_not_counted(app: Flask, client: FlaskClient) -> None:
    before = scrape(client)
    play_call(app, "+4532501010", ScriptedPhone([CPR, "1"], {ANNA: "1"}), test_call=True)
    trace = play_call(app, "+4532501010", ScriptedPhone([CPR, "1"], {ANNA: "1"}))
    form = {**FORM, "CallSid": trace.call_sid, "From": "+4532501010", "CallStatus": "completed"}
    assert post_signed(client, "/voice/status", form).status_code == 204
    after = scrape(client)
    calls = "linje72_calls_total"
    labels = {"route": "responsibility", "outcome": "connected"}
    assert sample(after, calls, **labels) - sample(before, calls, **labels) == 1


def test_refused_signatures_are_counted_as_security_events(client: FlaskClient) -> None:
    name = "linje72_security_events_total"
    before = sample(scrape(client), name, kind="refused_signature")
    assert client.post("/voice/incoming", data=FORM).status_code == 403
    assert sample(scrape(client), name, kind="refused_signature") - before == 1


@pytest.mark.usefixtures("region")
def test_failed_unit_codes_are_counted_as_security_events(app: Flask, client: FlaskClient) -> None:
    name = "linje72_security_events_total"
    before = sample(scrape(client), name, kind="unit_code_failed")
    play_call(app, "+4599887766", ScriptedPhone(["1111", "2222", "3333"]))
    assert sample(scrape(client), name, kind="unit_code_failed") - before == 3


def test_the_spool_depth_is_what_the_spool_reports(client: FlaskClient) -> None:
    assert sample(scrape(client), "linje72_spool_depth") == 0
    metrics.set_spool_depth_source(lambda: 3)
    try:
        assert sample(scrape(client), "linje72_spool_depth") == 3
    finally:
        metrics.set_spool_depth_source(lambda: 0)


def test_the_coverage_gaps_ahead_are_counted_once_a_minute(
    app: Flask, client: FlaskClient, session: Session, clock: Clock
) -> None:
    cardiology = f.department(session, oncall_phone=None)  # on call only by the rota: gaps can open
    f.shift(session, cardiology, "day", "2026-11-23 08:00", "2026-11-23 15:00", ANNA, "Anna Holm")
    session.commit()
    expected = len(find_gaps(session, app.config["POLICY"].calendar, clock.now, timedelta(days=7)))
    assert expected > 0
    assert sample(scrape(client), "linje72_coverage_gaps_ahead") == expected
    # The evening is covered now; the scrape within the minute still shows the count it made.
    f.shift(session, cardiology, "oncall", "2026-11-23 15:00", "2026-11-24 08:00", "+4540101002", "Bo Jensen")
    session.commit()
    fewer = len(find_gaps(session, app.config["POLICY"].calendar, clock.now, timedelta(days=7)))
    assert fewer != expected
    assert sample(scrape(client), "linje72_coverage_gaps_ahead") == expected
    clock.now += timedelta(seconds=61)
    recounted = len(find_gaps(session, app.config["POLICY"].calendar, clock.now, timedelta(days=7)))
    assert sample(scrape(client), "linje72_coverage_gaps_ahead") == recounted
