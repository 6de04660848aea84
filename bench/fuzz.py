"""Long fuzz run: thousands of random calls through the signed webhooks of two app instances.

The moves and invariants of `tests/test_fuzz_calls.py` (from `tests/call_fuzzer.py`), driven
by a seeded random generator instead of Hypothesis, so that a long run is cheap and
repeatable: calls from registered, unknown and withheld numbers on the demo region, keys
that mean it and keys that do not, targets that answer or not, replays, unknown calls,
garbage fields, callee legs and dial results of other calls, hang-ups at any point, bad
signatures, time passing. Prints calls, requests, the answers by status, 5xx (must be 0),
invariant failures (must be 0), time and calls/s; exit status 1 on any failure. Run:

    .venv/bin/python bench/fuzz.py [--calls 10000] [--seed 72] [--database-url URL]
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import create_app  # noqa: E402
from app.data.db import Base, dispose, make_engine, new_session  # noqa: E402
from app.data.migrate import upgrade  # noqa: E402
from app.demo import seed_demo  # noqa: E402
from tests.call_fuzzer import (  # noqa: E402
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
    Violation,
)
from tests.support import REQUIRED_SETTINGS, Clock  # noqa: E402

IN_FLIGHT = 3
MAX_STEPS = 40  # a call still going after this many webhooks is hung up
SIGNATURES = ("none", "garbage", "other token", "other url", "other fields")


def keys(rng: random.Random) -> str | None:
    roll = rng.random()
    if roll < 0.15:
        return None  # silence
    if roll < 0.7:
        return rng.choice(KEYS)
    return "".join(rng.choice(KEY_ALPHABET) for _ in range(rng.randint(0, 14)))


def garbage(rng: random.Random) -> str | None:
    roll = rng.random()
    if roll < 0.3:
        return None  # the field is missing
    if roll < 0.7:
        return rng.choice(GARBAGE)
    return "".join(chr(rng.randint(1, 0x2FFF)) for _ in range(rng.randint(0, 40)))


def move(fuzzer: CallFuzzer, rng: random.Random, call: Call, recent: list[Call]) -> None:
    """One of the state machine's moves on `call`, chosen at random."""
    p, process = rng.random(), rng.randrange(2)
    if call.steps >= MAX_STEPS or (call.ended and p < 0.8):
        fuzzer.hang_up(call, "completed", process)
    elif p < 0.45:
        fuzzer.follow(call, [rng.randrange(64) for _ in range(rng.randint(1, 4))], process)
    elif p < 0.58:
        if call.dial:
            answer = rng.choice(RINGS)
            fuzzer.ring(
                call, answer, rng.choice(["1", "2", "*", "", None]), rng.choice(DIAL_STATUSES), process
            )
        else:
            fuzzer.press(call, keys(rng), process)
    elif p < 0.65:
        fuzzer.replay(call, process)
    elif p < 0.71:
        attempt = rng.choice(ATTEMPT_GARBAGE) if rng.random() < 0.2 else None
        path, name = rng.choice(ALL_PATHS), rng.choice(FIELDS)
        fuzzer.garbage(call, path, name, garbage(rng), attempt, process)
    elif p < 0.76:
        owner = rng.choice(recent)
        if rng.random() < 0.5:
            step = rng.choice(["whisper", "whisper-answer"])
            fuzzer.stray_callee(call, owner, step, rng.choice(["1", "2", ""]), process)
        else:
            fuzzer.stray_dial_result(call, owner, rng.choice(DIAL_STATUSES), process)
    elif p < 0.80:
        fuzzer.bad_signature(call, rng.choice(ALL_PATHS), rng.choice(SIGNATURES), process)
    elif p < 0.83:
        fuzzer.hang_up(call, rng.choice(CALL_STATUSES), process)
    elif p < 0.85:
        fuzzer.tick(rng.choice([1, 20, 300]))
    else:
        fuzzer.follow(call, [rng.randrange(64) for _ in range(rng.randint(1, 8))], process)


def run(fuzzer: CallFuzzer, rng: random.Random, calls: int) -> list[str]:
    """Play `calls` calls, a few in flight at a time; return the invariant failures."""
    failures: list[str] = []
    started = 0
    recent: list[Call] = []
    while True:
        flight = fuzzer.open_calls()
        try:
            if started < calls and len(flight) < IN_FLIGHT:
                started += 1
                if rng.random() < 0.1:
                    path = rng.choice((*CALLER_PATHS[1:], "/voice/status"))
                    fuzzer.unknown_call(path, keys(rng) or "", rng.randrange(2))
                else:
                    kind = rng.choice(CALLER_KINDS)
                    recent.append(fuzzer.start(kind, rng.randrange(64), rng.randrange(2)))
                    recent = recent[-20:]
                continue
            if not flight:
                break
            move(fuzzer, rng, rng.choice(flight), recent or flight)
        except Violation as failure:
            failures.append(str(failure))
            for call in flight:  # the model may no longer match the app: start afresh
                call.closed = True
    return failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=72)
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary folder")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="linje72-fuzz-")
    url = args.database_url or f"sqlite:///{folder}/fuzz.db"
    engine = make_engine(url)
    with engine.begin() as connection:
        Base.metadata.drop_all(connection)
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    upgrade(engine)
    engine.dispose()

    clock = Clock()
    clock.now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday, 10:00 in Copenhagen
    settings = {
        **REQUIRED_SETTINGS,
        "DATABASE_URL": url,
        "INSTANCE_PATH": folder,
        "CLOCK": clock,
        "LINJE72_LOG_LEVEL": "INFO",
        # Limits out of reach, so that calls reach every step (the limits have tests of their own).
        "LINJE72_LOOKUPS_PER_HOUR": "1000000",
        "LINJE72_LOCKOUT_FAILURES": "1000000",
    }
    apps = [create_app(settings) for _ in range(2)]
    with apps[0].app_context():
        session = new_session()
        seed_demo(session, apps[0].extensions["linje72.vault"], apps[0].config["POLICY"], clock())
        session.commit()
        session.close()
    # Keep the records for the invariants, but print none of them.
    for handler in logging.getLogger().handlers:
        handler.setLevel(logging.CRITICAL)

    rng = random.Random(args.seed)
    started = time.perf_counter()
    with CallFuzzer(apps, advance=lambda by: setattr(clock, "now", clock.now + by)) as fuzzer:
        failures = run(fuzzer, rng, args.calls)
        try:
            fuzzer.finish()
        except Violation as failure:
            failures.append(str(failure))
    seconds = time.perf_counter() - started
    server_errors = sum(n for status, n in fuzzer.statuses.items() if status >= 500)
    print(f"database           {engine.dialect.name}")
    print(f"calls              {len(fuzzer.calls):,} (seed {args.seed})")
    print(
        f"webhooks posted    {fuzzer.requests:,} ({fuzzer.requests / max(len(fuzzer.calls), 1):.1f} a call)"
    )
    print(f"answers by status  {dict(sorted(Counter(fuzzer.statuses).items()))}")
    print(f"CPR numbers keyed  {len(fuzzer.keyed):,}; log records checked {len(fuzzer.log.lines):,}")
    print(f"5xx                {server_errors}")
    print(f"invariant failures {len(failures)}")
    for failure in failures[:5]:
        print("  -", failure.splitlines()[0][:300])
    print(
        f"time               {seconds:.1f} s, {len(fuzzer.calls) / seconds:.1f} calls/s, "
        f"{fuzzer.requests / seconds:.0f} webhooks/s"
    )
    for app in apps:
        dispose(app)
    sys.exit(1 if failures or server_errors else 0)


if __name__ == "__main__":
    main()
