"""Benchmark: thirty callers at once against a real threaded HTTP server on loopback.

Prints each webhook's latency (p50, p95, max) and its ratio to the provider's
15-second limit, on SQLite by default or on DATABASE_URL. Run:

    .venv/bin/python bench/concurrent_calls.py [--calls 30] [--database-url URL]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server

from app import create_app
from app.data.db import dispose, get_engine, new_session
from app.data.migrate import upgrade
from app.data.models import Caller, Department, Discharge, Shift
from app.values.times import parse_time
from ivr.simulator import HttpClient, ScriptedPhone, play_call

PROVIDER_LIMIT_MS = 15_000


class TimedClient(HttpClient):
    def __init__(self, base_url: str, latencies: list[float]) -> None:
        super().__init__(base_url)
        self.latencies = latencies

    def post(self, url: str, data: dict[str, str], headers: dict[str, str]) -> Any:
        start = time.perf_counter()
        response = super().post(url, data, headers)
        self.latencies.append((time.perf_counter() - start) * 1000)
        return response


def seed(app: Any, calls: int, extra_discharges: int) -> None:
    vault = app.extensions["linje72.vault"]
    session = new_session()
    dept = Department(
        code="RH-KARD",
        name="Hjertemedicinsk Klinik",
        hospital="Rigshospitalet",
        day_phone="+4531102001",
        oncall_phone="+4531102009",
        switchboard_phone="+4531100000",
    )
    session.add(dept)
    for n in range(100):
        session.add(
            Shift(
                department=dept,
                role="backup",
                start_at=parse_time(f"2026-10-{1 + n % 28:02d} 08:00"),
                end_at=parse_time(f"2026-10-{1 + n % 28:02d} 20:00"),
                phone="+4540100000",
                name="old",
            )
        )
    session.add(
        Shift(
            department=dept,
            role="day",
            start_at=parse_time("2026-11-23 08:00"),
            end_at=parse_time("2026-11-23 15:00"),
            phone="+4540101001",
            name="Anna Holm",
        )
    )
    for n in range(calls):
        session.add(
            Caller(
                phone=f"+45325020{n:02d}",
                code=str(5000 + n),
                organisation=f"Enhed {n}",
                kind="home_nursing",
                language="da",
            )
        )
    for n in range(extra_discharges + 1):
        cpr = "0101401234" if n == 0 else f"{1 + n % 28:02d}0{1 + n % 9}5{n % 10}{n % 10000:04d}"
        session.add(
            Discharge(
                external_id=f"D{n}",
                cpr_lookup=vault.lookup_key(cpr),
                cpr_encrypted=vault.encrypt(cpr),
                department=dept,
                discharged_at=parse_time("2026-11-22T10:00:00+01:00"),
                destination="home_nursing",
            )
        )
    session.commit()
    session.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--discharges", type=int, default=5000, help="other patients' discharges stored")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="linje72-bench-"))
    url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
    moment = parse_time("2026-11-23T10:00:00+01:00")
    app = create_app(
        {
            "DATABASE_URL": url,
            "TWILIO_AUTH_TOKEN": "bench-token",
            "LINJE72_SECRET_KEY": "b" * 40,
            "LINJE72_FALLBACK_NUMBER": "+4538640000",
            "LINJE72_AFTER_HOURS_NUMBER": "+4570131813",
            "LINJE72_PUBLIC_URL": "http://linje72.bench",
            "CLOCK": lambda: moment,
            "LINJE72_LOG_LEVEL": "WARNING",
        }
    )
    with app.app_context():
        upgrade(get_engine())
        seed(app, args.calls, args.discharges)

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    latencies: list[float] = []

    def call(n: int) -> bool:
        client = TimedClient(base, latencies)
        phone = ScriptedPhone(["0101401234", "1"], {"+4531102001": "1"})
        trace = play_call(app, f"+45325020{n:02d}", phone, call_sid=f"CA{n + 0xBE00:032x}", clients=[client])
        return trace.connected_to == "+4531102001"

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.calls) as pool:
        connected = sum(pool.map(call, range(args.calls)))
    wall = time.perf_counter() - started
    server.shutdown()

    latencies.sort()
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    print(f"database            {url.split(':')[0]}")
    print(f"simultaneous calls  {args.calls} ({connected} connected as expected)")
    print(f"stored discharges   {args.discharges + 1}")
    print(f"webhooks            {len(latencies)} in {wall:.2f} s ({len(latencies) / wall:.0f}/s)")
    print(f"latency p50         {statistics.median(latencies):.1f} ms")
    print(
        f"latency p95         {p95:.1f} ms  (ratio to the 15 s provider limit: {p95 / PROVIDER_LIMIT_MS:.4f})"
    )
    print(f"latency max         {latencies[-1]:.1f} ms  (ratio: {latencies[-1] / PROVIDER_LIMIT_MS:.4f})")
    dispose(app)


if __name__ == "__main__":
    main()
