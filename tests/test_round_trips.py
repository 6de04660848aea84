"""A webhook asks the database only what its step needs: statements counted, not timed."""

from __future__ import annotations

import collections
import urllib.parse
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from app.data.models import Agreement
from ivr.simulator import ScriptedPhone, play_call
from tests import factories as f
from tests.replay_call import Call, action
from tests.support import FALLBACK, spoken

NURSE = "+4532501010"

# Statements per webhook step (BEGIN not counted; a commit is not a statement). Reading and
# writing the call's state is one statement each; a step that also changes a dial attempt
# or adds one writes that row too. The first step also identifies the caller, counts its
# look-ups this hour and reads its agreement's wording; the patient step reads the stays with
# their departments and agreements, the patient's record, the rota and its overrides, and
# writes the look-up and the call.
MOST_STATEMENTS = {
    "incoming": 5,
    "patient": 7,
    "confirm": 3,
    "whisper": 2,
    "whisper-answer": 3,
    "dial-result": 2,
    "status": 2,
}


class CountingClient:
    """The test client, counting the statements each webhook step sends to the database."""

    def __init__(self, app: Flask) -> None:
        self.client = app.test_client()
        self.counts: dict[str, list[int]] = collections.defaultdict(list)
        self.sent = 0
        for name in ("linje72.engine", "linje72.call_engine"):
            event.listen(app.extensions[name], "before_cursor_execute", self._count)

    def _count(self, _connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.startswith(("BEGIN", "PRAGMA")):
            self.sent += 1

    def post(self, url: str, data: dict[str, str], headers: dict[str, str]) -> Any:
        self.sent = 0
        response = self.client.post(url, data=data, headers=headers)
        self.counts[urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1]].append(self.sent)
        return response


def zealand_region(app: Flask, session: Session) -> None:
    """The small region, its department and caller under an agreement of their own (its wording read too)."""
    session.add(
        Agreement(
            code="SJ",
            name="Region Sjælland",
            line_name="96-timers-linjen",
            window_hours=96,
            after_hours_number="+4570151700",
            fallback_number=FALLBACK,
        )
    )
    dept = f.department(session, agreement="SJ")
    f.caller(session, agreement="SJ")
    f.shift(session, dept, "day", "2026-11-23 08:00", "2026-11-23 15:00", f.ANNA, "Anna Holm")
    f.discharge(app, session, dept, "2026-11-21T10:30:00+01:00")
    session.commit()


def test_each_step_of_a_whole_call_sends_at_most_its_statements(app: Flask, session: Session) -> None:
    zealand_region(app, session)
    client = CountingClient(app)

    trace = play_call(app, NURSE, ScriptedPhone([f.CPR_ACTIVE, "1"], {f.ANNA: "1"}), clients=[client])

    assert trace.connected_to == f.ANNA
    assert "96-timers-linjen" in trace.text
    assert set(client.counts) == set(MOST_STATEMENTS)
    sent = {step: max(counts) for step, counts in client.counts.items()}
    assert all(sent[step] <= most for step, most in MOST_STATEMENTS.items()), sent


def test_a_caller_who_asks_again_costs_no_more_than_the_first_time(app: Flask, session: Session) -> None:
    zealand_region(app, session)
    client = CountingClient(app)

    # 2 at the read-back: the patient step again, with a number that matches no stay.
    trace = play_call(
        app, NURSE, ScriptedPhone([f.CPR_ACTIVE, "2", f.CPR_OTHER, "1"], {f.ANNA: "1"}), clients=[client]
    )

    assert len(client.counts["patient"]) == 2 and trace.rings
    assert max(client.counts["confirm"]) <= MOST_STATEMENTS["confirm"]
    assert max(client.counts["patient"]) <= MOST_STATEMENTS["patient"]


def test_a_pooled_connection_that_died_ends_as_the_fallback_answer_and_the_next_webhook_routes(
    app: Flask, session: Session, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("a server that ends a pooled connection: PostgreSQL")
    f.small_region(app, session)
    call = Call(app.test_client(), "CA" + "d" * 32)
    _, root = call.post("/voice/incoming")
    # The server ends the call path's pooled connection (a restart, a failover), used moments
    # ago, so it is not pinged before it is handed out again. Only that one: the suite's own
    # engines keep theirs.
    with app.extensions["linje72.call_engine"].connect() as connection:
        pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    session.commit()

    _, root = call.post(action(root), Digits=f.CPR_ACTIVE)

    assert "teknisk fejl" in spoken(root)
    assert root.findtext("Dial") == FALLBACK or root.findtext("Dial/Number") == FALLBACK
    _, again = Call(app.test_client(), "CA" + "e" * 32).post("/voice/incoming")
    assert again.find("Gather") is not None
