"""Warnings that reach people: gaps told once by SMS or call, reminded a day ahead, delivery followed."""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from app import create_app
from app.config import ConfigError
from app.data.db import Base, dispose
from app.data.models import AuditEvent, Department, GapAlert, OutgoingMessage
from app.intake.rota import ShiftRecord
from app.services.overrides import OverrideRequest, add_override
from app.services.rota import Author, publish_rota
from app.values.times import parse_time
from app.values.warnings import GapFacts, Kind, fits_one_segment, sms_text
from routing import Gap, Period, Role
from routing.alerts import KnownGap, plan_alerts
from schedules.jobs import announce_sending, check_gaps, watch_rota
from tests import factories as f
from tests.fake_twilio import FakeTwilio, NoInternet
from tests.support import AUTH_TOKEN, PUBLIC_URL, Clock, app_settings

ACCOUNT = "AC" + "0123456789abcdef" * 2
MOBILE, LANDLINE, OTHER_MOBILE = "+4540000001", "+4533000002", "+4540000003"
DOCTOR = "+4540101002"
SENDING = {
    "TWILIO_ACCOUNT_SID": ACCOUNT,
    "LINJE72_SMS_FROM": "+4570207272",
    "TWILIO_REGION": "ie1",
    "TWILIO_EDGE": "dublin",
}
# The one gap of the test rota: Wednesday night, nobody on call (the department has no on-call phone).
GAP_START, GAP_END = "2026-11-25 15:00", "2026-11-26 08:00"


@pytest.fixture
def provider() -> FakeTwilio:
    return FakeTwilio()


@pytest.fixture(autouse=True)
def no_internet(monkeypatch: pytest.MonkeyPatch) -> Iterator[NoInternet]:
    guard = NoInternet(monkeypatch)
    yield guard
    assert guard.attempts == [], "a request tried to leave the machine"


def build(migrated: Engine, database_url: str, clock: Clock, instance_path: str, **settings: object) -> Flask:
    with migrated.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    return create_app(app_settings(database_url, clock, instance_path, **settings))


@pytest.fixture
def app(
    migrated: Engine, database_url: str, clock: Clock, instance_path: str, provider: FakeTwilio
) -> Iterator[Flask]:
    app = build(
        migrated, database_url, clock, instance_path, **SENDING, PROVIDER_HTTP_CLIENT=lambda: provider
    )
    yield app
    dispose(app)


def night_rota(skip: tuple[str, ...] = ("2026-11-25",)) -> list[ShiftRecord]:
    """On call from 15:00 to 15:00 every day from 22 November for three weeks, but the days skipped."""
    records = []
    first = parse_time("2026-11-22 15:00")
    for day in range(21):
        start = first + timedelta(days=day)
        if start.strftime("%Y-%m-%d") in skip:
            continue
        records.append(
            ShiftRecord("RH-KARD", Role.ONCALL, start, start + timedelta(days=1), DOCTOR, "Bo Jensen", day)
        )
    return records


def publish(app: Flask, session: Session, records: list[ShiftRecord], now: datetime) -> None:
    author = Author("planner@x.dk", "cli")
    publish_rota(session, app.config["POLICY"], records, now, author, acknowledged=True)
    session.commit()


@pytest.fixture
def region(app: Flask, session: Session, clock: Clock) -> Department:
    """RH-KARD without an on-call phone, a rota with one uncovered night, a mobile and a landline."""
    dept = f.department(session, oncall_phone=None)
    f.discharge(app, session, dept, "2026-11-21T10:30:00+01:00")
    from app.services.planner_phones import add_planner_phone

    add_planner_phone(session, "RH-KARD", MOBILE, name="Planlægger Pia")
    add_planner_phone(session, "RH-KARD", LANDLINE, name="Sekretariatet", mobile=False)
    session.commit()
    publish(app, session, night_rota(), clock.now)
    return dept


