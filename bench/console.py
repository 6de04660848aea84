"""Benchmark: the console's heaviest pages and the on-call API on a region-sized database.

Builds 300 departments at 6 hospitals, a year of rota (day, on-call and backup shifts:
about 330,000) and 500,000 contacts with their dial attempts, then prints:
- "who answers now" for every department (target: under 100 ms);
- the contact log under each filter (target: under 300 ms);
- GET /api/v1/departments/{code}/oncall under gunicorn (one sync worker per core) with
  8 concurrent clients (target: p99 under 20 ms), with each figure's ratio to its
  target; before it, the same clients against GET /healthz, the bare app, and the
  endpoint's ratio to that. Run:

    .venv/bin/python bench/console.py [--database-url URL] [--contacts 500000] [--departments 300]

The build takes minutes on PostgreSQL; measure again on the same database with
`--skip-build` (and only the API with `--skip-pages`). The clients share the cores with
the server and the database: each is a process of its own (`--client processes`), or, as
the first version measured, threads of this process using urllib (`--client
urllib-threads`), whose own work and GIL waits count in the latency. On a machine others
use, repeat a run and read the ratio to the bare app beside the figure.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select  # noqa: E402

from app import create_app  # noqa: E402
from app.data.db import dispose, get_engine, make_engine, session_scope  # noqa: E402
from app.data.migrate import upgrade  # noqa: E402
from app.data.models import Contact, Department, DialAttempt, Shift  # noqa: E402
from app.services.accounts import add_user  # noqa: E402
from app.services.tokens import add_token  # noqa: E402
from tests.console import log_in  # noqa: E402
from tests.support import REQUIRED_SETTINGS  # noqa: E402

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
HOSPITALS = ("Rigshospitalet", "Bispebjerg", "Herlev", "Hvidovre", "Hillerød", "Bornholm")
ROUTES = ("responsibility", "no_responsibility", "unidentified_caller", "invalid_patient")
OUTCOMES = ("connected", "forwarded", "unanswered", "abandoned")


def build(url: str, departments: int, contacts: int) -> None:
    app = create_app(
        {"DATABASE_URL": url, **REQUIRED_SETTINGS, "CLOCK": lambda: NOW, "LINJE72_LOG_LEVEL": "WARNING"}
    )
    with app.app_context():
        upgrade(get_engine())
        engine = get_engine()
        with engine.begin() as connection:
            connection.execute(
                insert(Department),
                [
                    {
                        "code": f"D{n:03d}",
                        "name": f"Afdeling {n}",
                        "hospital": HOSPITALS[n % len(HOSPITALS)],
                        "day_phone": f"+4531{n:06d}",
                        "oncall_phone": f"+4532{n:06d}" if n % 4 else None,
                        "switchboard_phone": f"+4533{n % 6:06d}",
                        "day_hours": None,
                    }
                    for n in range(departments)
                ],
            )
            ids = [row[0] for row in connection.exec_driver_sql("SELECT id FROM departments ORDER BY id")]
            start = NOW.replace(hour=7) - timedelta(days=180)
            batch = []
            for department_id in ids:
                for day in range(365):
                    morning = start + timedelta(days=day)
                    batch += [
                        {
                            "department_id": department_id,
                            "role": "day",
                            "start_at": morning,
                            "end_at": morning + timedelta(hours=7),
                            "name": "Dag",
                            "phone": "+4540000001",
                        },
                        {
                            "department_id": department_id,
                            "role": "oncall",
                            "start_at": morning + timedelta(hours=7),
                            "end_at": morning + timedelta(hours=24),
                            "name": "Vagt",
                            "phone": "+4540000002",
                        },
                        {
                            "department_id": department_id,
                            "role": "backup",
                            "start_at": morning,
                            "end_at": morning + timedelta(hours=24),
                            "name": "Bag",
                            "phone": "+4540000003",
                        },
                    ]
                if len(batch) > 50_000:
                    connection.execute(insert(Shift), batch)
                    batch = []
            if batch:
                connection.execute(insert(Shift), batch)
            rng = random.Random(72)
            for first in range(0, contacts, 20_000):
                rows = []
                for n in range(first, min(first + 20_000, contacts)):
                    started = NOW - timedelta(seconds=rng.randrange(365 * 86400))
                    rows.append(
                        {
                            "call_sid": f"CA{n:032x}",
                            "started_at": started,
                            "updated_at": started,
                            "ended_at": started + timedelta(minutes=3),
                            "caller_number": f"+4550{n % 5000:06d}",
                            "caller_organisation": f"Hjemmeplejen {n % 400}",
                            "caller_kind": "home_nursing",
                            "language": "da",
                            "step": "ended",
                            "tries": 0,
                            "patients_read_back": 1,
                            "patient_ref": f"P-{n:016x}",
                            "department_id": ids[n % len(ids)],
                            "period": "day" if n % 3 else "oncall",
                            "route": ROUTES[n % 4],
                            "targets": [],
                            "outcome": OUTCOMES[n % 4],
                            "follow_up": n % 4 == 2,
                            "test_call": False,
                            "replies": {},
                            "turn": 4,
                        }
                    )
                connection.execute(insert(Contact), rows)
                first_id = connection.exec_driver_sql(
                    f"SELECT id FROM contacts WHERE call_sid = 'CA{first:032x}'"
                ).scalar_one()
                connection.execute(
                    insert(DialAttempt),
                    [
                        {
                            "contact_id": first_id + i,
                            "position": 0,
                            "number": "+4540000001",
                            "label": "day",
                            "name": "Dag",
                            "started_at": row["started_at"],
                            "ended_at": row["started_at"],
                            "status": "no-answer",
                        }
                        for i, row in enumerate(rows)
                    ],
                )
        with session_scope(write=True) as session:
            add_user(session, "bench@x.dk", "admin", [], "bench password 72", NOW)
    dispose(app)


def new_token(url: str) -> tuple[str, int]:
    """A read token of its own for this run (a reused database keeps the earlier runs' tokens),
    and how many departments the database has."""
    app = create_app(
        {"DATABASE_URL": url, **REQUIRED_SETTINGS, "CLOCK": lambda: NOW, "LINJE72_LOG_LEVEL": "WARNING"}
    )
    with app.app_context(), session_scope(write=True) as session:
        _, token = add_token(session, f"bench {secrets.token_hex(4)}", ["read"], NOW)
        departments = session.scalar(select(func.count()).select_from(Department)) or 0
    dispose(app)
    return token, departments


def timed(fn, rounds: int) -> list[float]:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return sorted(times)


def pages(url: str) -> None:
    app = create_app(
        {"DATABASE_URL": url, **REQUIRED_SETTINGS, "CLOCK": lambda: NOW, "LINJE72_LOG_LEVEL": "WARNING"}
    )
    client = app.test_client()
    assert log_in(client, "bench@x.dk", "bench password 72").status_code == 302

    def page(path: str) -> None:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)

    print(f"{'page':<46} {'p50 ms':>8} {'max ms':>8} {'ratio to target':>16}")
    front = timed(lambda: page("/"), 10)
    print(
        f"{'who answers now, all departments':<46} {statistics.median(front):8.1f} {front[-1]:8.1f} "
        f"{statistics.median(front) / 100:16.2f}"
    )
    filters = {
        "contact log, no filter": "",
        "contact log, one month": "?from=2026-10-01&to=2026-10-31",
        "contact log, one hospital": "?hospital=Herlev",
        "contact log, one department": "?department=D042",
        "contact log, route": "?route=invalid_patient",
        "contact log, outcome": "?outcome=unanswered",
        "contact log, caller": "?caller=Hjemmeplejen+399",
        "contact log, all filters, page 3": (
            "?from=2026-01-01&to=2026-11-23&hospital=Herlev&outcome=connected&page=3"
        ),
    }
    for name, query in filters.items():
        times = timed(lambda q=query: page("/contacts" + q), 5)
        p50 = statistics.median(times)
        print(f"{name:<46} {p50:8.1f} {times[-1]:8.1f} {p50 / 300:16.2f}")
    dispose(app)


def _client(
    port: int, paths: list[str], token: str, warm_up: int, go: Any, results: Any
) -> None:  # pragma: no cover - runs in a client process
    """One client: a closed loop of GETs, each on a new connection (gunicorn's sync workers
    close every connection after the answer), timed from connecting to the last byte."""
    headers = {"Authorization": f"Bearer {token}"}

    def get(path: str) -> float:
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        connection.close()
        if response.status != 200:
            raise RuntimeError(f"{path}: {response.status}")
        return (time.perf_counter() - started) * 1000

    for path in paths[:warm_up]:
        get(path)
    go.wait()
    results.put([get(path) for path in paths[warm_up:]])


def _urllib_thread_clients(port: int, paths: list[list[str]], token: str) -> list[float]:
    """The first version's clients: threads of one process, urllib, a new connection each."""
    latencies: list[float] = []
    lock = threading.Lock()

    def worker(mine: list[str]) -> None:
        times = []
        for path in mine:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {token}"}
            )
            started = time.perf_counter()
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()
            times.append((time.perf_counter() - started) * 1000)
        with lock:
            latencies.extend(times)

    threads = [threading.Thread(target=worker, args=(mine,)) for mine in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def _measure(
    name: str, port: int, paths: list[list[str]], token: str, client: str, warm_up: int
) -> tuple[float, float, float]:
    """Run one client per list of paths at once; print and return p50, p99 (ms) and requests/s."""
    started = time.perf_counter()
    if client == "urllib-threads":
        latencies = _urllib_thread_clients(port, paths, token)
        elapsed = time.perf_counter() - started
    else:
        context = multiprocessing.get_context("fork")
        go = context.Barrier(len(paths) + 1)
        results = context.Queue()
        processes = [
            context.Process(target=_client, args=(port, mine, token, warm_up, go, results)) for mine in paths
        ]
        for process in processes:
            process.start()
        go.wait()  # every client warmed up and ready: the clock starts now
        started = time.perf_counter()
        latencies = [t for _ in processes for t in results.get(timeout=300)]
        elapsed = time.perf_counter() - started
        for process in processes:
            process.join()
            if process.exitcode != 0:
                raise RuntimeError(f"a client failed on {name}")
    latencies.sort()
    p50 = statistics.median(latencies)
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    rate = len(latencies) / elapsed
    print(
        f"  {name:<36} {len(latencies):>6} in {elapsed:5.1f} s {rate:6.0f}/s"
        f"  p50 {p50:5.1f} ms  p99 {p99:5.1f} ms"
    )
    return p50, p99, rate


def api_under_gunicorn(url: str, clients: int = 8, requests: int = 1000, client: str = "processes") -> None:
    """The on-call endpoint under gunicorn, and the bare app (/healthz) with the same clients."""
    env = {**os.environ, "DATABASE_URL": url, **REQUIRED_SETTINGS, "LINJE72_LOG_LEVEL": "WARNING"}
    # The clients ask far more often than the API's limit lets one token (a bench, not misuse).
    env["LINJE72_API_RATE_LIMIT"] = "100000000 per minute"
    env["LINJE72_INSTANCE_PATH"] = tempfile.mkdtemp(prefix="linje72-bench-")
    port = 18072
    workers = str(os.cpu_count() or 2)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", workers, "-b", f"127.0.0.1:{port}", "app:create_app()"],
        env=env,
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    token, departments = new_token(url)
    warm_up = 0 if client == "urllib-threads" else 20
    oncall = [
        [f"/api/v1/departments/D{(n * 37 + i) % departments:03d}/oncall" for i in range(warm_up + requests)]
        for n in range(clients)
    ]
    healthz = [["/healthz"] * (warm_up + requests) for _ in range(clients)]
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        print(f"\ngunicorn {workers} sync workers, {clients} clients ({client}), {requests} requests each:")
        base = _measure("GET /healthz (the bare app)", port, healthz, token, client, warm_up)
        p50, p99, rate = _measure(
            "GET /api/v1/departments/{code}/oncall", port, oncall, token, client, warm_up
        )
        print(
            f"  on-call p99 {p99:.1f} ms: ratio to the 20 ms target {p99 / 20:.2f}; "
            f"to the bare app: p50 {p50 / base[0]:.2f}, p99 {p99 / base[1]:.2f}, "
            f"requests/s {rate / base[2]:.2f}"
        )
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--departments", type=int, default=300)
    parser.add_argument("--contacts", type=int, default=500_000)
    parser.add_argument("--skip-build", action="store_true", help="measure an earlier run's database again")
    parser.add_argument("--skip-pages", action="store_true", help="measure only the API")
    parser.add_argument("--requests", type=int, default=1000, help="API requests per client")
    parser.add_argument(
        "--client",
        choices=("processes", "urllib-threads"),
        default="processes",
        help="a process per client with http.client (default), or the first version's urllib threads",
    )
    args = parser.parse_args()
    if args.skip_build and not args.database_url:
        parser.error("--skip-build needs the --database-url of an earlier run")
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='linje72-bench-')}/bench.db"
    if not args.skip_build:
        started = time.perf_counter()
        build(url, args.departments, args.contacts)
        print(
            f"built {args.departments} departments, a year of rota and {args.contacts} contacts "
            f"in {time.perf_counter() - started:.0f} s ({url.split('://')[0]})\n"
        )
    else:
        engine = make_engine(url)
        upgrade(engine)  # an earlier run's database, brought to this code's schema
        engine.dispose()
    if not args.skip_pages:
        pages(url)
    api_under_gunicorn(url, requests=args.requests, client=args.client)


if __name__ == "__main__":
    main()
