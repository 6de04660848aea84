"""The webhooks' guard rails: signatures, errors, unknown calls, and where CPR numbers go."""

from __future__ import annotations

import logging
import os
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator
from werkzeug.test import TestResponse

from app import create_app
from app.data.db import dispose
from app.data.models import Contact, DialAttempt
from ivr.flow import CallFlow
from ivr.simulator import ScriptedPhone, play_call
from tests import factories as f
from tests.support import AUTH_TOKEN, FALLBACK, PUBLIC_URL, Clock, actions, app_settings, spoken, twiml

NURSE = "+4532501010"
FORM = {"CallSid": "CA" + "1" * 32, "From": NURSE, "To": "+4570207272", "CallStatus": "ringing"}


def sign(url: str, params: dict[str, str], token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


@pytest.fixture
def region(app: Flask, session: Session) -> None:
    f.small_region(app, session)


def count_contacts(session: Session) -> int:
    session.expire_all()
    return session.scalar(select(func.count(Contact.id))) or 0


@pytest.mark.parametrize(
    ("headers", "why"),
    (
        ({}, "no signature"),
        ({"X-Twilio-Signature": "bm90LWEtc2lnbmF0dXJl"}, "a made-up signature"),
        ({"token": "another-token"}, "another token"),
        ({"X-Twilio-Signature": sign("http://localhost/voice/elsewhere", FORM)}, "signed for another URL"),
        ({"fields": "+4511111111"}, "signed over other fields"),
    ),
    ids=lambda value: value if isinstance(value, str) else "",
)
@pytest.mark.parametrize("path", ["/voice/incoming", "/voice/patient", "/voice/status", "/voice/dial-result"])
def test_a_request_without_a_valid_signature_is_refused_and_changes_nothing(
    app: Flask, session: Session, path: str, headers: dict[str, str], why: str
) -> None:
    if "token" in headers:
        headers = {"X-Twilio-Signature": sign("http://localhost" + path, FORM, headers["token"])}
    elif "fields" in headers:
        headers = {"X-Twilio-Signature": sign("http://localhost" + path, {**FORM, "From": headers["fields"]})}
    response = app.test_client().post(path, data=FORM, headers=headers)
    assert response.status_code == 403
    assert count_contacts(session) == 0


def test_behind_a_proxy_the_signature_is_checked_against_the_public_url(app: Flask, session: Session) -> None:
    app.config["LINJE72_PUBLIC_URL"] = "https://linje72.example.dk/"
    client = app.test_client()
    url = "https://linje72.example.dk/voice/incoming"
    good = client.post("/voice/incoming", data=FORM, headers={"X-Twilio-Signature": sign(url, FORM)})
    assert good.status_code == 200
    next_urls = actions(twiml(good.get_data(as_text=True)))
    assert next_urls and all(u.startswith("https://linje72.example.dk/voice/") for u in next_urls)
    internal = sign("http://localhost/voice/incoming", FORM)
    refused = client.post("/voice/incoming", data=FORM, headers={"X-Twilio-Signature": internal})
    assert refused.status_code == 403


@pytest.mark.usefixtures("region")
def test_an_error_inside_a_step_ends_in_a_spoken_message_and_the_fallback_number(
    app: Flask, session: Session, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("database went away while reading 0101401234")

    monkeypatch.setattr(CallFlow, "patient", broken)
    trace = play_call(app, NURSE, ScriptedPhone(["0101401234"], {FALLBACK: "1"}))

    assert "teknisk fejl" in trace.text
    assert trace.rung == [FALLBACK]
    assert trace.connected_to == FALLBACK
    row = session.scalars(select(Contact)).one()
    assert row.error == "error in step patient"
    assert (row.route, row.outcome) == ("invalid_patient", "forwarded")
    assert "RuntimeError" in caplog.text
    assert "0101401234" not in caplog.text


def test_a_webhook_for_an_unknown_call_is_answered_with_the_fallback(app: Flask, session: Session) -> None:
    params = {**FORM, "Digits": "0101401234"}
    url = "http://localhost/voice/patient"
    response = app.test_client().post(url, data=params, headers={"X-Twilio-Signature": sign(url, params)})
    twiml = ET.fromstring(response.get_data(as_text=True))
    assert "teknisk fejl" in (twiml.findtext("Say") or "")
    assert twiml.findtext("Dial/Number") == FALLBACK
    assert count_contacts(session) == 1


def test_even_an_unreachable_database_leaves_the_caller_with_a_message_and_the_fallback(
    database_url: str, clock: Clock, instance_path: str, caplog: pytest.LogCaptureFixture
) -> None:
    # A port nothing listens on (PostgreSQL), or a file in a folder that does not exist (SQLite):
    # the step fails, the fail-safe fails too, and the answer is built without the database.
    if database_url.startswith("postgresql"):
        unreachable = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=2"
    else:
        unreachable = "sqlite:///" + os.path.join(instance_path, "no-such-folder", "linje72.db")
    app = create_app(app_settings(unreachable, clock, instance_path))
    url = "http://localhost/voice/incoming"
    response = app.test_client().post(url, data=FORM, headers={"X-Twilio-Signature": sign(url, FORM)})
    root = twiml(response.get_data(as_text=True))
    assert response.status_code == 200
    assert "teknisk fejl" in spoken(root)
    assert root.findtext("Dial") == FALLBACK
    # After a database error the answer is built without asking the database again.
    assert "step incoming failed" in caplog.text and "OperationalError" in caplog.text
    assert "fail-safe failed" not in caplog.text


def test_the_fallback_url_speaks_and_forwards(app: Flask) -> None:
    url = "http://localhost/voice/fallback"
    response = app.test_client().post(url, data=FORM, headers={"X-Twilio-Signature": sign(url, FORM)})
    twiml = ET.fromstring(response.get_data(as_text=True))
    assert twiml.findtext("Dial") == FALLBACK


@pytest.mark.usefixtures("region")
def test_no_cpr_number_reaches_a_log_line_a_url_or_the_export(
    app: Flask, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = app.test_client()
    bodies: list[str] = []
    original = client.post

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        response = original(*args, **kwargs)
        bodies.append(str(args[0]) + response.get_data(as_text=True))
        return response

    client.post = spy  # type: ignore[method-assign]
    app.test_client = lambda: client  # type: ignore[method-assign]
    play_call(app, NURSE, ScriptedPhone(["0101401234", "1"], {"+4540101001": "1"}))
    play_call(app, NURSE, ScriptedPhone(["3102401234", "0101401234", "2", "1503521236", "1"]))
    export = app.test_cli_runner().invoke(args=["contacts", "export"]).output
    csv_export = app.test_cli_runner().invoke(args=["contacts", "export", "--format", "csv"]).output

    for text in [caplog.text, export, csv_export, *bodies]:
        for cpr in ("0101401234", "3102401234", "1503521236", "010140-1234"):
            assert cpr not in text
    assert "P-" in export


@pytest.mark.usefixtures("region")
def test_each_webhook_makes_the_same_few_queries_however_much_is_stored(app: Flask, session: Session) -> None:
    def queries_per_webhook() -> list[int]:
        counts: list[int] = []
        engine = app.extensions["linje72.engine"]
        current = {"n": 0}

        def count(*args: object) -> None:
            current["n"] += 1

        client = app.test_client()
        original = client.post

        def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
            current["n"] = 0
            response = original(*args, **kwargs)
            counts.append(current["n"])
            return response

        client.post = spy  # type: ignore[method-assign]
        event.listen(engine, "before_cursor_execute", count)
        try:
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(app, "test_client", lambda: client)
                trace = play_call(app, NURSE, ScriptedPhone(["0101401234", "1"], {"+4531102001": "1"}))
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert trace.connected_to == "+4531102001"
        return counts

    small = queries_per_webhook()
    department = f.department(session, code="OTHER", day_phone="+4531109999")
    from app.data.queries import find_department

    kard = find_department(session, "RH-KARD")
    assert kard is not None
    for n in range(200):
        f.shift(session, kard, "backup", "2026-11-01 08:00", "2026-11-02 08:00", "+4540100000", f"old {n}")
        f.shift(session, department, "day", "2026-11-23 08:00", "2026-11-23 15:00", "+4540200000")
        f.discharge(
            app, session, department, "2026-11-20T10:00:00+01:00", cpr="1503521236", external_id=f"X{n}"
        )
    f.discharge(app, session, kard, "2026-11-10T10:00:00+01:00", external_id="OLDER")
    session.commit()
    large = queries_per_webhook()
    assert large == small
    assert max(small) <= 12


def post_signed(client: FlaskClient, path: str, form: dict[str, str], **kwargs: Any) -> TestResponse:
    url = PUBLIC_URL + path
    return client.post(url, data=form, headers={"X-Twilio-Signature": sign(url, form)}, **kwargs)


@pytest.mark.parametrize(
    "headers",
    ({}, {"X-Twilio-Signature": "bm90LWEtc2lnbmF0dXJl"}, {"X-Twilio-Signature": sign("http://x/y", FORM)}),
    ids=["unsigned", "made-up", "wrong-url"],
)
def test_the_fallback_url_answers_without_a_valid_signature_and_stores_nothing(
    app: Flask, session: Session, headers: dict[str, str]
) -> None:
    response = app.test_client().post("/voice/fallback", data=FORM, headers=headers)
    root = twiml(response.get_data(as_text=True))
    assert response.status_code == 200
    assert root.findtext("Dial") == FALLBACK
    assert count_contacts(session) == 0


def test_a_request_signed_for_another_host_is_refused(app: Flask, session: Session) -> None:
    # Same provider account, another service's URL: the Host header must not decide what was signed.
    url = "https://other-service.example/voice/incoming"
    client = app.test_client()
    response = client.post(url, data=FORM, headers={"X-Twilio-Signature": sign(url, FORM)})
    assert response.status_code == 403
    assert count_contacts(session) == 0


def test_a_secondary_token_is_accepted_while_the_token_is_rotated(
    database_url: str, clock: Clock, instance_path: str, session: Session
) -> None:
    app = create_app(
        app_settings(database_url, clock, instance_path, TWILIO_AUTH_TOKEN_SECONDARY="new-token")
    )
    url = PUBLIC_URL + "/voice/incoming"
    client = app.test_client()
    for token, status in (("new-token", 200), (AUTH_TOKEN, 200), ("third-token", 403)):
        form = {**FORM, "CallSid": "CA" + token.encode().hex()[:32].ljust(32, "0")}
        response = client.post(url, data=form, headers={"X-Twilio-Signature": sign(url, form, token)})
        assert response.status_code == status, token
    dispose(app)


def test_a_body_of_10_mib_is_refused_before_it_is_read(app: Flask, session: Session) -> None:
    form = {**FORM, "Padding": "x" * (10 * 1024 * 1024)}
    response = post_signed(app.test_client(), "/voice/incoming", form)
    assert response.status_code == 413
    assert count_contacts(session) == 0


@pytest.mark.parametrize(
    "call_sid",
    ["", "CA-short", "CA" + "g" * 32, "CA" + "1" * 40],
    ids=["missing", "short", "not-hex", "long"],
)
def test_a_missing_or_malformed_call_sid_is_refused_and_stores_nothing(
    app: Flask, session: Session, call_sid: str
) -> None:
    form = {key: value for key, value in FORM.items() if key != "CallSid"}
    if call_sid:
        form["CallSid"] = call_sid
    client = app.test_client()
    for path in ("/voice/incoming", "/voice/incoming", "/voice/status"):
        assert post_signed(client, path, form).status_code == 400
    assert count_contacts(session) == 0


@pytest.mark.usefixtures("region")
def test_a_callee_leg_must_belong_to_the_call_it_was_dialled_for(app: Flask, session: Session) -> None:
    client = app.test_client()
    assert post_signed(client, "/voice/incoming", FORM).status_code == 200
    assert post_signed(client, "/voice/patient", {**FORM, "Digits": "0101401234"}).status_code == 200
    assert post_signed(client, "/voice/confirm", {**FORM, "Digits": "1"}).status_code == 200
    attempt = session.scalars(select(DialAttempt)).one()
    leg = {"CallSid": "CA" + "2" * 32, "From": NURSE, "To": attempt.number}
    assert (
        post_signed(
            client, "/voice/whisper-answer?attempt=x1", {**leg, "ParentCallSid": FORM["CallSid"]}
        ).status_code
        == 400
    )
    assert post_signed(client, f"/voice/whisper-answer?attempt={attempt.id}", leg).status_code == 400

    # A leg that names another call as its parent cannot accept this call's attempt.
    other = {**leg, "ParentCallSid": "CA" + "3" * 32, "Digits": "1"}
    response = post_signed(client, f"/voice/whisper-answer?attempt={attempt.id}", other)
    assert twiml(response.get_data(as_text=True)).find("Hangup") is not None
    session.expire_all()
    row = session.scalars(select(Contact)).one()
    assert (row.outcome, row.attempts[0].status) == (None, None)


def test_action_urls_stay_under_the_public_url_with_a_mount_prefix(
    database_url: str, clock: Clock, instance_path: str, session: Session
) -> None:
    public = "https://hospital.example/linje72"
    app = create_app(app_settings(database_url, clock, instance_path, LINJE72_PUBLIC_URL=public))
    url = public + "/voice/incoming"
    response = app.test_client().post(
        "/voice/incoming",
        data=FORM,
        headers={"X-Twilio-Signature": sign(url, FORM)},
        environ_base={"SCRIPT_NAME": "/linje72"},
    )
    assert response.status_code == 200
    next_urls = actions(twiml(response.get_data(as_text=True)))
    assert next_urls and all(
        u.startswith(public + "/voice/") and "/linje72/linje72" not in u for u in next_urls
    )
    dispose(app)


def test_refused_signatures_are_counted_in_the_log_and_not_stored(
    app: Flask, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    client = app.test_client()
    for _ in range(3):
        assert client.post("/voice/incoming", data=FORM).status_code == 403
    refusals = [r.getMessage() for r in caplog.records if "without a valid signature" in r.getMessage()]
    counts = [int(message.split()[2]) for message in refusals]
    assert len(counts) == 3 and counts == sorted(counts) and counts[-1] - counts[0] == 2
    assert count_contacts(session) == 0


NASTY_NAMES = (
    "Pleje\x0bhjemmet <Solgården> & Co",
    'Hjemmeplejen "Nord" \x01\x1f',
    "=cmd|' /C calc'!A0",
    "Ærø & Øster-Å, \ufffe",
)


@pytest.mark.parametrize("name", NASTY_NAMES, ids=["vertical-tab", "control", "formula", "non-character"])
def test_whatever_name_is_stored_the_twiml_is_well_formed_xml(
    app: Flask, session: Session, name: str
) -> None:
    # Stored directly, as older data or another system might have it: the import would refuse it.
    dept = f.department(session, name=name, hospital=name)
    f.caller(session, organisation=name)
    f.shift(session, dept, "day", "2026-11-23 08:00", "2026-11-23 15:00", "+4540101001", name)
    f.discharge(app, session, dept, "2026-11-21T10:30:00+01:00")
    session.commit()
    # The simulator parses every answer as XML, as the provider does; the callee hears the context.
    trace = play_call(app, NURSE, ScriptedPhone(["0101401234", "1"], {"+4540101001": "1"}))
    assert trace.connected_to == "+4540101001"
    assert trace.http_statuses and set(trace.http_statuses) == {200}
    assert any("ringer om en patient fra" in said for said in trace.rings[0].whisper)
