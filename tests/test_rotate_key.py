"""Key rotation: calls find patients before, during and after it; resumable; a key removed too early."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import create_app
from app.config import ConfigError
from app.data.db import dispose, session_scope
from app.data.models import Contact, Discharge, Patient
from app.intake.stays import EventKind, Source, StayEvent
from app.services import keys
from app.services.patients import decide_for_patient
from app.services.stays import apply_events
from app.values.cpr import CprVault, derive_key, derive_pseudonym_key, key_id, key_id_of
from ivr.simulator import ScriptedPhone, play_call
from routing import Route
from tests import factories as f
from tests.support import SECRET_KEY, Clock, app_settings

OLD = SECRET_KEY  # the key the `app` fixture writes with
NEW = "the-new-secret-for-cpr-numbers-0123456789abcdef"
NEWER = "and-a-newer-one-after-that-0123456789abcdefghij"
PSEUDONYMS = derive_pseudonym_key(OLD).hex()
NURSE, DAY_PHONE = "+4532501010", "+4531102001"
PATIENTS = ("0101401234", "1503521236", "0202502345", "0303603456")

AppMaker = Callable[..., Flask]


@pytest.fixture
def make_app(database_url: str, clock: Clock, instance_path: str) -> Iterator[AppMaker]:
    """Build another process's app on the test's database, with the keys given."""
    made: list[Flask] = []

    def build(secret: str, previous: str | None = None, **more: str) -> Flask:
        settings = {"LINJE72_SECRET_KEY": secret, "LINJE72_PSEUDONYM_KEY": PSEUDONYMS, **more}
        if previous:
            settings["LINJE72_SECRET_KEY_PREVIOUS"] = previous
        built = create_app(app_settings(database_url, clock, instance_path, **settings))
        made.append(built)
        return built

    yield build
    for built in made:
        dispose(built)


@pytest.fixture
def stays(app: Flask, session: Session) -> None:
    """Four patients discharged on Saturday (responsibility on Monday), one call each, under the old key."""
    dept = f.department(session)
    f.caller(session)
    for n, cpr in enumerate(PATIENTS):
        f.discharge(app, session, dept, "2026-11-21T10:30:00+01:00", cpr=cpr, external_id=f"SP-{n}")
    session.commit()
    for n, cpr in enumerate(PATIENTS):
        trace = play_call(app, NURSE, ScriptedPhone([cpr, "1"], {DAY_PHONE: "1"}), call_sid=f"CA{n:032x}")
        assert trace.connected_to == DAY_PHONE


def routes(app: Flask) -> list[Route]:
    """Where a call about each patient goes now, as the call flow decides it."""
    vault = app.extensions["linje72.vault"]
    with app.app_context(), session_scope() as session:
        now = app.config["CLOCK"]()
        return [
            decide_for_patient(session, app.config["POLICY"], vault, cpr, now).decision.route
            for cpr in PATIENTS
        ]


def reaches_the_department(app: Flask, cpr: str, sid: int) -> bool:
    trace = play_call(app, NURSE, ScriptedPhone([cpr, "1"], {DAY_PHONE: "1"}), call_sid=f"CA{sid:032x}")
    return trace.connected_to == DAY_PHONE


def stored(session: Session) -> list[tuple[str | None, str]]:
    """Each stay's key id and the CPR number it opens to (with a vault holding every test key)."""
    session.commit()
    everything = CprVault(NEWER, NEW)
    olds = CprVault(OLD)
    result = []
    for blob in session.scalars(select(Discharge.cpr_encrypted).order_by(Discharge.id)):
        try:
            number = everything.decrypt(blob)
        except ValueError:
            number = olds.decrypt(blob)
        result.append((key_id_of(blob), number))
    return result


def pseudonyms(session: Session) -> list[str | None]:
    session.commit()
    return list(session.scalars(select(Contact.patient_ref).order_by(Contact.id)))


ALL_RESPONSIBLE = [Route.RESPONSIBILITY] * len(PATIENTS)


