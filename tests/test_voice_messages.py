"""A caller's voice message when nobody answered: recorded, copied into our encrypted store, deleted at
the provider, played to the department's staff through the app, rotated and purged with the call."""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app import create_app
from app.config import ConfigError
from app.data.db import Base, dispose, session_scope
from app.data.models import AuditEvent, Contact, FollowUp, VoiceMessage
from app.messaging import MediaResponse, ProviderHttpClient
from app.services import keys
from app.services.retention import purge
from app.values.cpr import derive_pseudonym_key, key_id, key_id_of
from ivr.simulator import CallTrace, Provider, ScriptedPhone, play_call
from schedules.jobs import copy_voice_messages
from tests import factories as f
from tests.console import log_in
from tests.fake_twilio import FakeTwilio, NoInternet
from tests.support import AUTH_TOKEN, PUBLIC_URL, SECRET_KEY, Clock, app_settings

NURSE, GP, WITHHELD = "+4532501010", "+4532501040", "anonymous"
ANNA, DAY_PHONE = "+4540101001", "+4531102001"
CPR = f.CPR_ACTIVE
ACCOUNT = "AC" + "0" * 32  # the simulator's account
NEW = "the-new-secret-for-cpr-numbers-0123456789abcdef"
# Who signs in: their address, role and departments.
ACCOUNTS = {
    "department": ("kard@x.dk", "department", ("RH-KARD",)),
    "other department": ("ger@x.dk", "department", ("BFH-GER",)),
    "region": ("region@x.dk", "region", ()),
    "admin": ("admin@x.dk", "admin", ()),
}
DANISH = (
    "Det lykkedes ikke at få fat i nogen. Afdelingen ringer dig op hurtigst muligt. "
    "Er patientens liv i fare, så ring 112.",
    "Du kan indtale en kort besked efter tonen, højst ét minut. Beskeden bliver optaget og afspillet "
    "kun for afdelingens personale. Tryk firkant eller læg på, når du er færdig.",
    "Tak. Farvel.",
)
ENGLISH = (
    "Nobody could be reached. The department will call you back. "
    "If the patient's life is in danger, call 112.",
    "You may leave a short message after the tone, at most one minute. It is recorded and played only to "
    "the department's staff. Press hash or hang up when you are done.",
    "Thank you. Goodbye.",
)


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTwilio]:
    guard = NoInternet(monkeypatch)
    yield FakeTwilio()
    assert guard.attempts == [], "a request tried to leave the machine"


def build(database_url: str, clock: Clock, instance_path: str, provider: FakeTwilio, **more: str) -> Flask:
    settings = app_settings(database_url, clock, instance_path, PROVIDER_HTTP_CLIENT=lambda: provider, **more)
    return create_app(settings)


@pytest.fixture
def app(
    migrated: Engine, database_url: str, clock: Clock, instance_path: str, provider: FakeTwilio
) -> Iterator[Flask]:
    with migrated.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    made = build(database_url, clock, instance_path, provider, LINJE72_PSEUDONYM_KEY=PSEUDONYMS)
    yield made
    dispose(made)


PSEUDONYMS = derive_pseudonym_key(SECRET_KEY).hex()


@pytest.fixture
def region(app: Flask, session: Session) -> None:
    """Monday 23 November 10:00: RH-KARD holds a patient discharged on Saturday; Anna is on the rota."""
    cardiology = f.department(session)
    f.department(session, "BFH-GER", name="Geriatrisk Afdeling", hospital="Bispebjerg")
    f.caller(session)
    f.caller(session, phone=GP, code=None, organisation="Lægehuset Nørrebro", kind="gp", language="en")
    f.caller(session, phone=None, code="4713", organisation="Kildegården", kind="temporary_stay")
    f.shift(session, cardiology, "day", "2026-11-23 08:00", "2026-11-23 15:00", ANNA, "Anna Holm")
    f.discharge(app, session, cardiology, "2026-11-21T10:30:00+01:00")
    for email, role, departments in ACCOUNTS.values():
        f.user(session, email, role, departments)
    session.commit()


