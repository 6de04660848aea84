"""Benchmark: rotating the CPR key of 100,000 stays, and what callers notice meanwhile.

Stores the stays under an old secret, then with the new secret and the old one as the previous
key: places calls over HTTP with nobody rotating (idle), then the same calls while `rotate`
runs in another thread, and prints rows/s and the webhooks' latency in both. Run:

    .venv/bin/python bench/rotate_key.py [--stays 100000] [--calls 10] [--database-url URL]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from werkzeug.serving import make_server

from app import create_app
from app.data.db import Base, dispose, get_engine, make_engine, new_session, session_scope
from app.data.migrate import upgrade
from app.data.models import Caller, Department, Discharge
from app.services import keys
from app.values.cpr import derive_pseudonym_key
from app.values.times import parse_time
from ivr.simulator import HttpClient, ScriptedPhone, play_call

OLD, NEW = "o" * 40, "n" * 40
CPR = "0101401234"
DAY_PHONE = "+4531102001"


class TimedClient(HttpClient):
    def __init__(self, base_url: str, latencies: list[float]) -> None:
        super().__init__(base_url)
        self.latencies = latencies

    def post(self, url: str, data: dict[str, str], headers: dict[str, str]) -> Any:
        start = time.perf_counter()
        response = super().post(url, data, headers)
        self.latencies.append((time.perf_counter() - start) * 1000)
        return response


def settings(url: str, moment: Any, **more: str) -> dict[str, Any]:
    return {
        "DATABASE_URL": url,
        "TWILIO_AUTH_TOKEN": "bench-token",
        "LINJE72_SECRET_KEY": OLD,
        "LINJE72_PSEUDONYM_KEY": derive_pseudonym_key(OLD).hex(),
        "LINJE72_FALLBACK_NUMBER": "+4538640000",
        "LINJE72_AFTER_HOURS_NUMBER": "+4570131813",
        "LINJE72_PUBLIC_URL": "http://linje72.bench",
        "CLOCK": lambda: moment,
        "LINJE72_LOG_LEVEL": "WARNING",
        **more,
    }


def seed(app: Any, stays: int, callers: int) -> None:
    vault = app.extensions["linje72.vault"]
    session = new_session()
    dept = Department(
        code="RH-KARD",
        name="Hjertemedicinsk Klinik",
        hospital="Rigshospitalet",
        day_phone=DAY_PHONE,
        oncall_phone="+4531102009",
        switchboard_phone="+4531100000",
    )
    session.add(dept)
    for n in range(callers):
        session.add(Caller(phone=f"+45325020{n:02d}", organisation=f"Enhed {n}", kind="home_nursing"))
    session.flush()
    discharged = parse_time("2026-11-22T10:00:00+01:00")
    rows = []
    for n in range(stays):
        cpr = CPR if n == stays - 1 else f"{1 + n % 28:02d}{1 + n % 12:02d}{n % 100:02d}{n % 10000:04d}"
        rows.append(
            {
                "external_id": f"D{n}",
                "cpr_lookup": vault.lookup_key(cpr),
                "cpr_encrypted": vault.encrypt(cpr),
                "department_id": dept.id,
                "discharged_at": discharged,
                "destination": "home_nursing",
                "status": "discharged",
                "kind": "inpatient",
                "source": "file",
                "target_group": True,
            }
        )
        if len(rows) == 5000:
            session.execute(insert(Discharge), rows)
            rows = []
    if rows:
        session.execute(insert(Discharge), rows)
    session.commit()
    session.close()


def caller_number(n: int) -> str:
    # A hundred callers in turn: no one of them reaches the look-up limit (30 an hour).
    return f"+45325020{n % 100:02d}"


def place_calls(app: Any, base: str, calls: int, offset: int) -> tuple[list[float], int]:
    latencies: list[float] = []

    def call(n: int) -> bool:
        phone = ScriptedPhone([CPR, "1"], {DAY_PHONE: "1"})
        client = TimedClient(base, latencies)
        trace = play_call(
            app, caller_number(offset + n), phone, call_sid=f"CA{offset + n:032x}", clients=[client]
        )
        return trace.connected_to == DAY_PHONE

    with ThreadPoolExecutor(max_workers=4) as pool:
        connected = sum(pool.map(call, range(calls)))
    return latencies, connected


def describe(name: str, latencies: list[float]) -> str:
    latencies = sorted(latencies)
    p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]
    return (
        f"{name:<22} {len(latencies):>4} webhooks  p50 {statistics.median(latencies):6.1f} ms"
        f"  p95 {p95:6.1f} ms  max {latencies[-1]:6.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stays", type=int, default=100_000)
    parser.add_argument(
        "--calls", type=int, default=10, help="calls placed while idle, and again while rotating"
    )
    parser.add_argument("--batch", type=int, default=keys.BATCH)
    parser.add_argument(
        "--pause", type=float, default=0.02, help="seconds between batches (rotate-key's default)"
    )
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="linje72-bench-"))
    url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
    moment = parse_time("2026-11-23T10:00:00+01:00")
    os.environ.pop("LINJE72_SECRET_KEY_PREVIOUS", None)
    fresh = make_engine(url)  # an earlier run's rows would be under keys this run does not have
    with fresh.begin() as connection:
        Base.metadata.drop_all(connection)
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    fresh.dispose()
    old_app = create_app(settings(url, moment))
    with old_app.app_context():
        upgrade(get_engine())
        started = time.perf_counter()
        seed(old_app, args.stays, 100)
        print(f"database              {url.split(':')[0]}")
        took = time.perf_counter() - started
        print(f"stored                {args.stays} stays under the old key in {took:.1f} s")
    dispose(old_app)

    app = create_app(settings(url, moment, LINJE72_SECRET_KEY=NEW, LINJE72_SECRET_KEY_PREVIOUS=OLD))
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"

    idle, idle_ok = place_calls(app, base, args.calls, 0)
    vault = app.extensions["linje72.vault"]
    done = threading.Event()
    result: dict[str, Any] = {}

    def rotation() -> None:
        try:
            with app.app_context():
                start = time.perf_counter()
                result["report"] = keys.rotate(
                    lambda: session_scope(write=True),
                    vault,
                    batch=args.batch,
                    rest=(lambda: time.sleep(args.pause)) if args.pause else None,
                )
                result["seconds"] = time.perf_counter() - start
        finally:
            done.set()

    rotating_thread = threading.Thread(target=rotation)
    rotating_thread.start()
    during: list[float] = []
    during_ok = 0
    rounds = 0
    while not done.is_set():
        latencies, connected = place_calls(app, base, args.calls, 1000 + rounds * args.calls)
        during += latencies
        during_ok += connected
        rounds += 1
    rotating_thread.join()
    server.shutdown()

    report, seconds = result["report"], result["seconds"]
    print(
        f"rotation              {report.stays} stays, {report.calls} calls in {seconds:.1f} s "
        f"({report.stays / seconds:,.0f} rows/s, batches of {args.batch}, {args.pause} s between); "
        f"{report.left} left"
    )
    print(describe("calls while idle", idle) + f"  ({idle_ok}/{args.calls} reached the department)")
    print(
        describe("calls while rotating", during)
        + f"  ({during_ok}/{rounds * args.calls} reached the department)"
    )
    dispose(app)


if __name__ == "__main__":
    main()