def messages(session: Session) -> list[OutgoingMessage]:
    # A new transaction (on SQLite an open one keeps reading its old snapshot), nothing cached.
    session.commit()
    session.expire_all()
    return list(session.scalars(select(OutgoingMessage).order_by(OutgoingMessage.id)))


def alerts(session: Session) -> list[GapAlert]:
    session.commit()
    session.expire_all()
    return list(session.scalars(select(GapAlert).order_by(GapAlert.id)))


def said(twiml: str) -> list[ET.Element]:
    root = ET.fromstring(twiml)
    assert root.tag == "Response"
    return list(root.iter("Say"))


@pytest.mark.usefixtures("region")
def test_a_gap_is_told_by_sms_to_mobiles_and_by_a_call_to_landlines_through_ireland(
    app: Flask, session: Session, provider: FakeTwilio
) -> None:
    assert watch_rota(app) == 2

    (alert,) = alerts(session)
    assert (alert.start_at, alert.end_at) == (parse_time(GAP_START), parse_time(GAP_END))
    (sms,) = provider.of_kind("sms")
    (call,) = provider.of_kind("call")
    for request in (sms, call):
        assert request.host == "api.dublin.ie1.twilio.com"
        assert request.url.startswith(f"https://api.dublin.ie1.twilio.com/2010-04-01/Accounts/{ACCOUNT}/")
        assert request.auth == (ACCOUNT, AUTH_TOKEN)
    assert sms.data["To"] == MOBILE and sms.data["From"] == "+4570207272"
    assert sms.data["StatusCallback"] == f"{PUBLIC_URL}/sms/status"
    # One segment, with the department's name and the link to its timeline.
    assert sms.data["Body"] == (
        "Linje 72: Hul i vagtplanen for RH-KARD Hjertemedicinsk Klinik: ingen vagthavende "
        "fra ons 25.11 15:00 til tor 26.11 08:00. http://localhost/coverage/RH-KARD"
    )
    assert len(sms.data["Body"]) <= 160
    assert call.data["To"] == LANDLINE and call.data["From"] == "+4570207272"
    assert call.data["StatusCallback"] == f"{PUBLIC_URL}/sms/call-status"
    spoken = said(str(call.data["Twiml"]))
    assert len(spoken) == 2 and spoken[0].text == spoken[1].text
    assert all(say.get("language") == "da-DK" and say.get("voice") == "Polly.Naja" for say in spoken)
    assert "onsdag den 25. november klokken 15:00 til torsdag den 26. november klokken 08:00" in str(
        spoken[0].text
    )
    recorded = messages(session)
    assert [(m.channel, m.to_number, m.purpose, m.status) for m in recorded] == [
        ("sms", MOBILE, "gap", "queued"),
        ("voice", LANDLINE, "gap", "queued"),
    ]
    assert all(m.provider_sid and m.gap_alert_id == alert.id for m in recorded)


@pytest.mark.usefixtures("region")
def test_the_next_mornings_check_tells_nothing_new_and_a_day_before_comes_one_reminder(
    app: Flask, session: Session, provider: FakeTwilio, clock: Clock
) -> None:
    watch_rota(app)
    clock.set("2026-11-24 07:00")
    assert check_gaps(app) == 0
    assert watch_rota(app) == 0
    assert len(provider.sent) == 2

    clock.set("2026-11-24 14:59")
    assert watch_rota(app) == 0
    clock.set("2026-11-24 15:00")  # 24 hours before the gap
    assert watch_rota(app) == 2
    reminder = provider.of_kind("sms")[-1].data["Body"]
    assert reminder.startswith("Linje 72: Påmindelse: hul i vagtplanen for RH-KARD")
    assert "om under et døgn" in reminder and "ons 25.11 15:00" in reminder
    assert "en påmindelse" in str(said(str(provider.of_kind("call")[-1].data["Twiml"]))[0].text)
    clock.set("2026-11-24 15:03")
    assert watch_rota(app) == 0
    clock.set("2026-11-25 07:00")
    assert check_gaps(app) == 0
    assert len(provider.sent) == 4
    assert alerts(session)[0].near_alert_at == parse_time("2026-11-24 15:00")


