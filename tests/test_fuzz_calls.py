"""Random calls in flight through the signed webhooks of two processes: never a 5xx, never silence.

A Hypothesis state machine starts calls (registered, unknown and withheld numbers), keys
anything at any prompt, lets targets ring, answer and press keys, replays requests, posts
webhooks for unknown calls, with fields missing or garbage, callee legs and dial results
of other calls, hangs up at any point, and sends requests with bad signatures; each
request goes to either of two app instances on one database. `tests/call_fuzzer.py` checks
every answer and, at the end, the contacts and the log.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule, run_state_machine_as_test
from sqlalchemy.orm import Session

from app import create_app
from app.data.db import dispose
from app.demo import seed_demo
from tests.call_fuzzer import (
    ACTIVE_CPRS,
    ALL_PATHS,
    ATTEMPT_GARBAGE,
    CALL_STATUSES,
    CALLER_KINDS,
    CALLER_PATHS,
    DIAL_STATUSES,
    FIELDS,
    GARBAGE,
    KEY_ALPHABET,
    KEYS,
    RINGS,
    Call,
    CallFuzzer,
)
from tests.support import Clock, app_settings

START = "2026-11-23T10:00:00+01:00"  # a Monday morning: day time, the demo's rota around it
# Enough to reach deep states and keep the suite's budget (under a minute per database).
EXAMPLES, STEPS = 50, 50
IN_FLIGHT = 3
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    deadline=None,
    derandomize=True,  # the same calls on every run and in CI
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

process = st.integers(0, 1)
pick = st.integers(0, 63)
# A third of the keys are patients the demo has active, so that calls reach the read-back and the chain.
keys = st.one_of(st.sampled_from(ACTIVE_CPRS), st.sampled_from(KEYS), st.text(KEY_ALPHABET, max_size=14))
garbage = st.one_of(st.none(), st.sampled_from(GARBAGE), st.text(max_size=40))


@pytest.fixture
def processes(
    app: Flask, session: Session, database_url: str, clock: Clock, instance_path: str
) -> Iterator[list[Flask]]:
    """Two app instances on the demo region's database, the misuse limits out of reach so that
    calls reach every step (the limits have tests of their own in test_misuse.py)."""
    seed_demo(session, app.extensions["linje72.vault"], app.config["POLICY"], clock())
    session.commit()
    more = {"LINJE72_LOOKUPS_PER_HOUR": "100000", "LINJE72_LOCKOUT_FAILURES": "100000"}
    apps = [create_app(app_settings(database_url, clock, instance_path, **more)) for _ in range(2)]
    yield apps
    for each in apps:
        dispose(each)


def test_random_calls_never_fail_never_leave_a_caller_in_silence_and_keep_one_contact_each(
    processes: list[Flask], clock: Clock
) -> None:
    class Calls(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            clock.set(START)
            self.fuzzer = CallFuzzer(processes, advance=lambda by: setattr(clock, "now", clock.now + by))
            self.fuzzer.__enter__()

        def teardown(self) -> None:
            try:
                self.fuzzer.finish()
            finally:
                self.fuzzer.__exit__()

        def _call(self, n: int, where: str = "open") -> Call:
            calls = self._choices(where)
            return calls[n % len(calls)]

        def _choices(self, where: str) -> list[Call]:
            calls = list(self.fuzzer.calls.values())
            if where == "open":
                return [c for c in calls if not c.closed]
            if where == "gather":
                return [c for c in calls if c.gather and not c.closed]
            if where == "dial":
                return [c for c in calls if c.dial and not c.closed]
            if where == "attempts":
                return [c for c in calls if c.attempts]
            return calls

        # A few calls in flight at a time, so that each one gets deep into its steps.
        @precondition(lambda self: len(self._choices("open")) < IN_FLIGHT)
        @rule(kind=st.sampled_from(CALLER_KINDS), n=pick, p=process)
        def start_a_call(self, kind: str, n: int, p: int) -> None:
            self.fuzzer.start(kind, n, p)

        @precondition(lambda self: self._choices("gather"))
        @rule(n=pick, presses=st.lists(st.one_of(st.none(), keys), min_size=1, max_size=4), p=process)
        def press_keys(self, n: int, presses: list[str | None], p: int) -> None:
            call = self._call(n, "gather")
            for pressed in presses:
                self.fuzzer.press(call, pressed, p)

        @precondition(lambda self: self._choices("open"))
        @rule(n=pick, choices=st.lists(pick, min_size=1, max_size=8), p=process)
        def play_the_call_on(self, n: int, choices: list[int], p: int) -> None:
            self.fuzzer.follow(self._call(n, "open"), choices, p)

        @precondition(lambda self: self._choices("dial"))
        @rule(
            n=pick,
            answer=st.sampled_from(RINGS),
            key=st.one_of(st.none(), st.sampled_from(["1", "1", "2", "*", ""])),
            status=st.sampled_from(DIAL_STATUSES),
            p=process,
        )
        def ring_the_target(self, n: int, answer: str, key: str | None, status: str, p: int) -> None:
            self.fuzzer.ring(self._call(n, "dial"), answer, key, status, p)

        @precondition(lambda self: self._choices("attempts"))
        @rule(
            n=pick,
            owner=pick,
            step=st.sampled_from(["whisper", "whisper-answer"]),
            key=st.sampled_from(["1", "2", ""]),
            p=process,
        )
        def callee_leg_out_of_turn(self, n: int, owner: int, step: str, key: str, p: int) -> None:
            self.fuzzer.stray_callee(self._call(n, "all"), self._call(owner, "attempts"), step, key, p)

        @precondition(lambda self: self._choices("attempts"))
        @rule(n=pick, owner=pick, status=st.sampled_from(DIAL_STATUSES), p=process)
        def dial_result_out_of_turn(self, n: int, owner: int, status: str, p: int) -> None:
            self.fuzzer.stray_dial_result(self._call(n, "all"), self._call(owner, "attempts"), status, p)

        @precondition(lambda self: self._choices("all"))
        @rule(n=pick, p=process)
        def replay_the_last_request(self, n: int, p: int) -> None:
            self.fuzzer.replay(self._call(n, "all"), p)

        @precondition(lambda self: len(self._choices("open")) < IN_FLIGHT)
        @rule(path=st.sampled_from(CALLER_PATHS[1:] + ("/voice/status",)), pressed=keys, p=process)
        def webhook_of_an_unknown_call(self, path: str, pressed: str, p: int) -> None:
            self.fuzzer.unknown_call(path, pressed, p)

        @precondition(lambda self: self._choices("all"))
        @rule(
            n=pick,
            path=st.sampled_from(ALL_PATHS),
            name=st.sampled_from(FIELDS),
            value=garbage,
            attempt=st.one_of(st.none(), st.sampled_from(ATTEMPT_GARBAGE)),
            p=process,
        )
        def missing_or_garbage_field(
            self, n: int, path: str, name: str, value: str | None, attempt: str | None, p: int
        ) -> None:
            self.fuzzer.garbage(self._call(n, "all"), path, name, value, attempt, p)

        @precondition(lambda self: self._choices("open"))
        @rule(n=pick, status=st.sampled_from(CALL_STATUSES), p=process)
        def hang_up_or_report_progress(self, n: int, status: str, p: int) -> None:
            self.fuzzer.hang_up(self._call(n, "open"), status, p)

        @precondition(lambda self: self._choices("all"))
        @rule(
            n=pick,
            path=st.sampled_from(ALL_PATHS),
            how=st.sampled_from(["none", "garbage", "other token", "other url", "other fields"]),
            p=process,
        )
        def request_with_a_bad_signature(self, n: int, path: str, how: str, p: int) -> None:
            self.fuzzer.bad_signature(self._call(n, "all"), path, how, p)

        @rule(minutes=st.sampled_from([1, 20, 300, 60 * 24]))
        def time_passes(self, minutes: int) -> None:
            self.fuzzer.tick(minutes)

    run_state_machine_as_test(Calls, settings=FUZZ_SETTINGS)
