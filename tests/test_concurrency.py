"""Thirty callers at once: every call keeps its own state and leaves one correct contact."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.data.models import Contact
from ivr.simulator import ScriptedPhone, play_call
from tests import factories as f

CALLS = 30


def test_thirty_simultaneous_calls_each_get_their_own_chain_and_contact(app: Flask, session: Session) -> None:
    kard = f.department(session)
    ger = f.department(
        session,
        "BFH-GER",
        name="Geriatrisk Afdeling",
        day_phone="+4531203001",
        switchboard_phone="+4531200000",
    )
    f.shift(session, kard, "day", "2026-11-23 08:00", "2026-11-23 15:00", "+4540101001", "Anna Holm")
    f.shift(session, ger, "day", "2026-11-23 08:00", "2026-11-23 15:00", "+4540102001", "Dorte Berg")
    f.discharge(app, session, kard, "2026-11-22T10:00:00+01:00", cpr="0101401234", external_id="A")
    f.discharge(app, session, ger, "2026-11-22T10:00:00+01:00", cpr="1503521236", external_id="B")
    for n in range(CALLS):
        f.caller(session, phone=f"+45325020{n:02d}", code=f"{5000 + n}", organisation=f"Enhed {n}")
    session.commit()

    def call(n: int) -> tuple[int, str | None, list[str]]:
        cpr = "0101401234" if n % 2 == 0 else "1503521236"
        accepts = {"+4531102001": "1"} if n % 2 == 0 else {"+4531203001": "1"}
        trace = play_call(
            app, f"+45325020{n:02d}", ScriptedPhone([cpr, "1"], accepts), call_sid=f"CA{n:032x}"
        )
        return n, trace.connected_to, trace.rung

    with ThreadPoolExecutor(max_workers=CALLS) as pool:
        results = list(pool.map(call, range(CALLS)))

    for n, connected, rung in results:
        if n % 2 == 0:
            assert (connected, rung) == ("+4531102001", ["+4540101001", "+4531102001"])
        else:
            assert (connected, rung) == ("+4531203001", ["+4540102001", "+4531203001"])
    session.expire_all()
    contacts = session.scalars(select(Contact).order_by(Contact.call_sid)).all()
    assert len(contacts) == CALLS
    for n, row in enumerate(contacts):
        assert row.caller_organisation == f"Enhed {n}"
        assert row.outcome == "connected"
        assert row.department is not None
        assert row.department.code == ("RH-KARD" if n % 2 == 0 else "BFH-GER")
        assert [a.status for a in row.attempts] == ["no-answer", "accepted"]