@pytest.mark.usefixtures("region")
def test_a_reminder_due_at_night_waits_for_the_morning_and_a_gap_found_within_a_day_gets_none(
    app: Flask, session: Session, provider: FakeTwilio, clock: Clock
) -> None:
    # Bo covers Wednesday until 02:00: the gap is Thursday 02:00 to 08:00; a day before is night.
    start = parse_time("2026-11-25 15:00")
    bo = ShiftRecord("RH-KARD", Role.ONCALL, start, start + timedelta(hours=11), DOCTOR, "Bo Jensen")
    publish(app, session, [*night_rota(), bo], clock.now)
    watch_rota(app)
    assert len(provider.sent) == 2
    for moment in ("2026-11-24 23:00", "2026-11-25 02:00", "2026-11-25 06:59"):
        clock.set(moment)
        assert watch_rota(app) == 0, moment
    clock.set("2026-11-25 07:00")
    assert watch_rota(app) == 2
    assert "Påmindelse" in provider.of_kind("sms")[-1].data["Body"]
    # A gap found less than a day ahead is told once; the first message is the reminder.
    clock.set("2026-11-26 10:00")
    publish(app, session, night_rota(skip=("2026-11-25", "2026-11-26")), clock.now)
    assert watch_rota(app) == 2
    assert [a.near_alert_at is not None for a in alerts(session)] == [True, True]
    clock.set("2026-11-26 10:03")
    assert watch_rota(app) == 0


@pytest.mark.usefixtures("region")
@pytest.mark.parametrize("how", ["override", "publish"])
def test_a_gap_covered_later_is_closed_told_by_sms_and_never_reminded(
    app: Flask, session: Session, provider: FakeTwilio, clock: Clock, how: str
) -> None:
    watch_rota(app)
    clock.set("2026-11-23 13:00")
    if how == "override":
        request = OverrideRequest(
            "RH-KARD", parse_time(GAP_START), parse_time(GAP_END), "Dorte Berg", "+4540101004", role="oncall"
        )
        add_override(session, request, clock.now, actor="planner@x.dk")
        session.commit()
    else:
        publish(app, session, night_rota(skip=()), clock.now)
    assert watch_rota(app) == 1  # "covered now", by SMS only: good news rings nobody
    covered = provider.sent[-1]
    assert covered.kind == "sms" and covered.data["To"] == MOBILE
    assert covered.data["Body"] == (
        "Linje 72: Hullet i vagtplanen for RH-KARD Hjertemedicinsk Klinik fra ons 25.11 15:00 "
        "til tor 26.11 08:00 er dækket nu. http://localhost/coverage/RH-KARD"
    )
    (alert,) = alerts(session)
    assert alert.closed_at == parse_time("2026-11-23 13:00")
    clock.set("2026-11-24 15:00")
    assert watch_rota(app) == 0
    assert len(provider.sent) == 3


@pytest.mark.usefixtures("region")
def test_a_publish_that_opens_a_gap_is_told_at_the_next_poll(
    app: Flask, session: Session, provider: FakeTwilio, clock: Clock
) -> None:
    publish(app, session, night_rota(skip=()), clock.now)
    assert watch_rota(app) == 0
    assert alerts(session) == []
    clock.set("2026-11-23 11:00")
    assert watch_rota(app) == 0  # nothing changed: nothing checked
    publish(app, session, night_rota(skip=("2026-11-27",)), clock.now)
    clock.set("2026-11-23 11:03")
    assert watch_rota(app) == 2
    (alert,) = alerts(session)
    assert alert.start_at == parse_time("2026-11-27 15:00")
    assert alert.end_at == parse_time("2026-11-28 15:00")  # Friday evening to Saturday afternoon
    assert "fra fre 27.11 15:00 til lør 28.11 15:00" in provider.of_kind("sms")[0].data["Body"]


