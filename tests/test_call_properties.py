"""Random key sequences through the whole call: never more than three read-backs, never left in silence."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from flask import Flask
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import create_app
from app.data.db import dispose
from app.data.models import Contact
from ivr.simulator import ScriptedPhone, play_call
from tests import factories as f
from tests.support import FALLBACK, Clock, app_settings

NURSE = "+4532501010"
ANNA, BO = "+4540101001", "+4540101002"
CPRS = ("0101401234", "1503521236", "0909384009", "3102401234")  # active, unknown, unknown, invalid date
CHAIN = (ANNA, BO, "+4531102001", "+4531100000", FALLBACK)
ROUTES = {"responsibility", "inpatient", "no_responsibility", "unidentified_caller", "invalid_patient"}
sids = (f"CA{n:032x}" for n in itertools.count(0xA000))

keys = st.one_of(
    st.none(),  # silence
    st.sampled_from(CPRS),
    st.sampled_from(["1", "2", "0#", "9", "#", "4711#", "4713#", "0000#"]),
    st.text(alphabet="0123456789*#", min_size=1, max_size=14),
)
# Whole moves as well as single keys, so that the search reaches a fourth patient often.
another_patient = st.tuples(st.sampled_from(CPRS[:3]), st.just("2")).map(list)
moves = st.lists(st.one_of(another_patient, keys.map(lambda key: [key])), max_size=9)
pressed_keys = moves.map(lambda chosen: [key for move in chosen for key in move])
answers = st.dictionaries(
    st.sampled_from(CHAIN), st.sampled_from(["no-answer", "busy", "failed", "", "1", "2", "7"]), max_size=5
)


@pytest.fixture
def line(app: Flask, database_url: str, clock: Clock, instance_path: str) -> Iterator[Flask]:
    """The line with the misuse limits out of reach: each example is a call on its own."""
    settings = app_settings(
        database_url,
        clock,
        instance_path,
        LINJE72_LOOKUPS_PER_HOUR="100000",
        LINJE72_LOCKOUT_FAILURES="100000",
    )
    line = create_app(settings)
    yield line
    dispose(line)


@pytest.fixture
def region(app: Flask, session: Session) -> None:
    dept = f.department(session)
    f.caller(session)
    f.caller(session, phone=None, code="4713", organisation="Kildegården", kind="temporary_stay")
    f.shift(session, dept, "day", "2026-11-23 08:00", "2026-11-23 15:00", ANNA, "Anna Holm")
    f.shift(session, dept, "backup", "2026-11-23 08:00", "2026-11-24 08:00", BO, "Bo Jensen")
    f.discharge(app, session, dept, "2026-11-21T10:30:00+01:00")
    session.commit()


@pytest.mark.usefixtures("region")
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    caller=st.sampled_from([NURSE, "+4522334455", "anonymous"]),
    pressed=pressed_keys,
    callees=answers,
)
# Always tried as well: pressing 2 five times (the oracle the read-back limit closes), and a
# caller who keeps the switchboard's menu silent.
@example(caller=NURSE, pressed=["0101401234", "2", "1503521236", "2"] * 3, callees={})
@example(caller="+4522334455", pressed=["4713#", "0909384009", "1"], callees={FALLBACK: ""})
def test_any_keys_end_in_a_route_or_a_goodbye_with_at_most_three_read_backs(
    line: Flask,
    session: Session,
    caplog: pytest.LogCaptureFixture,
    caller: str,
    pressed: list[str | None],
    callees: dict[str, str],
) -> None:
    sid = next(sids)
    # The caller never hangs up: after the keys, silence until the line ends the call.
    trace = play_call(line, caller, ScriptedPhone([*pressed, *[None] * 12], callees), call_sid=sid)

    assert set(trace.http_statuses) <= {200, 204}
    # A patient read back anew, not the same one again after a miss at the confirm step.
    read_backs = sum(
        "Patienten er født" in said and (i == 0 or trace.said[i - 1] != "Det blev ikke forstået.")
        for i, said in enumerate(trace.said)
    )
    assert read_backs <= 3
    # Never left in silence: someone took the call, or the line said goodbye.
    assert trace.connected_to is not None or "Farvel" in trace.said[-1], trace.said[-3:]
    session.rollback()
    rows = session.scalars(select(Contact).where(Contact.call_sid == sid)).all()
    assert len(rows) == 1
    contact = rows[0]
    assert contact.route in ROUTES
    assert contact.outcome in {"connected", "forwarded", "unanswered"}
    assert contact.patients_read_back == read_backs
    assert (contact.outcome == "unanswered") == (trace.connected_to is None)
    for cpr in CPRS:
        assert cpr not in caplog.text
