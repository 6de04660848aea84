"""A planner sends the doctor concerned the override form as a link by SMS; the link still needs a login."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app.data.db import dispose
from app.data.models import AuditEvent, OutgoingMessage
from tests import factories as f
from tests.console import csrf_token, log_in
from tests.fake_twilio import FakeTwilio, NoInternet
from tests.support import PUBLIC_URL, Clock
from tests.test_alerts import SENDING, build

BO = "+4540102002"


@pytest.fixture
def provider() -> FakeTwilio:
    return FakeTwilio()


@pytest.fixture(autouse=True)
def no_internet(monkeypatch: pytest.MonkeyPatch) -> Iterator[NoInternet]:
    guard = NoInternet(monkeypatch)
    yield guard
    assert guard.attempts == [], "a request tried to leave the machine"


@pytest.fixture
def app(
    migrated: Engine, database_url: str, clock: Clock, instance_path: str, provider: FakeTwilio
) -> Iterator[Flask]:
    app = build(
        migrated, database_url, clock, instance_path, **SENDING, PROVIDER_HTTP_CLIENT=lambda: provider
    )
    yield app
    dispose(app)


@pytest.fixture
def region(app: Flask, session: Session, clock: Clock) -> None:
    clock.set("2026-11-23T08:30:00+01:00")
    dept = f.department(session, "BFH-GER", oncall_phone=None)
    f.shift(session, dept, "oncall", "2026-11-25 15:30", "2026-11-26 08:00", BO, "Bo Jensen")
    f.department(session, "RH-KARD")
    f.user(session, "planner@x.dk", "planner", ("BFH-GER",))
    f.user(session, "other@x.dk", "planner", ("RH-KARD",))
    session.commit()


FORM = {"department": "BFH-GER", "start": "2026-11-25T15:30", "end": "2026-11-26T08:00", "replaces": BO}


@pytest.mark.usefixtures("region")
def test_the_doctor_gets_the_prefilled_form_by_sms_and_must_log_in_to_use_it(
    app: Flask, session: Session, provider: FakeTwilio
) -> None:
    planner = app.test_client()
    log_in(planner, "planner@x.dk")
    token = csrf_token(
        planner, "/overrides/new?department=BFH-GER&start=2026-11-25T15:30&end=2026-11-26T08:00"
    )
    response = planner.post("/overrides/link", data={"csrf_token": token, "to": "40 10 20 02", **FORM})
    assert response.status_code == 302
    shown = planner.get(response.headers["Location"]).get_data(as_text=True)
    assert "+4540102002" in shown and 'value="2026-11-25T15:30"' in shown

    [sms] = provider.of_kind("sms")
    assert sms.data["To"] == BO
    body = sms.data["Body"]
    assert body.startswith("Linje 72: Hvem dækker vagten i BFH-GER fra ons 25.11 15:30 til tor 26.11 08:00?")
    link = body.rsplit(" ", 1)[-1]
    assert link.startswith(f"{PUBLIC_URL}/overrides/new?")
    assert {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()} == FORM
    message = session.scalars(select(OutgoingMessage)).one()
    assert (message.purpose, message.channel, message.gap_alert_id) == ("override_link", "sms", None)
    audit = session.scalars(select(AuditEvent).where(AuditEvent.target == "override link")).one()
    assert audit.actor == "planner@x.dk" and BO in audit.detail

    # The doctor follows the link: nothing without a login, then the form as the planner filled it.
    path = link.removeprefix(PUBLIC_URL)
    doctor = app.test_client()
    first = doctor.get(path)
    assert first.status_code == 302 and "/login?next=" in first.headers["Location"]
    log_in(doctor, "planner@x.dk")
    page = doctor.get(path).get_data(as_text=True)
    assert 'value="2026-11-25T15:30"' in page and "Bo Jensen" in page


@pytest.mark.parametrize(
    ("who", "fields", "status", "message"),
    (
        ("planner@x.dk", {"to": "12"}, 422, "not a phone number"),
        ("planner@x.dk", {"to": "1813"}, 422, ""),
        ("other@x.dk", {"to": BO}, 404, ""),
    ),
)
@pytest.mark.usefixtures("region")
def test_a_link_to_a_bad_number_or_another_department_sends_nothing(
    app: Flask,
    session: Session,
    provider: FakeTwilio,
    who: str,
    fields: dict[str, str],
    status: int,
    message: str,
) -> None:
    client = app.test_client()
    log_in(client, who)
    token = csrf_token(client, "/overrides")
    response = client.post("/overrides/link", data={"csrf_token": token, **FORM, **fields})
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert provider.of_kind("sms") == [] and session.scalars(select(OutgoingMessage)).all() == []