@pytest.mark.usefixtures("region")
def test_a_gap_that_shrinks_is_not_told_again_and_one_that_grows_is(
    app: Flask, session: Session, provider: FakeTwilio, clock: Clock
) -> None:
    watch_rota(app)
    start = parse_time(GAP_START)
    cecilie = ShiftRecord("RH-KARD", Role.ONCALL, start, start + timedelta(hours=4), "+4540101003", "Cecilie")
    publish(app, session, [*night_rota(), cecilie], clock.now)
    assert watch_rota(app) == 0
    (alert,) = alerts(session)
    assert alert.start_at == start + timedelta(hours=4)
    # Cecilie cannot after all: the gap takes back hours that were covered, the planners hear again.
    publish(app, session, night_rota(), clock.now)
    assert watch_rota(app) == 2
    (alert,) = alerts(session)
    assert alert.start_at == start
    assert (
        provider.of_kind("sms")[-1]
        .data["Body"]
        .startswith(
            "Linje 72: Hullet i vagtplanen for RH-KARD er blevet større: "
            "ingen vagthavende fra ons 25.11 15:00"
        )
    )


def sign(url: str, form: dict[str, str], token: str = AUTH_TOKEN) -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(url, form)}


def report(client: FlaskClient, sid: str, status: str, *, token: str = AUTH_TOKEN, **more: str) -> int:
    form = {"MessageSid": sid, "MessageStatus": status, "AccountSid": ACCOUNT, **more}
    headers = sign(f"{PUBLIC_URL}/sms/status", form, token)
    return client.post("/sms/status", data=form, headers=headers).status_code


@pytest.mark.usefixtures("region")
@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}, "another token", "another url"],
    ids=["none", "garbage", "another token", "another url"],
)
def test_a_status_report_without_a_valid_signature_is_refused_and_changes_nothing(
    app: Flask, session: Session, client: FlaskClient, provider: FakeTwilio, headers: object
) -> None:
    watch_rota(app)
    sms = messages(session)[0]
    form = {"MessageSid": str(sms.provider_sid), "MessageStatus": "failed", "ErrorCode": "30003"}
    if headers == "another token":
        headers = sign(f"{PUBLIC_URL}/sms/status", form, "not-the-token-0123456789abcdef")
    elif headers == "another url":
        headers = sign("https://elsewhere.example/sms/status", form)
    response = client.post("/sms/status", data=form, headers=headers)  # type: ignore[arg-type]
    assert response.status_code == 403
    assert [(m.status, m.error) for m in messages(session)] == [("queued", None), ("queued", None)]
    assert len(provider.sent) == 2


@pytest.mark.usefixtures("region")
def test_delivery_is_recorded_once_and_a_late_report_never_moves_it_back(
    app: Flask, session: Session, client: FlaskClient, clock: Clock
) -> None:
    app.config["TWILIO_AUTH_TOKEN_SECONDARY"] = "the-next-token-0123456789abcdef"
    watch_rota(app)
    sid = str(messages(session)[0].provider_sid)
    clock.set("2026-11-23 10:01")
    assert report(client, sid, "sent") == 204
    clock.set("2026-11-23 10:02")
    assert report(client, sid, "delivered", token="the-next-token-0123456789abcdef") == 204
    clock.set("2026-11-23 10:03")
    assert report(client, sid, "delivered") == 204
    assert report(client, sid, "sent") == 204
    sms = messages(session)[0]
    assert (sms.status, sms.status_at) == ("delivered", parse_time("2026-11-23 10:02"))
    assert report(client, "SM" + "f" * 32, "delivered") == 204  # none of ours: ignored
    assert report(client, "not-a-sid", "delivered") == 400