def unanswered_call_with_message(
    app: Flask, provider: FakeTwilio, caller: str = NURSE, seconds: int = 12
) -> CallTrace:
    """A call nobody answers, in which the caller leaves a message of `seconds`."""
    keys_pressed = ["4713#", CPR, "1"] if caller == WITHHELD else [CPR, "1"]
    return play_call(app, caller, ScriptedPhone(keys_pressed, message_seconds=seconds), recordings=provider)


def message(session: Session) -> VoiceMessage:
    session.rollback()  # a new transaction: what the app committed since
    return session.scalars(select(VoiceMessage)).one()


def messages(session: Session) -> list[VoiceMessage]:
    session.rollback()
    return list(session.scalars(select(VoiceMessage)))


def follow_up(session: Session) -> int:
    """The call-back task the call made (an unanswered call becomes one)."""
    session.rollback()
    contact = session.scalars(select(Contact)).one()
    task = session.scalars(select(FollowUp).where(FollowUp.contact_id == contact.id)).one()
    return task.id


def signed_in(app: Flask, role: str) -> FlaskClient:
    client = app.test_client()
    log_in(client, ACCOUNTS[role][0])
    return client


@pytest.mark.usefixtures("region")
def test_a_caller_nobody_answered_leaves_a_message_that_is_stored_encrypted_and_deleted_at_the_provider(
    app: Flask, session: Session, provider: FakeTwilio, clock: Clock
) -> None:
    trace = unanswered_call_with_message(app, provider)

    assert tuple(trace.said[-3:]) == DANISH
    assert set(trace.http_statuses) <= {200, 204}
    contacts = session.scalars(select(Contact)).all()
    assert len(contacts) == 1
    assert (contacts[0].route, contacts[0].outcome, contacts[0].follow_up) == (
        "responsibility",
        "unanswered",
        True,
    )
    stored = message(session)
    assert (stored.recording_sid, stored.seconds, stored.contact_id) == (
        trace.recordings[0],
        12,
        contacts[0].id,
    )
    assert stored.stored_at == clock.now and stored.provider_deleted_at == clock.now
    assert stored.error is None
    audio = provider.recorded[trace.recordings[0]]
    assert stored.audio_encrypted is not None and audio[:64] not in stored.audio_encrypted
    assert len(stored.audio_encrypted) >= len(audio)  # all of it, encrypted (with a tag and a nonce)
    # The provider's copy is gone: fetched once and deleted once, with the account's credentials.
    deletes = provider.of_kind("delete")
    assert [(d.method, d.auth) for d in deletes] == [("DELETE", (ACCOUNT, AUTH_TOKEN))]
    assert deletes[0].url.endswith(f"/Accounts/{ACCOUNT}/Recordings/{trace.recordings[0]}.json")
    assert trace.recordings[0] not in provider.recordings


@pytest.mark.usefixtures("region")
def test_the_message_is_recorded_with_a_beep_a_minute_at_most_and_signed_urls_of_our_own(
    app: Flask, provider: FakeTwilio
) -> None:
    client = app.test_client()
    answers: list[str] = []
    original = client.post

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        response = original(*args, **kwargs)
        answers.append(response.get_data(as_text=True))
        return response

    app.test_client = lambda: client  # type: ignore[method-assign]
    client.post = spy  # type: ignore[method-assign]
    unanswered_call_with_message(app, provider)

    record = next(ET.fromstring(body).find("Record") for body in answers if "<Record" in body)
    assert record is not None
    assert {name: record.get(name) for name in ("maxLength", "playBeep", "finishOnKey", "method")} == {
        "maxLength": "60",
        "playBeep": "true",
        "finishOnKey": "#",
        "method": "POST",
    }
    assert record.get("recordingStatusCallbackEvent") == "completed"
    assert (record.get("action") or "").startswith(f"{PUBLIC_URL}/voice/message")
    assert (record.get("recordingStatusCallback") or "").startswith(f"{PUBLIC_URL}/voice/recording")


@pytest.mark.usefixtures("region")
def test_a_caller_registered_in_english_is_offered_the_message_in_english(
    app: Flask, session: Session, provider: FakeTwilio
) -> None:
    trace = unanswered_call_with_message(app, provider, caller=GP, seconds=5)
    assert tuple(trace.said[-3:]) == ENGLISH
    assert message(session).seconds == 5


