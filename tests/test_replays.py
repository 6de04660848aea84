"""Webhooks the provider repeats: the same answer, nothing changed; simultaneous first webhooks."""

from __future__ import annotations

import threading

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.data.models import Contact, DialAttempt
from tests import factories as f
from tests.replay_call import Call, action

NURSE = "+4532501010"
ANNA = "+4540101001"


@pytest.fixture
def region(app: Flask, session: Session) -> None:
    f.small_region(app, session)


def state(session: Session) -> list[tuple[object, ...]]:
    session.rollback()  # a fresh snapshot: see what the webhooks committed
    contacts = session.scalars(select(Contact)).all()
    attempts = session.scalars(select(DialAttempt).order_by(DialAttempt.id)).all()
    return [(c.step, c.tries, c.patients_read_back, c.outcome) for c in contacts] + [
        (a.number, a.status) for a in attempts
    ]


SID = "CA" + "7" * 32


@pytest.mark.usefixtures("region")
def test_a_replayed_incoming_while_a_target_rings_gets_the_same_answer_and_changes_nothing(
    app: Flask, session: Session
) -> None:
    call = Call(app.test_client(), SID)
    first, root = call.post("/voice/incoming")
    _, root = call.post(action(root), Digits="0101401234")
    _, root = call.post(action(root), Digits="1")
    assert root.findtext("Dial/Number") == ANNA
    before = state(session)

    again, _ = call.post("/voice/incoming")

    assert again == first
    assert state(session) == before
    assert before[-1] == (ANNA, None)  # still ringing


@pytest.mark.usefixtures("region")
def test_a_repeated_step_is_answered_as_before_and_counts_once(app: Flask, session: Session) -> None:
    call = Call(app.test_client(), SID)
    _, root = call.post("/voice/incoming")
    url = action(root)
    first, _ = call.post(url, Digits="0101401234")
    after_first = state(session)
    repeated, _ = call.post(url, Digits="0101401234")
    assert repeated == first
    assert state(session) == after_first
    assert after_first[0][2] == 1  # one patient read back


@pytest.mark.usefixtures("region")
def test_the_same_idempotency_token_gets_the_same_answer(app: Flask, session: Session) -> None:
    call = Call(app.test_client(), SID)
    _, root = call.post("/voice/incoming")
    url = action(root)
    token = {"I-Twilio-Idempotency-Token": "idem-0001"}
    first, _ = call.post(url, headers=token, Digits="12")  # an invalid CPR: one try used
    after_first = state(session)
    again, _ = call.post(url, headers=token, Digits="12")
    assert again == first
    assert state(session) == after_first == [("patient", 1, 0, None)]


@pytest.mark.usefixtures("region")
def test_a_second_silence_is_a_new_request_not_a_repeat(app: Flask, session: Session) -> None:
    call = Call(app.test_client(), SID)
    _, root = call.post("/voice/incoming")
    for tries in (1, 2):
        redirect = (root.findtext("Redirect") or "").strip()
        _, root = call.post(redirect)  # no keys: the provider follows the Redirect
        assert state(session)[0][1] == tries


@pytest.mark.usefixtures("region")
def test_a_repeated_dial_result_does_not_ring_anyone_twice(app: Flask, session: Session) -> None:
    call = Call(app.test_client(), SID)
    _, root = call.post("/voice/incoming")
    _, root = call.post(action(root), Digits="0101401234")
    _, root = call.post(action(root), Digits="1")
    dial_result = action(root, "Dial")
    first, _ = call.post(dial_result, DialCallStatus="no-answer")
    after_first = state(session)
    again, _ = call.post(dial_result, DialCallStatus="no-answer")
    assert again == first
    assert state(session) == after_first
    assert len(after_first) == 3  # the contact, Anna, and the next number


def test_two_simultaneous_incoming_for_one_call_never_reach_the_fail_safe(
    app: Flask, session: Session, database_url: str
) -> None:
    f.caller(session)
    session.commit()
    answers: list[str] = []

    def ring(call_sid: str, barrier: threading.Barrier) -> None:
        call = Call(app.test_client(), call_sid)
        barrier.wait()
        answers.append(call.post("/voice/incoming")[0])

    for n in range(8):
        barrier = threading.Barrier(2)
        sid = f"CA{n:032x}"
        threads = [threading.Thread(target=ring, args=(sid, barrier)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(answers) == 16
    assert all("teknisk fejl" not in answer for answer in answers)
    assert all(answers[i] == answers[i + 1] for i in range(0, 16, 2))
    session.expire_all()
    assert session.scalar(select(func.count(Contact.id))) == 8