@pytest.mark.usefixtures("region")
@pytest.mark.parametrize("status", ["failed", "undelivered"])
def test_an_sms_that_fails_becomes_one_call_to_the_same_number(
    app: Flask, session: Session, client: FlaskClient, provider: FakeTwilio, status: str
) -> None:
    watch_rota(app)
    sms = messages(session)[0]
    assert report(client, str(sms.provider_sid), status, ErrorCode="30005") == 204
    assert report(client, str(sms.provider_sid), status, ErrorCode="30005") == 204
    calls = [request for request in provider.of_kind("call") if request.data["To"] == MOBILE]
    assert len(calls) == 1
    assert "Hjertemedicinsk Klinik, afdeling RH-KARD, har ingen vagthavende" in str(
        said(str(calls[0].data["Twiml"]))[0].text
    )
    failed, replacement = messages(session)[0], messages(session)[-1]
    assert (failed.status, failed.error) == (status, "provider error 30005")
    assert (replacement.channel, replacement.to_number, replacement.replaces_id) == (
        "voice",
        MOBILE,
        failed.id,
    )


@pytest.mark.usefixtures("region")
def test_an_sms_the_provider_refuses_becomes_a_call_and_an_unreachable_provider_is_tried_again(
    app: Flask, session: Session, provider: FakeTwilio, clock: Clock
) -> None:
    provider.unreachable = True
    assert watch_rota(app) == 0
    assert [(m.status, m.provider_sid) for m in messages(session)] == [("queued", None), ("queued", None)]
    provider.unreachable = False
    provider.refuse["sms"] = (400, 21614, "'To' number is not a valid mobile number")
    clock.set("2026-11-23 10:03")
    assert watch_rota(app) == 2  # the landline's call, and a call that replaces the refused SMS
    provider.refuse.clear()
    clock.set("2026-11-23 10:06")
    assert watch_rota(app) == 0
    rows = messages(session)
    assert [(m.channel, m.to_number, m.status) for m in rows] == [
        ("sms", MOBILE, "failed"),
        ("voice", LANDLINE, "queued"),
        ("voice", MOBILE, "queued"),
    ]
    assert rows[0].error == (
        "provider error 21614: Unable to create record: 'To' number is not a valid mobile number"
    )
    assert rows[2].replaces_id == rows[0].id


CPR_LIKE = re.compile(r"\d{6}[- ]?\d{4}")


@pytest.mark.usefixtures("region")
def test_no_message_carries_patient_data(
    app: Flask, session: Session, provider: FakeTwilio, clock: Clock, client: FlaskClient
) -> None:
    watch_rota(app)
    clock.set("2026-11-24 15:00")
    watch_rota(app)
    report(client, str(messages(session)[0].provider_sid), "failed")
    texts = [m.body for m in messages(session)] + [
        str(r.data.get("Body") or r.data.get("Twiml")) for r in provider.sent
    ]
    assert len(texts) >= 8
    for text in texts:
        assert not CPR_LIKE.search(text), text
        assert f.CPR_ACTIVE not in text and "0101" not in text.replace(" ", "")
        assert "patient" not in text.lower()