@pytest.mark.usefixtures("region")
def test_a_withheld_number_is_told_it_cannot_be_called_back_and_may_still_leave_a_message(
    app: Flask, session: Session, provider: FakeTwilio
) -> None:
    trace = unanswered_call_with_message(app, provider, caller=WITHHELD)
    assert trace.said[-3] == (
        "Det lykkedes ikke at få fat i nogen, og dit nummer er skjult, så vi kan ikke ringe dig op. "
        "Sig dit nummer i beskeden, eller ring til hospitalets omstilling. "
        "Er patientens liv i fare, så ring 112."
    )
    assert trace.said[-1] == "Tak. Farvel."
    assert message(session).stored_at is not None


@pytest.mark.usefixtures("region")
def test_a_caller_who_says_nothing_is_told_so_and_nothing_is_kept(
    app: Flask, session: Session, provider: FakeTwilio
) -> None:
    trace = play_call(app, NURSE, ScriptedPhone([CPR, "1", None]), recordings=provider)
    assert trace.said[-1] == "Der blev ikke optaget nogen besked. Farvel."
    assert messages(session) == []
    assert session.scalars(select(Contact.outcome)).all() == ["unanswered"]


@pytest.mark.usefixtures("region")
def test_a_test_call_is_offered_no_message(app: Flask, session: Session, provider: FakeTwilio) -> None:
    trace = play_call(app, NURSE, ScriptedPhone([CPR, "1"], message_seconds=12), test_call=True)
    assert trace.said[-1].endswith("Er patientens liv i fare, så ring 112. Farvel.")
    assert trace.recordings == [] and messages(session) == []


@pytest.mark.usefixtures("region")
def test_a_repeated_callback_or_action_changes_nothing(
    app: Flask, session: Session, provider: FakeTwilio, clock: Clock
) -> None:
    trace = unanswered_call_with_message(app, provider)
    first = message(session)
    before = (first.id, first.audio_encrypted, first.stored_at, first.provider_deleted_at)
    clock.now += timedelta(minutes=1)
    url, fields = trace.callbacks[0]
    sender = Provider([app.test_client()], AUTH_TOKEN, PUBLIC_URL)

    assert sender.post(url, fields)[0] == 204
    action = {**fields, "From": NURSE, "CallStatus": "completed", "Digits": "#"}
    status, body = sender.post("/voice/message", action)

    assert status == 200 and "Tak. Farvel." in body
    again = message(session)
    assert (again.id, again.audio_encrypted, again.stored_at, again.provider_deleted_at) == before
    assert len(messages(session)) == 1
    assert len(provider.of_kind("media")) == 1 and len(provider.of_kind("delete")) == 1


@pytest.mark.usefixtures("region")
@pytest.mark.parametrize("signature", ["", "bm90IHRoZSBzaWduYXR1cmU="], ids=["unsigned", "wrongly-signed"])
def test_a_spoofed_recording_callback_is_refused_and_stores_nothing(
    app: Flask, session: Session, provider: FakeTwilio, signature: str
) -> None:
    play_call(app, NURSE, ScriptedPhone([CPR, "1"]))  # unanswered, the caller hung up at the tone
    call_sid = session.scalars(select(Contact.call_sid)).one()
    provider.store_recording(ACCOUNT, "RE" + "1" * 32, 9)
    fields = {
        "AccountSid": ACCOUNT,
        "CallSid": call_sid,
        "RecordingSid": "RE" + "1" * 32,
        "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Recordings/RE{'1' * 32}",
        "RecordingStatus": "completed",
        "RecordingDuration": "9",
    }
    headers = {"X-Twilio-Signature": signature} if signature else {}

    response = app.test_client().post("/voice/recording", data=fields, headers=headers)

    assert response.status_code == 403
    assert messages(session) == []
    assert provider.sent == []


@pytest.mark.usefixtures("region")
def test_a_callback_for_an_unknown_call_changes_nothing(
    app: Flask, session: Session, provider: FakeTwilio
) -> None:
    sender = Provider([app.test_client()], AUTH_TOKEN, PUBLIC_URL)
    fields = {
        "AccountSid": ACCOUNT,
        "CallSid": "CA" + "9" * 32,
        "RecordingSid": "RE" + "2" * 32,
        "RecordingStatus": "completed",
        "RecordingDuration": "9",
    }
    assert sender.post("/voice/recording", fields)[0] == 204
    assert messages(session) == [] and session.scalars(select(Contact)).all() == []
    assert provider.sent == []