@pytest.mark.usefixtures("stays")
def test_calls_find_every_patient_before_during_and_after_the_rotation(
    app: Flask, session: Session, make_app: AppMaker
) -> None:
    before = pseudonyms(session)
    rotating = make_app(NEW, previous=OLD)
    vault = rotating.extensions["linje72.vault"]
    assert routes(rotating) == ALL_RESPONSIBLE

    with rotating.app_context(), session_scope(write=True) as batch:
        assert keys.rotate_stays(batch, vault, 0, 2)[0] == 2
    with rotating.app_context(), session_scope() as check:
        assert keys.left_to_rotate(check, vault) == {"stays": 2, "calls": 4, "voice messages": 0}
    assert routes(rotating) == ALL_RESPONSIBLE
    assert reaches_the_department(rotating, PATIENTS[0], 10)  # rewritten
    assert reaches_the_department(rotating, PATIENTS[3], 11)  # not yet

    with rotating.app_context():
        report = keys.rotate(lambda: session_scope(write=True), vault, batch=2)
    assert (report.stays, report.calls, report.left) == (2, 4, 0)  # the two calls just made: new key already

    after = make_app(NEW)
    assert routes(after) == ALL_RESPONSIBLE
    assert reaches_the_department(after, PATIENTS[2], 12)
    assert stored(session) == [(key_id(NEW), cpr) for cpr in PATIENTS]
    assert pseudonyms(session)[:4] == before  # the export pseudonyms did not change
    assert pseudonyms(session)[4:] == [before[0], before[3], before[2]]


@pytest.mark.usefixtures("stays")
def test_a_row_rewritten_twice_is_still_right_and_a_finished_rotation_has_nothing_to_do(
    session: Session, make_app: AppMaker
) -> None:
    first = make_app(NEW, previous=OLD)
    with first.app_context():
        keys.rotate(lambda: session_scope(write=True), first.extensions["linje72.vault"])
    second = make_app(NEWER, previous=NEW)
    with second.app_context():
        keys.rotate(lambda: session_scope(write=True), second.extensions["linje72.vault"])
        again = keys.rotate(lambda: session_scope(write=True), second.extensions["linje72.vault"])

    assert (again.stays, again.calls, again.left) == (0, 0, 0)
    assert stored(session) == [(key_id(NEWER), cpr) for cpr in PATIENTS]
    assert routes(make_app(NEWER)) == ALL_RESPONSIBLE


@pytest.mark.usefixtures("stays")
def test_an_interrupted_rotation_resumes_where_it_stopped(session: Session, make_app: AppMaker) -> None:
    rotating = make_app(NEW, previous=OLD)
    vault = rotating.extensions["linje72.vault"]
    batches = 0

    @contextmanager
    def stopped_at_the_second_batch() -> Iterator[Session]:
        nonlocal batches
        with session_scope(write=True) as inner:
            batches += 1
            if batches == 3:  # the first scope checks the keys, the second rewrites two stays
                raise KeyboardInterrupt
            yield inner

    with rotating.app_context(), pytest.raises(KeyboardInterrupt):
        keys.rotate(stopped_at_the_second_batch, vault, batch=2)
    assert [kid for kid, _ in stored(session)] == [key_id(NEW)] * 2 + [key_id(OLD)] * 2
    assert routes(rotating) == ALL_RESPONSIBLE

    with rotating.app_context():
        report = keys.rotate(lambda: session_scope(write=True), vault, batch=2)

    assert (report.stays, report.calls, report.left) == (2, 4, 0)
    assert stored(session) == [(key_id(NEW), cpr) for cpr in PATIENTS]


@pytest.mark.usefixtures("stays")
def test_removing_the_old_key_before_the_rotation_ended_stops_the_start_naming_what_is_missing(
    make_app: AppMaker,
) -> None:
    rotating = make_app(NEW, previous=OLD)
    with rotating.app_context(), session_scope(write=True) as batch:
        keys.rotate_stays(batch, rotating.extensions["linje72.vault"], 0, 2)

    with pytest.raises(ConfigError) as raised:
        make_app(NEW)

    message = str(raised.value)
    assert message.startswith(
        f"stored CPR numbers need a key this deployment does not have: 2 stays under key id {key_id(OLD)}; "
        f"4 calls under key id {key_id(OLD)}. LINJE72_SECRET_KEY is key id {key_id(NEW)}, "
        "LINJE72_SECRET_KEY_PREVIOUS is not set. Set LINJE72_SECRET_KEY_PREVIOUS"
    )
    assert not any(cpr in message for cpr in PATIENTS)


