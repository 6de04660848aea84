"""Whole calls played through the webhooks the way the provider plays them."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.data.models import Contact
from ivr.simulator import HANGUP, ScriptedPhone, play_call
from tests import factories as f
from tests.support import AFTER_HOURS, FALLBACK, Clock, twiml

NURSE = "+4532501010"
ANNA, ANNA_LATE, BO, CECILIE = "+4540101001", "+4540101011", "+4540101002", "+4540101003"
DAY_PHONE, ONCALL_PHONE, SWITCHBOARD = "+4531102001", "+4531102009", "+4531100000"
GP = "+4532501040"


@pytest.fixture
def region(app: Flask, session: Session) -> None:
    """RH-KARD with a Monday rota, a home nurse, and a patient discharged on Saturday."""
    dept = f.department(session)
    f.caller(session)
    f.caller(session, phone=GP, code=None, organisation="Lægehuset Nørrebro", kind="gp", language="en")
    f.caller(session, phone=None, code="4713", organisation="Kildegården", kind="temporary_stay")
    f.shift(session, dept, "day", "2026-11-23 09:00", "2026-11-23 15:00", ANNA_LATE, "Anne Lind")
    f.shift(session, dept, "day", "2026-11-23 08:00", "2026-11-23 15:00", ANNA, "Anna Holm")
    f.shift(session, dept, "oncall", "2026-11-23 15:00", "2026-11-24 08:00", BO, "Bo Jensen")
    f.shift(session, dept, "backup", "2026-11-23 08:00", "2026-11-24 08:00", CECILIE, "Cecilie Lund")
    f.discharge(app, session, dept, "2026-11-21T10:30:00+01:00", gp_phone=GP)
    session.commit()


def contact(session: Session) -> Contact:
    session.expire_all()
    return session.scalars(select(Contact)).one()


def dialled(row: Contact) -> list[tuple[str, str | None]]:
    return [(a.number, a.status) for a in row.attempts]


@pytest.mark.usefixtures("region")
@pytest.mark.parametrize(
    ("moment", "period", "chain"),
    (
        ("2026-11-23T10:00:00+01:00", "day", [ANNA, ANNA_LATE, DAY_PHONE, CECILIE, SWITCHBOARD, FALLBACK]),
        ("2026-11-23T08:30:00+01:00", "day", [ANNA, DAY_PHONE, CECILIE, SWITCHBOARD, FALLBACK]),
        ("2026-11-23T15:00:00+01:00", "oncall", [BO, ONCALL_PHONE, CECILIE, SWITCHBOARD, FALLBACK]),
        ("2026-11-24T03:00:00+01:00", "oncall", [BO, ONCALL_PHONE, CECILIE, SWITCHBOARD, FALLBACK]),
    ),
    ids=["day-10:00", "day-08:30", "oncall-15:00", "night-03:00"],
)
def test_nobody_accepting_rings_the_whole_chain_once_each_and_promises_a_callback(
    app: Flask, session: Session, clock: Clock, moment: str, period: str, chain: list[str]
) -> None:
    clock.set(moment)
    trace = play_call(app, NURSE, ScriptedPhone(["0101401234", "1"]))

    assert trace.rung == chain
    assert "Afdelingen ringer dig op" in trace.said[-2]
    assert "indtale en kort besked efter tonen" in trace.said[-1]  # the caller hung up at the tone
    row = contact(session)
    assert (row.route, row.period, row.outcome, row.follow_up) == (
        "responsibility",
        period,
        "unanswered",
        True,
    )
    assert row.department and row.department.code == "RH-KARD"
    assert dialled(row) == [(number, "no-answer") for number in chain]


@pytest.mark.usefixtures("region")
def test_only_a_1_in_the_whisper_connects_and_the_callee_hears_who_calls_about_whom(
    app: Flask, session: Session
) -> None:
    answers = {ANNA: "2", ANNA_LATE: "", DAY_PHONE: "busy", CECILIE: "1"}
    trace = play_call(app, NURSE, ScriptedPhone(["0101401234", "1"], answers))

    assert trace.rung == [ANNA, ANNA_LATE, DAY_PHONE, CECILIE]
    assert trace.connected_to == CECILIE
    # Anna pressed 2 and Anne stayed silent: they heard only that a call came on the line.
    for ring in trace.rings[:2]:
        assert ring.whisper == ["Et opkald på 72-timers-linjen. Tryk 1 for at tage imod opkaldet."]
    # Cecilie pressed 1, and only then heard who calls about whom.
    assert trace.rings[3].whisper == [
        "Et opkald på 72-timers-linjen. Tryk 1 for at tage imod opkaldet.",
        "Hjemmesygeplejen Valby ringer om en patient fra Hjertemedicinsk Klinik, født 1. januar 1940. "
        "I forbindes nu.",
    ]
    row = contact(session)
    assert dialled(row) == [
        (ANNA, "rejected"),
        (ANNA_LATE, "rejected"),
        (DAY_PHONE, "busy"),
        (CECILIE, "accepted"),
    ]
    assert (row.outcome, row.connected_to, row.follow_up) == ("connected", CECILIE, False)


@pytest.mark.usefixtures("region")
def test_the_callee_sees_the_callers_own_number(app: Flask) -> None:
    client = app.test_client()
    trace_phone = ScriptedPhone(["0101401234", "1"], {ANNA: "1"})
    seen: list[str] = []
    original = client.post

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        response = original(*args, **kwargs)
        body = response.get_data(as_text=True)
        dial = twiml(body).find("Dial") if body else None  # the status callback answers 204
        if dial is not None:
            seen.append(dial.get("callerId", ""))
        return response

    app.test_client = lambda: client  # type: ignore[method-assign]
    client.post = spy  # type: ignore[method-assign]
    play_call(app, "+45 32 50 10 10", trace_phone)
    assert seen and seen[0] == NURSE


@pytest.mark.usefixtures("region")
def test_a_caller_registered_in_english_hears_english(app: Flask, session: Session) -> None:
    trace = play_call(app, GP, ScriptedPhone(["0101401234", "1"], {ANNA: "1"}))
    assert trace.said[0] == "Welcome to the 72-hour line, Lægehuset Nørrebro."
    assert "born on 1 January 1940" in trace.text
    assert "The department responsible for the patient will be called." in trace.text
    assert trace.connected_to == ANNA


@pytest.mark.usefixtures("region")
def test_an_unknown_number_is_asked_for_the_unit_code_and_then_goes_on(app: Flask, session: Session) -> None:
    trace = play_call(app, "+4522334455", ScriptedPhone(["99#", "4713#", "0101401234", "1"], {ANNA: "1"}))
    assert "enhedskode" in trace.said[0]
    assert "ikke genkendt" in trace.said[1]
    assert trace.connected_to == ANNA
    row = contact(session)
    assert row.caller_organisation == "Kildegården"
    assert row.caller_number == "+4522334455"


@pytest.mark.usefixtures("region")
@pytest.mark.parametrize(
    ("keys", "route", "message"),
    (
        (["1#", "12345#", None], "unidentified_caller", "kun for sundhedsfaglige"),
        (["12345", "3102401234", None], "invalid_patient", "kunne ikke godkendes"),
        (["0101401234", "7", None, "9"], "invalid_patient", "stilles nu videre"),
    ),
    ids=["three-unknown-codes", "three-invalid-cprs", "read-back-not-confirmed"],
)
def test_three_failed_tries_end_at_the_fallback_number(
    app: Flask, session: Session, keys: list[str | None], route: str, message: str
) -> None:
    caller = "+4522334455" if route == "unidentified_caller" else NURSE
    # The fallback switchboard answers and never presses a key: it is put through all the same.
    trace = play_call(app, caller, ScriptedPhone(keys, {FALLBACK: ""}))
    assert message in trace.text
    assert trace.rung == [FALLBACK]
    assert trace.connected_to == FALLBACK
    assert trace.rings[0].whisper[0].startswith("Et opkald fra 72-timers-linjen fra ")
    row = contact(session)
    assert (row.route, row.outcome) == (route, "forwarded")
    assert dialled(row) == [(FALLBACK, "answered")]
    if route != "invalid_patient" or keys[0] != "0101401234":
        assert row.department is None


@pytest.mark.usefixtures("region")
def test_silence_counts_as_a_try_and_is_never_left_in_silence(app: Flask, session: Session) -> None:
    trace = play_call(app, NURSE, ScriptedPhone([None, None, None]))
    assert trace.said.count("CPR-nummeret er ikke gyldigt. Indtast patientens 10 cifre igen.") == 2
    assert trace.rung == [FALLBACK]
    assert contact(session).route == "invalid_patient"


@pytest.mark.usefixtures("region")
def test_pressing_2_at_the_read_back_starts_the_patient_afresh_with_three_new_tries(
    app: Flask, session: Session
) -> None:
    keys = ["0101401234", "2", "1", "2", "0101401234", "1"]
    trace = play_call(app, NURSE, ScriptedPhone(keys, {ANNA: "1"}))
    assert trace.connected_to == ANNA
    ask = "Indtast patientens CPR-nummer, 10 cifre. Har patienten ikke et CPR-nummer, så tryk 0 og firkant."
    assert trace.said.count(ask) == 2
    assert contact(session).patients_read_back == 2


@pytest.mark.usefixtures("region")
def test_a_call_reads_back_at_most_three_patients_and_a_fourth_try_goes_to_the_fallback(
    app: Flask, session: Session
) -> None:
    # Pressing 2 five times: three read-backs, then the switchboard.
    keys = ["0101401234", "2", "1503521236", "2", "0101401234", "2", "1503521236", "2", "0101401234", "2"]
    trace = play_call(app, NURSE, ScriptedPhone(keys, {FALLBACK: ""}))
    assert sum("Patienten er født" in said for said in trace.said) == 3
    assert "Der kan højst slås tre patienter op i ét opkald." in trace.text
    assert trace.rung == [FALLBACK]
    row = contact(session)
    assert (row.route, row.outcome, row.patients_read_back) == ("invalid_patient", "forwarded", 3)


@pytest.mark.usefixtures("region")
def test_a_patient_without_a_cpr_number_is_forwarded_to_the_fallback_with_0(
    app: Flask, session: Session
) -> None:
    trace = play_call(app, NURSE, ScriptedPhone(["0#"], {FALLBACK: ""}))
    assert "Patienten har ikke et CPR-nummer." in trace.text
    assert trace.rung == [FALLBACK]
    row = contact(session)
    assert (row.route, row.outcome, row.patient_ref) == ("invalid_patient", "forwarded", None)


@pytest.mark.usefixtures("region")
def test_a_staffed_switchboard_that_answers_and_stays_silent_is_put_through_as_forwarded(
    app: Flask, session: Session
) -> None:
    answers = {ANNA: "", ANNA_LATE: "", DAY_PHONE: "", CECILIE: "", SWITCHBOARD: ""}
    trace = play_call(app, NURSE, ScriptedPhone(["0101401234", "1"], answers))
    assert trace.rung == [ANNA, ANNA_LATE, DAY_PHONE, CECILIE, SWITCHBOARD]
    assert trace.connected_to == SWITCHBOARD
    assert trace.rings[-1].whisper == [
        "Et opkald fra 72-timers-linjen fra Hjemmesygeplejen Valby. Opkaldet stilles igennem nu."
    ]
    row = contact(session)
    assert dialled(row)[-1] == (SWITCHBOARD, "answered")
    assert [status for _, status in dialled(row)[:4]] == ["rejected"] * 4
    assert (row.outcome, row.connected_to, row.follow_up) == ("forwarded", SWITCHBOARD, False)


@pytest.mark.usefixtures("region")
@pytest.mark.parametrize(
    ("moment", "cpr", "first", "heard"),
    (
        ("2026-11-24T11:00:00+01:00", "0101401234", GP, "egen læge"),
        ("2026-11-24T16:00:00+01:00", "0101401234", AFTER_HOURS, "vagtlinjen for sundhedsfaglige"),
        ("2026-11-23T10:00:00+01:00", "1503521236", AFTER_HOURS, "vagtlinjen for sundhedsfaglige"),
    ),
    ids=["expired-gp-hours", "expired-after-gp-hours", "unknown-patient"],
)
def test_without_an_active_responsibility_the_call_goes_to_the_gp_or_the_after_hours_line(
    app: Flask, session: Session, clock: Clock, moment: str, cpr: str, first: str, heard: str
) -> None:
    clock.set(moment)
    trace = play_call(app, NURSE, ScriptedPhone([cpr, "1"]))
    assert heard in trace.text
    assert trace.rung == [first, FALLBACK]
    row = contact(session)
    assert row.route == "no_responsibility"
    assert row.outcome == "unanswered"


@pytest.mark.usefixtures("region")
def test_a_caller_who_hangs_up_while_it_rings_abandoned_the_call(app: Flask, session: Session) -> None:
    trace = play_call(app, NURSE, ScriptedPhone(["0101401234", "1"], {ANNA: HANGUP}))
    assert trace.rung == [ANNA]
    row = contact(session)
    assert row.outcome == "abandoned"
    assert dialled(row) == [(ANNA, "no-answer")]
    assert row.ended_at is not None


@pytest.mark.usefixtures("region")
def test_a_caller_who_hangs_up_before_the_patient_is_recorded_too(app: Flask, session: Session) -> None:
    play_call(app, NURSE, ScriptedPhone([HANGUP]))
    row = contact(session)
    assert (row.route, row.outcome, row.follow_up) == ("invalid_patient", "abandoned", False)
    assert row.attempts == []


@pytest.mark.usefixtures("region")
def test_consecutive_webhooks_of_one_call_can_be_served_by_different_processes(
    app: Flask, session: Session, database_url: str, clock: Clock
) -> None:
    from app import create_app
    from app.data.db import dispose

    other = create_app(
        {
            **{
                k: app.config[k]
                for k in (
                    "DATABASE_URL",
                    "TWILIO_AUTH_TOKEN",
                    "LINJE72_SECRET_KEY",
                    "LINJE72_FALLBACK_NUMBER",
                    "LINJE72_AFTER_HOURS_NUMBER",
                    "LINJE72_PUBLIC_URL",
                )
            },
            "CLOCK": clock,
        }
    )
    try:
        trace = play_call(
            app, NURSE, ScriptedPhone(["0101401234", "1"], {DAY_PHONE: "1"}), other_processes=[other]
        )
    finally:
        dispose(other)
    assert trace.rung == [ANNA, ANNA_LATE, DAY_PHONE], (trace.rung, dialled(contact(session)))
    assert contact(session).outcome == "connected"


@pytest.mark.usefixtures("region")
def test_a_night_shift_over_the_spring_dst_change_is_rung(app: Flask, session: Session, clock: Clock) -> None:
    dept = contact_department(session)
    f.shift(session, dept, "oncall", "2026-03-28 23:00", "2026-03-29 07:00", "+4540109999", "Nat")
    f.discharge(app, session, dept, "2026-03-27T12:00:00+01:00", cpr="1503521236", external_id="SP-2")
    session.commit()
    clock.set("2026-03-29T06:30:00+02:00")
    trace = play_call(app, NURSE, ScriptedPhone(["1503521236", "1"], {"+4540109999": "1"}))
    assert trace.rung == ["+4540109999"]
    assert contact(session).period == "oncall"


def contact_department(session: Session):  # type: ignore[no-untyped-def]
    from app.data.queries import find_department

    return find_department(session, "RH-KARD")


@pytest.mark.usefixtures("region")
@pytest.mark.parametrize(
    "caller_id", ["+266696687", "anonymous", ""], ids=["twilio-anonymous", "word", "empty"]
)
def test_a_withheld_number_is_asked_for_the_unit_code_and_not_promised_a_callback(
    app: Flask, session: Session, caller_id: str
) -> None:
    trace = play_call(app, caller_id, ScriptedPhone(["4713#", "0101401234", "1"]))
    assert "enhedskode" in trace.said[0]
    assert "dit nummer er skjult, så vi kan ikke ringe dig op" in trace.said[-2]
    row = contact(session)
    assert (row.caller_organisation, row.outcome) == ("Kildegården", "unanswered")


@pytest.mark.usefixtures("region")
@pytest.mark.parametrize(
    ("moment", "caller", "chain"),
    (
        ("2026-11-24T11:00:00+01:00", GP, [FALLBACK]),
        ("2026-11-24T16:00:00+01:00", AFTER_HOURS, [FALLBACK]),
    ),
    ids=["the-gp-in-gp-hours", "the-after-hours-line"],
)
def test_the_line_never_rings_the_caller_back_to_itself(
    app: Flask, session: Session, clock: Clock, moment: str, caller: str, chain: list[str]
) -> None:
    f.caller(session, phone=AFTER_HOURS, code="4799", organisation="Akuttelefonen", kind="acute_1813")
    session.commit()
    clock.set(moment)
    keys = ["0101401234", "1"]  # the responsibility expired on the 24th at 10:30
    trace = play_call(app, caller, ScriptedPhone(keys, {FALLBACK: ""}))
    assert trace.rung == chain
    assert contact(session).route == "no_responsibility"
    # The read-back names where the call really goes: not back to the caller's own line.
    heard = "egen læge" if caller == GP else "vagtlinjen"
    assert heard not in trace.text
    if caller == AFTER_HOURS:
        assert "Opkaldet går i stedet til hospitalets omstilling." in trace.text


@pytest.mark.usefixtures("region")
def test_a_cpr_number_that_matches_no_discharge_is_kept_only_as_its_pseudonym(
    app: Flask, session: Session
) -> None:
    play_call(app, NURSE, ScriptedPhone(["1503521236", "1"]))
    row = contact(session)
    assert row.patient_ref is not None and row.patient_ref.startswith("P-")
    assert row.patient_cpr_encrypted is None
    assert row.discharge is None


@pytest.mark.usefixtures("region")
def test_when_nobody_answers_about_a_patient_without_a_department_no_department_is_promised(
    app: Flask, session: Session
) -> None:
    trace = play_call(app, NURSE, ScriptedPhone(["1503521236", "1"]))  # an unknown patient
    assert trace.said[-2] == (
        "Det lykkedes ikke at få fat i nogen. Du bliver ringet op hurtigst muligt. "
        "Er patientens liv i fare, så ring 112."
    )
    assert "kun for hospitalets personale" in trace.said[-1]
    assert contact(session).follow_up is True


@pytest.mark.usefixtures("region")
def test_the_fallback_line_calling_in_is_never_rung_back(app: Flask, session: Session) -> None:
    trace = play_call(app, FALLBACK, ScriptedPhone(["1#", "2#", "3#", None]))  # silent at the tone
    assert trace.rung == []
    assert trace.said[-1] == "Der blev ikke optaget nogen besked. Farvel."
    assert contact(session).route == "unidentified_caller"