@pytest.mark.usefixtures("region")
@pytest.mark.parametrize(
    ("failing", "stored_at_first", "deleted_at_first"),
    (("media", False, False), ("delete", True, False)),
    ids=["the-fetch-fails-once", "the-delete-fails-once"],
)
def test_a_copy_or_delete_that_fails_is_finished_by_the_scheduler(
    app: Flask,
    session: Session,
    provider: FakeTwilio,
    clock: Clock,
    failing: str,
    stored_at_first: bool,
    deleted_at_first: bool,
) -> None:
    provider.fail[failing] = 1
    trace = unanswered_call_with_message(app, provider)

    assert trace.http_statuses[-1] == 204  # the callback still answered, at once
    waiting = message(session)
    assert (waiting.stored_at is not None, waiting.provider_deleted_at is not None) == (
        stored_at_first,
        deleted_at_first,
    )
    assert waiting.error == "provider not reached: ConnectionError"
    assert trace.recordings[0] in provider.recordings  # the provider still has it

    clock.now += timedelta(minutes=1)
    assert copy_voice_messages(app) == 1
    done = message(session)
    assert done.stored_at is not None and done.provider_deleted_at == clock.now and done.error is None
    assert trace.recordings[0] not in provider.recordings
    asked = len(provider.sent)
    assert copy_voice_messages(app) == 0  # nothing left: a second run asks the provider nothing
    assert len(provider.sent) == asked


@pytest.mark.usefixtures("region")
def test_a_message_never_copied_in_a_week_is_deleted_at_the_provider_all_the_same(
    app: Flask, session: Session, provider: FakeTwilio, clock: Clock
) -> None:
    provider.fail["media"] = 10_000
    unanswered_call_with_message(app, provider)
    clock.now += timedelta(days=7, minutes=1)

    copy_voice_messages(app)

    gone = message(session)
    assert gone.stored_at is None and gone.provider_deleted_at == clock.now
    assert provider.recordings == {}


@pytest.mark.usefixtures("region")
@pytest.mark.parametrize("role", ["department", "admin"])
def test_the_departments_staff_play_the_message_through_the_app_and_it_is_audited(
    app: Flask, session: Session, provider: FakeTwilio, role: str
) -> None:
    trace = unanswered_call_with_message(app, provider)
    task = follow_up(session)

    response = signed_in(app, role).get(f"/followup/{task}/message")

    assert response.status_code == 200
    assert response.data == provider.recorded[trace.recordings[0]]
    assert response.mimetype == "audio/mpeg"
    assert response.headers["Cache-Control"] == "no-store"
    session.rollback()
    event = session.scalars(select(AuditEvent).where(AuditEvent.target == f"follow-up {task}")).one()
    pseudonym = session.scalars(select(Contact.patient_ref)).one()
    assert event.actor == ACCOUNTS[role][0] and event.action == "view"
    assert pseudonym is not None and pseudonym in event.detail and CPR not in event.detail


@pytest.mark.usefixtures("region")
@pytest.mark.parametrize(("role", "status"), [("other department", 404), ("region", 403)])
def test_another_department_and_the_region_do_not_hear_the_message(
    app: Flask, session: Session, provider: FakeTwilio, role: str, status: int
) -> None:
    unanswered_call_with_message(app, provider)
    task = follow_up(session)

    response = signed_in(app, role).get(f"/followup/{task}/message")

    assert response.status_code == status
    assert b"ID3" not in response.data
    assert session.scalars(select(AuditEvent).where(AuditEvent.target == f"follow-up {task}")).all() == []


@pytest.mark.usefixtures("region")
def test_a_task_without_a_stored_message_is_404_and_a_visitor_must_log_in(
    app: Flask, session: Session, provider: FakeTwilio
) -> None:
    play_call(app, NURSE, ScriptedPhone([CPR, "1"]))  # hung up at the tone: no message
    task = follow_up(session)

    assert signed_in(app, "department").get(f"/followup/{task}/message").status_code == 404
    assert signed_in(app, "department").get("/followup/999/message").status_code == 404
    assert app.test_client().get(f"/followup/{task}/message").status_code == 302


MakeApp = Callable[..., Flask]


