"""Benchmark: HL7 v2 ADT over MLLP on loopback, and the call webhooks while it ingests.

Prints messages a second with an ACK each (target 500/s) over one or several
connections, then the call webhooks' latency without and with a concurrent ingest,
on SQLite by default or on DATABASE_URL. Run:

    .venv/bin/python bench/mllp.py [--messages 3000] [--connections 4] [--calls 10] [--database-url URL]
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server as make_http_server

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import create_app  # noqa: E402
from app.data.db import dispose, get_engine, new_session  # noqa: E402
from app.data.migrate import upgrade  # noqa: E402
from app.data.models import Caller, Department, Shift  # noqa: E402
from app.values.times import parse_time  # noqa: E402
from ivr.simulator import ScriptedPhone, play_call  # noqa: E402
from tests.hl7_messages import adt  # noqa: E402

TARGET_PER_SECOND = 500
SETTINGS = {
    "TWILIO_AUTH_TOKEN": "bench-token",
    "LINJE72_SECRET_KEY": "b" * 40,
    "LINJE72_FALLBACK_NUMBER": "+4538640000",
    "LINJE72_AFTER_HOURS_NUMBER": "+4570131813",
    "LINJE72_PUBLIC_URL": "http://linje72.bench",
    "LINJE72_LOG_LEVEL": "WARNING",
}
START, END = b"\x0b", b"\x1c\r"
serial = itertools.count(1)


def seed(calls: int) -> None:
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
                phone=f"+45325020{n:02d}", code=str(5000 + n), organisation=f"Enhed {n}", kind="home_nursing"
            )
        )
    session.commit()
    session.close()


def message() -> bytes:
    """A discharge of a stay of its own (a patient of its own), as Epic would send it."""
    n = next(serial)
    cpr = f"{1 + n % 28:02d}{1 + n % 12:02d}{60 + n % 30}{n % 10000:04d}"
    text = adt(
        "A03", message_id=f"B{n}", pid3=f"{cpr}^^^CPR", pv1={3: "RH-KARD", 19: f"V{n}", 36: "nursing_home"}
    )
    return START + text.encode() + END


def ingest(
    port: int, count: int, stop: threading.Event | None = None, ready: list[bytes] | None = None
) -> tuple[int, int]:
    """Send `count` messages (or until `stop`) on one connection, each after the last one's ACK;
    `ready` are messages built beforehand (the sending system's work is not ours to time)."""
    sent = accepted = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        buffer = b""
        while sent < count and not (stop and stop.is_set()):
            sock.sendall(ready[sent] if ready is not None else message())
            sent += 1
            while END not in buffer:
                buffer += sock.recv(65536)
            frame, _, buffer = buffer.partition(END)
            accepted += b"MSA|AA|" in frame
    return sent, accepted


def calls(app: Any, base: str, count: int, offset: int) -> list[float]:
    """Place `count` calls over HTTP at once; return every webhook's latency in ms."""
    from bench.concurrent_calls import TimedClient

    latencies: list[float] = []

    def call(n: int) -> None:
        client = TimedClient(base, latencies)
        phone = ScriptedPhone(["0101401234", "1"], {"+4540101001": "1"})
        play_call(app, f"+45325020{n:02d}", phone, call_sid=f"CA{n + offset:032x}", clients=[client])

    with ThreadPoolExecutor(max_workers=count) as pool:
        list(pool.map(call, range(count)))
    return sorted(latencies)


def summary(latencies: list[float]) -> str:
    p95 = latencies[max(int(len(latencies) * 0.95) - 1, 0)]
    return f"p50 {statistics.median(latencies):.1f} ms, p95 {p95:.1f} ms, max {latencies[-1]:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--workers", type=int, default=2, help="the listener's processes (linje72 mllp --workers)"
    )
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="linje72-bench-"))
    url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
    moment = parse_time("2026-11-23T12:00:00+01:00")
    app = create_app({"DATABASE_URL": url, **SETTINGS, "CLOCK": lambda: moment})
    with app.app_context():
        upgrade(get_engine())
        seed(args.calls)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    http = make_http_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{http.server_port}"
    # The listener runs as `linje72 mllp` does, in a process of its own: the senders' work
    # here does not share its interpreter.
    port = free_port()
    listener = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from app.cli import main; main()",
            "mllp",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
        ],
        env={
            **os.environ,
            **{k: v for k, v in SETTINGS.items()},
            "DATABASE_URL": url,
            "LINJE72_INSTANCE_PATH": str(folder),
        },
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(port)

    for connections in sorted({1, args.connections}):
        each = args.messages // connections
        prepared = [[message() for _ in range(each)] for _ in range(connections)]
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=connections) as pool:
            results = list(pool.map(lambda ready: ingest(port, len(ready), None, ready), prepared))
        wall = time.perf_counter() - started
        sent, accepted = sum(r[0] for r in results), sum(r[1] for r in results)
        rate = sent / wall
        print(
            f"MLLP, {args.workers} listener process(es), {connections} connection(s): "
            f"{sent} messages ({accepted} AA) in {wall:.2f} s: "
            f"{rate:.0f} messages/s (ratio to {TARGET_PER_SECOND}/s: {rate / TARGET_PER_SECOND:.2f})"
        )

    quiet = calls(app, base, args.calls, 0xA000)
    stop = threading.Event()
    feeder = threading.Thread(target=ingest, args=(port, 10**9, stop), daemon=True)
    feeder.start()
    busy = calls(app, base, args.calls, 0xB000)
    stop.set()
    feeder.join()
    print(f"database: {url.split(':')[0]}; {args.calls} simultaneous calls")
    print(f"webhooks without ingest ({len(quiet)}): {summary(quiet)}")
    print(f"webhooks with an ingest on one connection ({len(busy)}): {summary(busy)}")
    listener.terminate()
    listener.wait(timeout=10)
    http.shutdown()
    dispose(app)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(port: int) -> None:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the listener did not start")


if __name__ == "__main__":
    main()
