"""Benchmark: how fast webhooks answer when the database stops answering mid-call.

A TCP proxy between the app and PostgreSQL stops moving bytes (nothing refused, nothing
answered: a hung database). Callers already in their call key their patient's CPR
number; each answer is timed. Prints the answer times (p50, max), their ratio to the
policy's 5 s limit and to the provider's 15 s limit, and what the callers heard. Run:

    .venv/bin/python bench/hanging_database.py --database-url postgresql+psycopg://USER@HOST/DB [--calls 8]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

# The test helpers (the pausing proxy, a signed caller) live beside the benchmarks.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import create_app  # noqa: E402
from app.data.db import dispose, get_engine, session_scope  # noqa: E402
from app.data.migrate import upgrade  # noqa: E402
from app.data.models import Caller, Department  # noqa: E402
from tests.proxy import PausingProxy  # noqa: E402
from tests.replay_call import Call, action  # noqa: E402
from tests.support import AFTER_HOURS, AUTH_TOKEN, FALLBACK, PUBLIC_URL, SECRET_KEY, twiml  # noqa: E402

POLICY_LIMIT_MS = 5_000
PROVIDER_LIMIT_MS = 15_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a PostgreSQL URL (psycopg 3)")
    parser.add_argument("--calls", type=int, default=8)
    args = parser.parse_args()
    logging.disable(logging.ERROR)
    parts = urlsplit(args.database_url)
    proxy = PausingProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    user = f"{parts.username}@" if parts.username else ""
    proxied = urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{proxy.port}"))
    app = create_app(
        {
            "DATABASE_URL": proxied,
            "INSTANCE_PATH": tempfile.mkdtemp(prefix="linje72-bench-"),
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "LINJE72_SECRET_KEY": SECRET_KEY,
            "LINJE72_FALLBACK_NUMBER": FALLBACK,
            "LINJE72_AFTER_HOURS_NUMBER": AFTER_HOURS,
            "LINJE72_PUBLIC_URL": PUBLIC_URL,
            "LINJE72_LOG_LEVEL": "CRITICAL",
        }
    )
    with app.app_context():
        upgrade(get_engine())
        with session_scope(write=True) as session:
            if session.query(Caller).filter_by(phone="+4532501010").first() is None:
                session.add(Caller(phone="+4532501010", organisation="Bench", kind="home_nursing"))
            if session.query(Department).filter_by(code="BENCH").first() is None:
                session.add(
                    Department(
                        code="BENCH",
                        name="Bench",
                        hospital="Bench",
                        day_phone="+4531102001",
                        switchboard_phone="+4531100000",
                    )
                )
    client = app.test_client()
    calls = [Call(client, f"CA{n + 0xDB00:032x}") for n in range(args.calls)]
    next_urls = [action(call.post("/voice/incoming")[1]) for call in calls]

    def key_cpr(n: int) -> tuple[float, str]:
        started = time.perf_counter()
        body, _ = calls[n].post(next_urls[n], Digits="0101401234")
        return (time.perf_counter() - started) * 1000, body

    proxy.pause()
    with ThreadPoolExecutor(max_workers=args.calls) as pool:
        results = list(pool.map(key_cpr, range(args.calls)))
    proxy.resume()
    times = sorted(ms for ms, _ in results)
    forwarded = sum(twiml(body).findtext("Dial") == FALLBACK for _, body in results)
    p50, worst = statistics.median(times), times[-1]
    print(f"database             {parts.scheme}, behind a proxy that stopped answering")
    print(f"callers at once      {args.calls} ({forwarded} forwarded to the fallback number)")
    print(f"answer p50           {p50:.0f} ms")
    print(f"answer max           {worst:.0f} ms")
    print(f"max / policy 5 s     {worst / POLICY_LIMIT_MS:.2f}")
    print(f"max / provider 15 s  {worst / PROVIDER_LIMIT_MS:.2f}")
    dispose(app)
    proxy.close()


if __name__ == "__main__":
    main()