def test_without_sending_settings_alerts_are_recorded_and_logged_and_nothing_is_sent(
    migrated: Engine,
    database_url: str,
    clock: Clock,
    instance_path: str,
    provider: FakeTwilio,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = build(migrated, database_url, clock, instance_path, PROVIDER_HTTP_CLIENT=lambda: provider)
    try:
        session = app.extensions["linje72.sessions"]()
        f.department(session, oncall_phone=None)
        from app.services.planner_phones import add_planner_phone

        add_planner_phone(session, "RH-KARD", MOBILE)
        session.commit()
        publish(app, session, night_rota(), clock.now)
        with caplog.at_level(logging.INFO, logger="linje72"):
            announce_sending(app)
            assert watch_rota(app) == 0
        assert (
            "SMS is off: gap warnings are recorded and logged but reach nobody; "
            "set TWILIO_ACCOUNT_SID and LINJE72_SMS_FROM to send them" in caplog.text
        )
        assert "nobody of RH-KARD answers first in oncall time from 2026-11-25 15:00 to 2026-11-26 08:00" in (
            caplog.text
        )
        assert len(alerts(session)) == 1
        (message,) = messages(session)
        assert (message.status, message.provider_sid) == ("not_sent", None)
        assert message.error == "not sent: sending is off (set TWILIO_ACCOUNT_SID and LINJE72_SMS_FROM)"
        assert provider.sent == []
        session.close()
    finally:
        dispose(app)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({**SENDING, "TWILIO_ACCOUNT_SID": "AC123"}, "TWILIO_ACCOUNT_SID must be AC and 32 hex digits"),
        ({"LINJE72_SMS_FROM": "+4570207272"}, "TWILIO_ACCOUNT_SID is not set"),
        ({"TWILIO_ACCOUNT_SID": ACCOUNT}, "LINJE72_SMS_FROM is not set"),
        ({**SENDING, "LINJE72_SMS_FROM": "Region Hovedstaden"}, "LINJE72_SMS_FROM: must be a number"),
        ({**SENDING, "LINJE72_SMS_FROM": "1813"}, "LINJE72_SMS_FROM: "),
        ({**SENDING, "LINJE72_SMS_FROM": "Linje72"}, "LINJE72_CALL_FROM is not set"),
        ({**SENDING, "LINJE72_CALL_FROM": "12"}, "LINJE72_CALL_FROM: "),
        ({**SENDING, "TWILIO_REGION": "ireland"}, "TWILIO_REGION must be one of us1, ie1, au1"),
        ({**SENDING, "TWILIO_EDGE": "Dublin"}, "TWILIO_EDGE must be one of"),
        ({"LINJE72_ALERT_TIME": "7"}, "LINJE72_ALERT_TIME: expected a time of day as HH:MM"),
        ({"LINJE72_ALERT_DAYS": "0"}, "LINJE72_ALERT_DAYS: must be a whole number above 0"),
    ],
)
def test_a_bad_sending_setting_stops_the_start_naming_it(
    database_url: str, clock: Clock, instance_path: str, settings: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        create_app(app_settings(database_url, clock, instance_path, **settings))
    assert message in str(refused.value)


def test_an_alphanumeric_sender_sends_sms_and_calls_come_from_the_call_number(
    migrated: Engine, database_url: str, clock: Clock, instance_path: str, provider: FakeTwilio
) -> None:
    settings = {**SENDING, "LINJE72_SMS_FROM": "Linje72", "LINJE72_CALL_FROM": "+45 70 20 72 73"}
    app = build(
        migrated, database_url, clock, instance_path, **settings, PROVIDER_HTTP_CLIENT=lambda: provider
    )
    try:
        session = app.extensions["linje72.sessions"]()
        f.department(session, oncall_phone=None)
        from app.services.planner_phones import add_planner_phone

        add_planner_phone(session, "RH-KARD", MOBILE)
        add_planner_phone(session, "RH-KARD", LANDLINE, mobile=False)
        session.commit()
        publish(app, session, night_rota(), clock.now)
        watch_rota(app)
        session.close()
    finally:
        dispose(app)
    assert provider.of_kind("sms")[0].data["From"] == "Linje72"
    assert provider.of_kind("call")[0].data["From"] == "+4570207273"


@pytest.fixture
def console(region: Department, session: Session) -> None:
    f.department(session, "BFH-GER", name="Geriatrisk Afdeling")
    from app.services.planner_phones import add_planner_phone

    add_planner_phone(session, "BFH-GER", OTHER_MOBILE, name="Geriatriens planlægger")
    f.user(session, "admin@x.dk", "admin")
    f.user(session, "planner@x.dk", "planner", ("RH-KARD",))
    f.user(session, "afdeling@x.dk", "department", ("RH-KARD",))
    f.user(session, "region@x.dk", "region")
    session.commit()


def logged_in(app: Flask, email: str) -> FlaskClient:
    from tests.console import log_in

    client = app.test_client()
    log_in(client, email)
    return client


@pytest.mark.usefixtures("console")
@pytest.mark.parametrize(
    ("email", "status"),
    [("admin@x.dk", 200), ("planner@x.dk", 200), ("afdeling@x.dk", 403), ("region@x.dk", 403), (None, 302)],
)
def test_the_warnings_page_is_for_admins_and_planners(app: Flask, email: str | None, status: int) -> None:
    client = logged_in(app, email) if email else app.test_client()
    assert client.get("/alerts").status_code == status


@pytest.mark.usefixtures("console")
def test_a_planner_sees_the_warnings_sent_and_their_delivery_for_their_departments_only(
    app: Flask, session: Session, client: FlaskClient
) -> None:
    watch_rota(app)
    report(client, str(messages(session)[0].provider_sid), "delivered")
    page = logged_in(app, "planner@x.dk").get("/alerts").get_data(as_text=True)
    assert "RH-KARD" in page and MOBILE in page and LANDLINE in page
    assert "BFH-GER" not in page and OTHER_MOBILE not in page
    assert "2026-11-25 15:00 – 2026-11-26 08:00" in page
    assert "leveret" in page and "hul fundet" in page and "åbent" in page
    session.commit()
    viewed = session.scalars(select(AuditEvent).where(AuditEvent.action == "view")).all()
    assert [(e.actor, e.target) for e in viewed] == [("planner@x.dk", "gap warnings")]


@pytest.mark.usefixtures("console")
def test_a_planner_adds_and_removes_their_departments_numbers_and_each_change_is_audited(
    app: Flask, session: Session
) -> None:
    from tests.console import csrf_token

    planner = logged_in(app, "planner@x.dk")
    token = csrf_token(planner, "/alerts")
    form = {
        "csrf_token": token,
        "department": "RH-KARD",
        "number": "20 12 34 56",
        "name": "Nat",
        "landline": "1",
    }
    page = planner.post("/alerts/numbers", data=form, follow_redirects=True).get_data(as_text=True)
    assert "+4520123456 får nu besked om huller i RH-KARD." in page
    bad = planner.post("/alerts/numbers", data={**form, "number": "12"}, follow_redirects=True)
    assert "Ikke tilføjet: Nummer: not a phone number that can be dialled" in bad.get_data(as_text=True)
    other = planner.post("/alerts/numbers", data={**form, "department": "BFH-GER"}, follow_redirects=True)
    assert "Ikke tilføjet: Afdeling: no department" in other.get_data(as_text=True)
    removal = {"csrf_token": token, "department": "BFH-GER", "number": OTHER_MOBILE}
    assert planner.post("/alerts/numbers/remove", data=removal).status_code == 404
    removal = {"csrf_token": token, "department": "RH-KARD", "number": MOBILE}
    assert planner.post("/alerts/numbers/remove", data=removal).status_code == 302
    session.commit()
    from app.services.planner_phones import planner_phones

    assert [(p.department.code, p.phone, p.mobile) for p in planner_phones(session)] == [
        ("BFH-GER", OTHER_MOBILE, True),
        ("RH-KARD", "+4520123456", False),
        ("RH-KARD", LANDLINE, False),
    ]
    changes = session.scalars(select(AuditEvent).where(AuditEvent.action == "change")).all()
    assert [(e.actor, e.target, e.detail) for e in changes] == [
        ("planner@x.dk", "alert numbers of RH-KARD", "added +4520123456 (call)"),
        ("planner@x.dk", "alert numbers of RH-KARD", f"removed {MOBILE}"),
    ]


def _gap(start: str, end: str) -> Gap:
    return Gap("RH-KARD", parse_time(start), parse_time(end), Period.ONCALL)


TOLD = KnownGap(1, "RH-KARD", parse_time("2026-11-25 15:00"), parse_time("2026-11-26 08:00"))
NOW, SEEN_UNTIL = parse_time("2026-11-24 07:00"), parse_time("2026-11-30 07:00")


@pytest.mark.parametrize(
    ("known", "found", "expected"),
    [
        # The same gap again: updated quietly.
        ([TOLD], [_gap("2026-11-25 15:00", "2026-11-26 08:00")], {"kept": [1]}),
        # Shrunk at either end: quiet.
        ([TOLD], [_gap("2026-11-25 19:00", "2026-11-26 06:00")], {"kept": [1]}),
        # Took covered time before it: told again.
        ([TOLD], [_gap("2026-11-25 12:00", "2026-11-26 08:00")], {"grown": [1]}),
        # The middle got covered: the first piece keeps the alert, the second gets a quiet one.
        (
            [TOLD],
            [_gap("2026-11-25 15:00", "2026-11-25 20:00"), _gap("2026-11-26 01:00", "2026-11-26 08:00")],
            {"kept": [1], "split": [1]},
        ),
        # Two told gaps joined by newly uncovered time: one alert, told again; the other closed.
        (
            [TOLD, KnownGap(2, "RH-KARD", parse_time("2026-11-26 10:00"), parse_time("2026-11-26 12:00"))],
            [_gap("2026-11-25 15:00", "2026-11-26 12:00")],
            {"grown": [1], "merged": [2]},
        ),
        # Covered: closed. Another department's gap is new, whatever it overlaps.
        ([TOLD], [Gap("BFH-GER", TOLD.start, TOLD.end, Period.ONCALL)], {"covered": [1], "new": ["BFH-GER"]}),
    ],
)
def test_the_same_gap_is_told_once_and_again_only_when_it_grew(
    known: list[KnownGap], found: list[Gap], expected: dict[str, list[object]]
) -> None:
    plan = plan_alerts(known, found, NOW, SEEN_UNTIL)
    outcome = {
        "new": [g.department for g in plan.new],
        "grown": [i for i, _ in plan.grown],
        "kept": [i for i, _ in plan.kept],
        "split": [i for i, _ in plan.split],
        "covered": plan.covered,
        "merged": plan.merged,
    }
    assert {key: value for key, value in outcome.items() if value} == expected


def test_a_gap_seen_further_at_the_end_of_the_look_ahead_has_not_grown() -> None:
    edge = KnownGap(1, "RH-KARD", parse_time("2026-11-29 15:00"), SEEN_UNTIL)
    plan = plan_alerts([edge], [_gap("2026-11-29 15:00", "2026-11-30 08:00")], NOW, SEEN_UNTIL)
    assert ([i for i, _ in plan.kept], plan.grown) == ([1], [])


def test_a_gap_under_way_keeps_its_start() -> None:
    now = parse_time("2026-11-25 20:00")
    plan = plan_alerts([TOLD], [_gap("2026-11-25 20:00", "2026-11-26 08:00")], now, SEEN_UNTIL)
    assert [(i, g.start) for i, g in plan.kept] == [(1, TOLD.start)]


@pytest.mark.parametrize(
    ("name", "link", "expected_name", "expected_link"),
    [
        ("Kardiologi", "https://l72.dk/coverage/RH-KARD", True, True),
        (
            "Hjertemedicinsk Klinik",
            "https://linje72.regionh.dk/coverage/RH-KARD",
            False,
            True,
        ),
        ("Ортопедия", "", False, False),  # not GSM-7: the name would make it a 70-character UCS-2 SMS
    ],
)
def test_an_sms_keeps_to_one_segment_dropping_the_name_first(
    name: str, link: str, expected_name: bool, expected_link: bool
) -> None:
    facts = GapFacts("RH-KARD", name, Period.ONCALL, TOLD.start, TOLD.end)
    text = sms_text(Kind.GAP, facts, link)
    assert fits_one_segment(text)
    assert (name in text, bool(link) and link in text) == (expected_name, expected_link)
