"""Benchmark: a region's year of rota checked, previewed and published; coverage; calls during a publish.

Builds 300 departments and writes a year of rota for all of them as one CSV file (day,
on-call and backup shifts: about 330,000 rows), then prints:
- reading, checking and previewing the file, and publishing it onto an empty rota, then
  a second version with a tenth of the nights changed onto the first (target: each
  under 20 s from reading the file to the commit);
- coverage of 300 departments x 14 days, and of 300 x 7 days (target: under 1 s);
- the webhooks of calls placed while a year's rota is being published, against calls
  placed with nothing else going on (target: "who covers now" unaffected: the ratio
  near 1, and every call routed to the rota's doctor).
Run:

    .venv/bin/python bench/rota.py [--database-url URL] [--departments 300] [--days 365]
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, text  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from app import create_app  # noqa: E402
from app.data import queries  # noqa: E402
from app.data.db import dispose, get_engine, new_session, session_scope  # noqa: E402
from app.data.migrate import upgrade  # noqa: E402
from app.data.models import Caller, Department, Discharge  # noqa: E402
from app.intake.rota import read_rota_file  # noqa: E402
from app.intake.table import Problems  # noqa: E402
from app.services.coverage import department_coverage  # noqa: E402
from app.services.rota import Author, publish_rota, review_rota  # noqa: E402
from ivr.simulator import HttpClient, ScriptedPhone, play_call  # noqa: E402
from routing.calendar import COPENHAGEN  # noqa: E402
from tests.support import REQUIRED_SETTINGS  # noqa: E402

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # a Monday, 09:00 in Copenhagen
HOSPITALS = ("Rigshospitalet", "Bispebjerg", "Herlev", "Hvidovre", "Hillerød", "Bornholm")
TARGET_PUBLISH_S = 20.0
TARGET_COVERAGE_S = 1.0
CPR = "0101401234"
DOCTORS = ("+4526000000", "+4526000045")
CALLERS = 1000
_placed = iter(range(10**9))


class TimedClient(HttpClient):
    def __init__(self, base_url: str, latencies: list[float]) -> None:
        super().__init__(base_url)
        self.latencies = latencies

    def post(self, url: str, data: dict[str, str], headers: dict[str, str]) -> Any:
        started = time.perf_counter()
        response = super().post(url, data, headers)
        self.latencies.append((time.perf_counter() - started) * 1000)
        return response


def make_app(url: str) -> Any:
    return create_app(
        {"DATABASE_URL": url, **REQUIRED_SETTINGS, "CLOCK": lambda: NOW, "LINJE72_LOG_LEVEL": "WARNING"}
    )


def build(app: Any, departments: int) -> None:
    with app.app_context():
        engine = get_engine()
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade(engine)
        with engine.begin() as connection:
            connection.execute(
                insert(Department),
                [
                    {
                        "code": f"D{n:03d}",
                        "name": f"Afdeling {n}",
                        "hospital": HOSPITALS[n % len(HOSPITALS)],
                        "day_phone": f"+4531{n:06d}",
                        # A quarter have no on-call phone of their own: their nights need the rota.
                        "oncall_phone": f"+4532{n:06d}" if n % 4 else None,
                        "switchboard_phone": f"+4533{n % 6:06d}",
                        "day_hours": None,
                    }
                    for n in range(departments)
                ],
            )
        session = new_session()
        vault = app.extensions["linje72.vault"]
        # Many units, so that no caller reaches the look-up limit (30 an hour) during the run.
        for n in range(CALLERS):
            session.add(Caller(phone=f"+45325{n:05d}", organisation=f"Hjemmeplejen {n}", kind="home_nursing"))
        d000 = session.query(Department).filter_by(code="D000").one()
        session.add(
            Discharge(
                external_id="SP-1",
                cpr_lookup=vault.lookup_key(CPR),
                cpr_encrypted=vault.encrypt(CPR),
                department=d000,
                discharged_at=NOW - timedelta(hours=20),
                destination="home_nursing",
            )
        )
        session.commit()
        session.close()


def write_rota(path: Path, departments: int, days: int, changed: int = 0) -> int:
    """A year of rota from today: day 08-15, on-call 15-08, backup 08-08; every `changed`-th night
    goes to another doctor. Returns the number of rows."""
    first = NOW.astimezone(COPENHAGEN).date()
    rows = 0
    with path.open("w", encoding="utf-8") as out:
        out.write("department,role,start,end,name,phone\n")
        for n in range(departments):
            for day in range(days):
                date = first + timedelta(days=day)
                after = date + timedelta(days=1)
                doctor = (n * 7 + day) % 90
                if changed and day % changed == 0:
                    doctor = (doctor + 45) % 90
                out.write(f"D{n:03d},day,{date} 08:00,{date} 15:00,Dag {doctor},+4526{n:03d}{doctor:03d}\n")
                night, backup, third = (doctor + 1) % 90, (doctor + 2) % 90, 100 + n
                out.write(
                    f"D{n:03d},oncall,{date} 15:00,{after} 08:00,Vagt {night},+4528{n:03d}{night:03d}\n"
                )
                out.write(
                    f"D{n:03d},backup,{date} 08:00,{after} 08:00,Bag {backup},+4522{third:03d}{backup:03d}\n"
                )
                rows += 3
    return rows


def publish(app: Any, path: Path) -> tuple[float, str]:
    """Read, review and publish the file through the services `linje72 import rota` uses; print each phase."""
    policy = app.config["POLICY"]
    phases: list[tuple[str, float]] = []
    started = mark = time.perf_counter()

    def phase(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        phases.append((name, now - mark))
        mark = now

    with app.app_context(), session_scope(write=True) as session:
        problems = Problems(path.name)
        data = path.read_bytes()
        records = read_rota_file(data, path.name, problems, queries.all_departments(session).keys(), NOW)
        if problems:
            raise SystemExit("\n".join(problems.lines()[:5]))
        phase("read")
        review = review_rota(session, policy, records, NOW, file_name=path.name)
        if review.errors:
            raise SystemExit("\n".join(review.errors[:5]))
        phase("check and preview")
        version = publish_rota(
            session,
            policy,
            records,
            NOW,
            Author("bench", "cli"),
            file_name=path.name,
            file_hash=hashlib.sha256(data).hexdigest(),
            acknowledged=True,
            reviewed=review,
        )
        phase("write")
    phase("commit")
    seconds = time.perf_counter() - started
    summary = (
        f"version {version.id}: {version.shifts} shifts, {version.added} added, {version.removed} removed, "
        f"{version.changed} changed; " + ", ".join(f"{name} {took:.1f} s" for name, took in phases)
    )
    return seconds, summary


def coverage_times(app: Any, days: int, rounds: int = 5) -> list[float]:
    times = []
    with app.app_context():
        for _ in range(rounds):
            with session_scope() as session:
                started = time.perf_counter()
                found = department_coverage(
                    session, app.config["POLICY"].calendar, NOW, NOW + timedelta(days=days)
                )
                times.append(time.perf_counter() - started)
        assert found, "no departments"
    return sorted(times)


def calls(
    app: Any, base: str, count: int, latencies: list[float], during: threading.Event | None
) -> tuple[int, int]:
    """Place calls one after another (while `during` is set, when given): how many reached the rota's
    doctor (the old version's or the new one's), of how many."""
    reached = 0
    placed = 0
    while placed < count or (during is not None and during.is_set()):
        client = TimedClient(base, latencies)
        # The patient's department is D000; its day doctor today is Dag 0, or Dag 45 in the changed file.
        phone = ScriptedPhone([CPR, "1"], {DOCTORS[0]: "1", DOCTORS[1]: "1"})
        trace = play_call(app, f"+45325{next(_placed) % CALLERS:05d}", phone, clients=[client])
        reached += trace.connected_to in DOCTORS
        placed += 1
        if during is not None and not during.is_set():
            break
    return reached, placed


def line(label: str, seconds: float, target: float) -> None:
    print(f"{label:<58} {seconds:7.2f} {seconds / target:16.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--departments", type=int, default=300)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="linje72-bench-rota-"))
    url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = make_app(url)
    build(app, args.departments)
    first, second = folder / "rota.csv", folder / "rota-changed.csv"
    rows = write_rota(first, args.departments, args.days)
    write_rota(second, args.departments, args.days, changed=10)
    kind = url.split(":")[0]
    print(f"{kind}: {args.departments} departments, {rows} shifts ({args.days} days) in one CSV file\n")

    print(f"{'step':<58} {'s':>7} {'ratio to target':>16}")
    seconds, summary = publish(app, first)
    line("read, check, preview and publish a year (empty rota)", seconds, TARGET_PUBLISH_S)
    print(f"  {summary}")
    seconds, summary = publish(app, second)
    line("the same with every 10th day changed (onto the first)", seconds, TARGET_PUBLISH_S)
    print(f"  {summary}")

    for days in (14, 7):
        times = coverage_times(app, days)
        label = f"coverage, {args.departments} departments x {days} days (median)"
        line(label, statistics.median(times), TARGET_COVERAGE_S)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    quiet: list[float] = []
    reached, placed = calls(app, base, 10, quiet, None)
    busy: list[float] = []
    publishing = threading.Event()
    publishing.set()
    outcome: dict[str, int] = {}

    def caller() -> None:
        outcome["reached"], outcome["placed"] = calls(app, base, 1, busy, publishing)

    thread = threading.Thread(target=caller)
    thread.start()
    seconds, _ = publish(app, first)
    publishing.clear()
    thread.join()
    server.shutdown()
    q50, b50 = statistics.median(quiet), statistics.median(busy)
    print(f"\ncalls' webhooks, nothing else going on: {placed} calls, {reached} reached the rota's doctor;")
    print(f"  p50 {q50:.0f} ms, max {max(quiet):.0f} ms")
    print(
        f"during a {seconds:.0f} s publish of a year's rota: {outcome['placed']} calls, "
        f"{outcome['reached']} reached the rota's doctor;"
    )
    print(f"  p50 {b50:.0f} ms, max {max(busy):.0f} ms (p50 ratio to quiet: {b50 / q50:.2f})")
    dispose(app)


if __name__ == "__main__":
    main()