@pytest.fixture
def make_app(database_url: str, clock: Clock, instance_path: str, provider: FakeTwilio) -> Iterator[MakeApp]:
    made: list[Flask] = []

    def another(secret: str, previous: str | None = None) -> Flask:
        more = {"LINJE72_SECRET_KEY": secret, "LINJE72_PSEUDONYM_KEY": PSEUDONYMS}
        if previous:
            more["LINJE72_SECRET_KEY_PREVIOUS"] = previous
        built = build(database_url, clock, instance_path, provider, **more)
        made.append(built)
        return built

    yield another
    for built in made:
        dispose(built)


@pytest.mark.usefixtures("region")
def test_key_rotation_rewrites_the_audio_and_the_message_still_plays_under_the_new_key_alone(
    app: Flask, session: Session, provider: FakeTwilio, make_app: MakeApp
) -> None:
    unanswered_call_with_message(app, provider)
    task = follow_up(session)
    before = signed_in(app, "department").get(f"/followup/{task}/message").data
    rotating = make_app(NEW, previous=SECRET_KEY)

    with pytest.raises(ConfigError) as raised:  # the old key is still needed: the start says so
        make_app(NEW)
    assert f"1 voice messages under key id {key_id(SECRET_KEY)}" in str(raised.value)
    with rotating.app_context():
        report = keys.rotate(lambda: session_scope(write=True), rotating.extensions["linje72.vault"])

    assert report.voice_messages == 1 and report.left == 0
    blob = message(session).audio_encrypted
    assert blob is not None and key_id_of(blob) == key_id(NEW)
    after = make_app(NEW)
    assert signed_in(after, "department").get(f"/followup/{task}/message").data == before


@pytest.mark.usefixtures("region")
def test_the_retention_purge_deletes_the_message_with_the_calls_personal_data(
    app: Flask, session: Session, provider: FakeTwilio, clock: Clock
) -> None:
    unanswered_call_with_message(app, provider)
    task = follow_up(session)
    clock.now += app.config["RETENTION"] + timedelta(days=1)

    with app.app_context():
        report = purge(
            lambda: session_scope(write=True), clock.now, app.config["RETENTION"], app.config["POLICY"].window
        )

    assert report.voice_messages == 1
    session.rollback()
    assert messages(session) == []
    assert signed_in(app, "admin").get(f"/followup/{task}/message").status_code == 404


@pytest.mark.usefixtures("region")
def test_a_message_still_at_the_provider_loses_its_audio_at_the_purge_and_its_row_once_deleted_there(
    app: Flask, session: Session, provider: FakeTwilio, clock: Clock
) -> None:
    provider.fail["delete"] = 10_000
    trace = unanswered_call_with_message(app, provider)
    clock.now += app.config["RETENTION"] + timedelta(days=1)

    def run() -> int:
        with app.app_context():
            scope = lambda: session_scope(write=True)  # noqa: E731
            return purge(
                scope, clock.now, app.config["RETENTION"], app.config["POLICY"].window
            ).voice_messages

    assert run() == 1
    waiting = message(session)
    assert waiting.audio_encrypted is None and waiting.provider_deleted_at is None
    provider.fail["delete"] = 0
    copy_voice_messages(app)
    assert trace.recordings[0] not in provider.recordings
    assert run() == 1
    assert messages(session) == []


def test_the_provider_http_client_keeps_a_recordings_audio_as_the_bytes_it_is() -> None:
    audio = bytes(range(256)) * 40  # not text in any encoding
    seen: list[str] = []

    class Media(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            seen.append(self.headers.get("Authorization", ""))
            self.send_response(200)
            self.send_header("Content-Type", "audio/mpeg")
            self.send_header("Content-Length", str(len(audio)))
            self.end_headers()
            self.wfile.write(audio)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Media)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = (
            f"http://127.0.0.1:{server.server_port}/2010-04-01/Accounts/{ACCOUNT}/Recordings/RE{'3' * 32}.mp3"
        )
        response = ProviderHttpClient(timeout=5).request("GET", url, auth=(ACCOUNT, AUTH_TOKEN))
    finally:
        server.shutdown()
        server.server_close()
    assert isinstance(response, MediaResponse) and response.body == audio
    assert seen and seen[0].startswith("Basic ")
