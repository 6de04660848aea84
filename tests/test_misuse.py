"""The misuse limits: no unit-code guessing across calls, bounded look-ups, security events."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import create_app
from app.data.db import dispose
from app.data.models import Contact, PatientLookup, SecurityEvent
from ivr.simulator import ScriptedPhone, play_call
from tests import factories as f
from tests.support import FALLBACK, Clock, app_settings

NURSE = "+4532501010"
STRANGER = "+4522334455"
ANNA = "+4540101001"


@pytest.fixture
def region(app: Flask, session: Session) -> None:
    f.small_region(app, session)
    f.caller(session, phone=None, code="4713", organisation="Kildegården", kind="temporary_stay")
    session.commit()


def contacts(session: Session) -> list[Contact]:
    session.rollback()
    return list(session.scalars(select(Contact).order_by(Contact.id)))


def events(session: Session) -> list[tuple[str, str | None]]:
    session.rollback()
    return [
        (e.kind, e.caller_number) for e in session.scalars(select(SecurityEvent).order_by(SecurityEvent.id))
    ]


@pytest.mark.usefixtures("region")
def test_an_unknown_number_guessing_codes_over_five_calls_is_locked_out_and_withheld_calls_are_not(
    app: Flask, session: Session, clock: Clock
) -> None:
    wrong = ["1111#", "2222#", "3333#"]
    for _ in range(3):  # nine failures in three calls
        play_call(app, STRANGER, ScriptedPhone(wrong, {FALLBACK: ""}))
        clock.set((clock.now + timedelta(minutes=5)).isoformat())
    fourth = play_call(app, STRANGER, ScriptedPhone(wrong, {FALLBACK: ""}))
    # The tenth failure locks the number at once: no second try in this call.
    assert (
        fourth.said.count("Enhedskoden blev ikke genkendt. Indtast enhedskoden igen, og afslut med firkant.")
        == 0
    )
    assert "kun for sundhedsfaglige" in fourth.text
    fifth = play_call(app, STRANGER, ScriptedPhone(["4713#"], {FALLBACK: ""}))
    assert "enhedskode" not in fifth.text.lower()
    assert "kun for sundhedsfaglige" in fifth.text
    assert fifth.rung == [FALLBACK]
    assert fifth.rings[0].whisper[-1] == "Nummeret er spærret efter for mange forkerte enhedskoder."
    row = contacts(session)[-1]
    assert (row.route, row.refusal, row.outcome) == ("unidentified_caller", "locked_out", "forwarded")

    # Withheld numbers share no identity: each call keeps its own three tries.
    for _ in range(4):
        withheld = play_call(app, "anonymous", ScriptedPhone(wrong, {FALLBACK: ""}))
        assert (
            withheld.said.count(
                "Enhedskoden blev ikke genkendt. Indtast enhedskoden igen, og afslut med firkant."
            )
            == 2
        )
    assert (
        play_call(app, "anonymous", ScriptedPhone(["4713#", "0101401234", "1"], {ANNA: "1"})).connected_to
        == ANNA
    )

    kinds = [kind for kind, number in events(session) if number == STRANGER]
    assert kinds.count("unit_code_failed") == 10
    assert kinds.count("locked_out") == 1 and kinds.count("locked_out_call") == 1
    assert all(number in (STRANGER,) for _, number in events(session))


@pytest.mark.usefixtures("region")
def test_a_lockout_ends_after_its_hour(app: Flask, session: Session, clock: Clock) -> None:
    for _ in range(4):
        play_call(app, STRANGER, ScriptedPhone(["1#", "2#", "3#"], {FALLBACK: ""}))
    clock.set((clock.now + timedelta(minutes=61)).isoformat())
    trace = play_call(app, STRANGER, ScriptedPhone(["4713#", "0101401234", "1"], {ANNA: "1"}))
    assert "enhedskode" in trace.said[0]
    assert trace.connected_to == ANNA


@pytest.fixture
def strict_app(app: Flask, database_url: str, clock: Clock, instance_path: str) -> Iterator[Flask]:
    strict = create_app(app_settings(database_url, clock, instance_path, LINJE72_LOOKUPS_PER_HOUR="3"))
    yield strict
    dispose(strict)


@pytest.mark.usefixtures("region")
def test_an_identified_caller_past_its_look_ups_goes_straight_to_the_fallback(
    strict_app: Flask, session: Session, clock: Clock
) -> None:
    for cpr in ("0101401234", "1503521236", "0101401234"):
        assert (
            "Patienten er født" in play_call(strict_app, NURSE, ScriptedPhone([cpr, "1"], {ANNA: "1"})).text
        )
    refused = play_call(strict_app, NURSE, ScriptedPhone(["0101401234", "1"], {FALLBACK: ""}))
    assert "Indtast patientens CPR-nummer" not in refused.text
    assert "Grænsen for opslag af patienter" in refused.text
    assert refused.rung == [FALLBACK]
    assert refused.rings[0].whisper == [
        "Et opkald fra 72-timers-linjen fra Hjemmesygeplejen Valby. Opkaldet stilles igennem nu.",
        "Opkalderen har nået grænsen for opslag af patienter i denne time.",
    ]
    assert ("lookup_limit", NURSE) in events(session)
    # The same unit by its code is the same identified caller; an hour later the limit is free again.
    clock.set((clock.now + timedelta(minutes=61)).isoformat())
    assert (
        "Patienten er født"
        in play_call(strict_app, NURSE, ScriptedPhone(["0101401234", "1"], {ANNA: "1"})).text
    )


@pytest.mark.usefixtures("region")
def test_a_nursing_home_ringing_all_day_stays_well_inside_the_limits(
    app: Flask, session: Session, clock: Clock
) -> None:
    clock.set("2026-11-23T07:00:00+01:00")
    for _ in range(24):  # every half hour for twelve hours, two patients each
        trace = play_call(app, NURSE, ScriptedPhone(["0101401234", "2", "1503521236", "1"], {}))
        assert sum("Patienten er født" in said for said in trace.said) == 2
        clock.set((clock.now + timedelta(minutes=30)).isoformat())
    assert not [kind for kind, _ in events(session) if kind != "unit_code_failed"]


@pytest.mark.usefixtures("region")
def test_look_ups_are_counted_by_pseudonym_only(app: Flask, session: Session) -> None:
    play_call(app, NURSE, ScriptedPhone(["1503521236", "2", "0101401234", "1"], {ANNA: "1"}))
    session.rollback()
    lookups = session.scalars(select(PatientLookup).order_by(PatientLookup.id)).all()
    assert [(row.matched, row.patient_ref.startswith("P-")) for row in lookups] == [
        (False, True),
        (True, True),
    ]
    assert all("1503521236" not in str(vars(row)) for row in lookups)


@pytest.mark.usefixtures("region")
def test_the_administrators_can_list_the_security_events(app: Flask, clock: Clock) -> None:
    for _ in range(4):
        play_call(app, STRANGER, ScriptedPhone(["1#", "2#", "3#"], {FALLBACK: ""}))
    result = app.test_cli_runner().invoke(args=["security", "events"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 11
    assert lines[-1].split()[1:3] == ["locked_out", STRANGER]
    assert "10 failed unit codes within 1:00:00" in lines[-1]


@pytest.mark.usefixtures("region")
def test_failures_before_a_short_lockout_do_not_lock_the_number_again(
    app: Flask, session: Session, clock: Clock, database_url: str, instance_path: str
) -> None:
    short = create_app(app_settings(database_url, clock, instance_path, LINJE72_LOCKOUT_MINUTES="10"))
    try:
        for _ in range(4):
            play_call(short, STRANGER, ScriptedPhone(["1#", "2#", "3#"], {FALLBACK: ""}))
        clock.set((clock.now + timedelta(minutes=11)).isoformat())
        trace = play_call(short, STRANGER, ScriptedPhone(["9#", "4713#", "0101401234", "1"], {ANNA: "1"}))
    finally:
        dispose(short)
    assert "ikke genkendt" in trace.text  # one more wrong code: asked again, not locked
    assert trace.connected_to == ANNA
