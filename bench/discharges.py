"""Benchmark: 100,000 discharges through the batch API over HTTP, and calls while a batch is stored.

A real threaded server on loopback; batches of 1,000 sent one after another by one client
(as an EHR integration does), then sent again (every item unchanged). Then the webhook
latency of simultaneous calls, alone and while another client stores batches. Prints the
figures and their ratios to the targets (60 s for the 100,000; 15 s for a webhook). Run:

    .venv/bin/python -m bench.discharges [--discharges 100000] [--batch 1000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import http.client
import json
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
from app.data.models import Caller, Department, Shift
from app.services.tokens import add_token
from app.values.times import parse_time
from bench.concurrent_calls import PROVIDER_LIMIT_MS, TimedClient
from ivr.simulator import ScriptedPhone, play_call
from tests.support import REQUIRED_SETTINGS

TARGET_S = 60.0
DEPARTMENTS = 20
DESTINATIONS = ("nursing_home", "home_nursing", "temporary_stay", "residential", "other")


def seed(app: Any, callers: int) -> str:
    """Departments, a day shift, the callers, and a token with the `discharges` scope."""
    session = new_session()
    moment = app.config["CLOCK"]()
    for n in range(DEPARTMENTS):
        dept = Department(
            code=f"D-{n:02d}",
            name=f"Afdeling {n}",
            hospital="Rigshospitalet",
            day_phone=f"+453110{n:04d}",
            oncall_phone=f"+453120{n:04d}",
            switchboard_phone="+4531100000",
        )
        session.add(dept)
        session.add(
            Shift(
                department=dept,
                role="day",
                start_at=parse_time("2026-11-23 08:00"),
                end_at=parse_time("2026-11-23 15:00"),
                phone=f"+454010{n:04d}",
                name=f"Læge {n}",
            )
        )
    for n in range(callers):
        session.add(
            Caller(phone=f"+45325020{n:02d}", organisation=f"Enhed {n}", kind="home_nursing", language="da")
        )
    _, token = add_token(session, "EPIC", ["discharges"], moment)
    session.commit()
    session.close()
    return token


def discharge(n: int, prefix: str = "SP") -> dict[str, Any]:
    """A plausible discharge: a real birth date in the 1900s, one of the departments, a destination."""
    day, month, year = 1 + n % 28, 1 + (n // 28) % 12, (n // 336) % 100
    cpr = f"{day:02d}{month:02d}{year:02d}{(n % 4000):04d}"  # 7th digit 0-3: born in the 1900s
    return {
        "id": f"{prefix}-{n:07d}",
        "cpr": cpr,
        "department": f"D-{n % DEPARTMENTS:02d}",
        "discharged_at": f"2026-11-{20 + n % 3}T{8 + n % 10:02d}:{n % 60:02d}:00+01:00",
        "admitted_at": "2026-11-15T08:10:00+01:00",
        "destination": DESTINATIONS[n % len(DESTINATIONS)],
        "municipality": "København",
        "gp_phone": "+4533123456",
        "responsibility_until": None,
    }


def send(port: int, token: str, batches: list[bytes]) -> tuple[float, list[float], dict[str, int]]:
    """Post the batches in order on one keep-alive connection; return the wall time, each batch's, counts."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    counts = {"added": 0, "updated": 0, "unchanged": 0}
    each = []
    started = time.perf_counter()
    for body in batches:
        begun = time.perf_counter()
        connection.request("POST", "/api/v1/discharges", body=body, headers=headers)
        response = connection.getresponse()
        answer = json.loads(response.read())
        if response.status != 200:
            raise SystemExit(f"batch refused: {response.status} {answer}")
        for name in counts:
            counts[name] += answer[name]
        each.append(time.perf_counter() - begun)
    connection.close()
    return time.perf_counter() - started, each, counts


def calls(app: Any, base: str, count: int) -> list[float]:
    """Play `count` simultaneous calls about a patient of D-01 and return each webhook's latency (ms)."""
    latencies: list[float] = []

    def one(n: int) -> None:
        # discharge(1): D-01's patient, discharged on Saturday to home nursing: D-01's day doctor answers.
        phone = ScriptedPhone(["0201000001", "1"], {"+4540100001": "1"})
        sid = f"CA{n + 0xD15C0000 + int(time.time()):032x}"
        play_call(app, f"+45325020{n:02d}", phone, call_sid=sid, clients=[TimedClient(base, latencies)])

    with ThreadPoolExecutor(max_workers=count) as pool:
        list(pool.map(one, range(count)))
    return sorted(latencies)


def describe(name: str, latencies: list[float]) -> str:
    p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]
    return (
        f"{name:<32} p50 {statistics.median(latencies):7.1f} ms  p95 {p95:7.1f} ms"
        f"  max {latencies[-1]:7.1f} ms  (p95 / 15 s: {p95 / PROVIDER_LIMIT_MS:.4f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--discharges", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=10, help="simultaneous calls in each latency phase")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="linje72-bench-"))
    url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
    moment = parse_time("2026-11-23T10:00:00+01:00")
    app = create_app(
        {"DATABASE_URL": url, **REQUIRED_SETTINGS, "CLOCK": lambda: moment, "LINJE72_LOG_LEVEL": "WARNING"}
    )
    with app.app_context():
        upgrade(get_engine())
        token = seed(app, args.calls)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_port
    base = f"http://127.0.0.1:{port}"

    def batches(prefix: str, count: int, offset: int = 0) -> list[bytes]:
        return [
            json.dumps([discharge(n, prefix) for n in range(start, min(start + args.batch, count))]).encode()
            for start in range(offset, count, args.batch)
        ]

    bodies = batches("SP", args.discharges)
    wall, each, counts = send(port, token, bodies)
    again, each_again, counts_again = send(port, token, bodies)
    quiet = calls(app, base, args.calls)

    # Calls while another system stores batches of new discharges.
    extra = batches("NEW", args.discharges // 5)
    ingest = threading.Thread(target=send, args=(port, token, extra), daemon=True)
    ingest.start()
    busy = calls(app, base, args.calls)
    ingest.join()
    server.shutdown()

    each.sort()
    print(f"database                         {url.split(':')[0]}")
    print(
        f"discharges                       {args.discharges} in batches of {args.batch} "
        f"({len(bodies)} requests)"
    )
    print(
        f"first time (added)               {wall:6.1f} s  {args.discharges / wall:7.0f}/s  "
        f"(ratio to the {TARGET_S:.0f} s target: {wall / TARGET_S:.2f}); counts {counts}"
    )
    print(f"  a batch: p50 {statistics.median(each) * 1000:.0f} ms, max {each[-1] * 1000:.0f} ms")
    print(
        f"again (every item unchanged)     {again:6.1f} s  {args.discharges / again:7.0f}/s  "
        f"(ratio: {again / TARGET_S:.2f}); counts {counts_again}"
    )
    print(describe(f"{args.calls} calls, nothing else", quiet))
    print(describe(f"{args.calls} calls during an ingest", busy))
    dispose(app)


if __name__ == "__main__":
    main()