@pytest.mark.usefixtures("stays")
def test_with_the_old_key_removed_after_the_rotation_everything_still_works(
    session: Session, make_app: AppMaker
) -> None:
    rotating = make_app(NEW, previous=OLD)
    result = rotating.test_cli_runner().invoke(args=["rotate-key", "--batch", "3", "--pause", "0"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:3] == [
        f"Rotating to key id {key_id(NEW)} (previous: key id {key_id(OLD)}).",
        "Left to rewrite: 4 stays, 4 calls, 0 voice messages.",
        "  stays: 3 rewritten, 1 left",
    ]
    assert result.output.splitlines()[-1] == (
        f"Done: every stored CPR number is under key id {key_id(NEW)}. "
        "LINJE72_SECRET_KEY_PREVIOUS can now be removed (then restart every process)."
    )

    after = make_app(NEW)
    again = after.test_cli_runner().invoke(args=["rotate-key", "--pause", "0"])
    assert "Left to rewrite: 0 stays, 0 calls, 0 voice messages." in again.output and again.exit_code == 0
    assert all(reaches_the_department(after, cpr, 20 + n) for n, cpr in enumerate(PATIENTS))


@pytest.mark.usefixtures("stays")
def test_rotate_key_refuses_and_changes_nothing_when_a_stay_needs_a_key_it_does_not_have(
    session: Session, make_app: AppMaker
) -> None:
    rotating = make_app(NEW, previous=OLD)
    stranger = CprVault("a-third-secret-nobody-configured-0123456789")
    dept = session.scalars(select(Discharge)).first()
    assert dept is not None
    session.add(  # written by a process started with other settings
        Discharge(
            external_id="SP-X",
            cpr_lookup=stranger.lookup_key("0404704567"),
            cpr_encrypted=stranger.encrypt("0404704567"),
            department_id=dept.department_id,
        )
    )
    session.commit()
    before = [(row.external_id, row.cpr_encrypted) for row in session.scalars(select(Discharge))]

    result = rotating.test_cli_runner().invoke(args=["rotate-key", "--pause", "0"])

    assert result.exit_code == 2
    assert f"1 stays under key id {stranger.key_id}" in result.output
    assert "Nothing was changed." in result.output
    assert "0404704567" not in result.output
    session.commit()
    session.expire_all()
    assert [(row.external_id, row.cpr_encrypted) for row in session.scalars(select(Discharge))] == before


def test_stays_stored_before_key_ids_are_found_during_and_after_the_rotation(
    app: Flask, session: Session, make_app: AppMaker
) -> None:
    dept = f.department(session)
    nonce = os.urandom(12)
    legacy = nonce + AESGCM(derive_key(OLD, b"linje72 cpr encryption")).encrypt(nonce, b"0101401234", b"cpr")
    vault = app.extensions["linje72.vault"]
    session.add(
        Discharge(
            external_id="SP-OLD",
            cpr_lookup=vault.lookup_key("0101401234"),
            cpr_encrypted=legacy,
            department_id=dept.id,
            discharged_at=f.parse_time("2026-11-21T10:30:00+01:00"),
            destination="nursing_home",
        )
    )
    session.commit()
    rotating = make_app(NEW, previous=OLD)
    assert routes(rotating)[0] is Route.RESPONSIBILITY

    result = rotating.test_cli_runner().invoke(args=["rotate-key", "--pause", "0"])

    assert result.exit_code == 0, result.output
    assert stored(session) == [(key_id(NEW), "0101401234")]
    assert routes(make_app(NEW))[0] is Route.RESPONSIBILITY


@pytest.mark.usefixtures("stays")
def test_a_death_known_under_the_old_key_is_still_known_after_it_is_removed(
    app: Flask, session: Session, make_app: AppMaker, clock: Clock
) -> None:
    vault = app.extensions["linje72.vault"]
    session.add(Patient(cpr_lookup=vault.lookup_key(PATIENTS[1]), deceased_at=clock.now))
    session.commit()
    rotating = make_app(NEW, previous=OLD)
    with rotating.app_context():
        report = keys.rotate(lambda: session_scope(write=True), rotating.extensions["linje72.vault"])

    assert report.patients == 1
    assert routes(make_app(NEW)) == [
        Route.RESPONSIBILITY,
        Route.NO_RESPONSIBILITY,
        Route.RESPONSIBILITY,
        Route.RESPONSIBILITY,
    ]


@pytest.mark.usefixtures("stays")
def test_a_death_stays_known_when_a_feed_rewrites_the_patients_stay_during_the_rotation(
    app: Flask, session: Session, make_app: AppMaker, clock: Clock
) -> None:
    vault = app.extensions["linje72.vault"]
    session.add(Patient(cpr_lookup=vault.lookup_key(PATIENTS[1]), deceased_at=clock.now))
    session.commit()
    rotating = make_app(NEW, previous=OLD)
    update = StayEvent(EventKind.UPDATE, source=Source.HL7, cpr=PATIENTS[1], stay_id="SP-1", at=clock.now)
    with rotating.app_context(), session_scope(write=True) as feed:
        apply_events(feed, rotating.extensions["linje72.vault"], [update], clock.now)
    with rotating.app_context():
        keys.rotate(lambda: session_scope(write=True), rotating.extensions["linje72.vault"])

    assert routes(make_app(NEW))[1] is Route.NO_RESPONSIBILITY


@pytest.mark.usefixtures("stays")
def test_no_cpr_number_in_any_log_line_of_a_rotation(
    make_app: AppMaker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="linje72")  # another test may have set it higher
    rotating = make_app(NEW, previous=OLD)
    rotating.test_cli_runner().invoke(args=["rotate-key", "--batch", "1", "--pause", "0"])
    reaches_the_department(make_app(NEW), PATIENTS[0], 30)

    lines = [record.getMessage() for record in caplog.records]
    assert any(line.startswith(f"key rotation to key id {key_id(NEW)}: 4 stays, 4 calls") for line in lines)
    assert not [line for line in lines if any(cpr in line for cpr in PATIENTS)]


@pytest.mark.parametrize(
    ("settings", "message"),
    (
        (
            {"LINJE72_SECRET_KEY_PREVIOUS": OLD},
            "LINJE72_PSEUDONYM_KEY is not set: a new LINJE72_SECRET_KEY would give every patient a new "
            "export pseudonym",
        ),
        (
            {"LINJE72_SECRET_KEY_PREVIOUS": NEW, "LINJE72_PSEUDONYM_KEY": PSEUDONYMS},
            "LINJE72_SECRET_KEY_PREVIOUS is the same as LINJE72_SECRET_KEY",
        ),
        (
            {"LINJE72_SECRET_KEY_PREVIOUS": "short", "LINJE72_PSEUDONYM_KEY": PSEUDONYMS},
            "LINJE72_SECRET_KEY_PREVIOUS must be at least 32 characters",
        ),
        (
            {"LINJE72_PSEUDONYM_KEY": "not-hex"},
            "LINJE72_PSEUDONYM_KEY must be 64 hex digits, as `linje72 pseudonym-key` prints it",
        ),
    ),
    ids=["no pseudonym key", "the same key twice", "short previous key", "malformed pseudonym key"],
)
def test_a_bad_key_setting_stops_the_start_naming_it_and_never_quoting_a_secret(
    database_url: str, clock: Clock, instance_path: str, settings: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        create_app(app_settings(database_url, clock, instance_path, LINJE72_SECRET_KEY=NEW, **settings))
    assert str(raised.value).startswith(message)
    assert OLD not in str(raised.value) and NEW not in str(raised.value)


def test_pseudonym_key_prints_the_key_the_pseudonyms_are_made_with(app: Flask, make_app: AppMaker) -> None:
    result = app.test_cli_runner().invoke(args=["pseudonym-key"])

    printed = result.output.splitlines()[-1]
    assert printed == PSEUDONYMS
    pinned = make_app(NEWER, LINJE72_PSEUDONYM_KEY=printed)
    assert pinned.extensions["linje72.vault"].pseudonym("0101401234") == app.extensions[
        "linje72.vault"
    ].pseudonym("0101401234")
    assert "is set already" in pinned.test_cli_runner().invoke(args=["pseudonym-key"]).output
