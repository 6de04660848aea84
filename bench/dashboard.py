"""Benchmark: the region's dashboard and the monthly report over a year of the whole region's calls.

Builds 300 departments at 6 hospitals under two agreements, the example health councils, and a
year of 500,000 calls simulated one by one (tests/region_statistics.py) and counted into
statistics rows as the retention job counts them; then counts 5,000 stored calls with the real
`count_statistics` (its throughput), and prints, with each figure's ratio to its target:
- GET /dashboard for the whole year, the whole region (target: under 1 s), p50 and p95 of
  several runs, and the same with a filter (a health council and a caller kind);
- `linje72 report --month` for one month (target: under 10 s).
Run:

    .venv/bin/python bench/dashboard.py [--database-url URL] [--contacts 500000] [--skip-build]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import delete, func, insert, select  # noqa: E402

from app import create_app  # noqa: E402
from app.data.db import dispose, get_engine, session_scope  # noqa: E402
from app.data.migrate import upgrade  # noqa: E402
from app.data.models import Contact, ContactStatistic, Department, HealthCouncil, User  # noqa: E402
from app.services.accounts import add_user  # noqa: E402
from app.services.retention import count_statistics  # noqa: E402
from tests.console import log_in  # noqa: E402
from tests.region_statistics import simulate, store  # noqa: E402
from tests.support import REQUIRED_SETTINGS  # noqa: E402

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
HOSPITALS = ("Rigshospitalet", "Bispebjerg", "Herlev", "Hvidovre", "Hillerød", "Bornholm")
EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"
FIRST = date(2025, 11, 24)  # a year up to the clock's day


def make_app(url: str):  # type: ignore[no-untyped-def]
    return create_app(
        {"DATABASE_URL": url, **REQUIRED_SETTINGS, "CLOCK": lambda: NOW, "LINJE72_LOG_LEVEL": "WARNING"}
    )


def municipalities() -> list[str]:
    lines = (EXAMPLES / "health-councils.csv").read_text(encoding="utf-8").splitlines()[1:]
    return [line.split(",")[1] for line in lines] + ["Roskilde", "Køge", "Holbæk", "Næstved", "Slagelse"]


def build(url: str, departments: int, contacts: int) -> None:
    app = make_app(url)
    with app.app_context():
        upgrade(get_engine())
        started = time.perf_counter()
        with session_scope(write=True) as session:
            session.execute(delete(ContactStatistic))
            session.execute(delete(HealthCouncil))
            if not session.scalar(select(func.count()).select_from(Department)):
                session.execute(
                    insert(Department),
                    [
                        {
                            "code": f"D{n:03d}",
                            "name": f"Afdeling {n}",
                            "hospital": HOSPITALS[n % len(HOSPITALS)],
                            "day_phone": f"+4531{n:06d}",
                            "switchboard_phone": "+4531000000",
                            "agreement": "SJ" if n % 5 == 0 else "HOV",
                        }
                        for n in range(departments)
                    ],
                )
            if session.scalar(select(func.count()).where(User.email == "bench@x.dk")) == 0:
                add_user(session, "bench@x.dk", "region", [], "bench password 72", NOW)
            codes = [(d.code, d.agreement or "") for d in session.scalars(select(Department))]
        sums = simulate(codes, municipalities(), FIRST, 365, contacts)
        simulated = time.perf_counter() - started
        with session_scope(write=True) as session:
            rows = store(session, sums)
        print(f"build: {contacts:,} calls simulated in {simulated:.1f} s; {rows:,} statistics rows stored")
        runner = app.test_cli_runner()
        result = runner.invoke(args=["import", "health-councils", str(EXAMPLES / "health-councils.csv")])
        print(f"health councils: {result.output.strip()}")
    dispose(app)


def counting(url: str, calls: int = 5000) -> None:
    """Store `calls` ended calls and count them with the real job: its throughput."""
    app = make_app(url)
    with app.app_context():
        with session_scope(write=True) as session:
            department = session.scalars(select(Department).order_by(Department.id)).first()
            assert department is not None
            base = datetime(2026, 11, 1, 10, tzinfo=UTC)
            stamp = int(time.time())
            session.execute(
                insert(Contact),
                [
                    {
                        "call_sid": f"CAbench{stamp}{n:08d}",
                        "started_at": base + timedelta(minutes=n),
                        "updated_at": base + timedelta(minutes=n),
                        "ended_at": base + timedelta(minutes=n, seconds=200),
                        "answered_at": base + timedelta(minutes=n, seconds=40 + n % 90),
                        "department_id": department.id,
                        "period": "day",
                        "route": "responsibility",
                        "outcome": "connected",
                        "caller_kind": "home_nursing",
                        "step": "ended",
                    }
                    for n in range(calls)
                ],
            )
        started = time.perf_counter()
        counted, _ = count_statistics(lambda: session_scope(write=True), NOW)
        took = time.perf_counter() - started
    dispose(app)
    print(
        f"counting: {counted:,} ended calls into the statistics in {took:.2f} s "
        f"({counted / took:,.0f} calls/s)"
    )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def pages(url: str, rounds: int) -> None:
    app = make_app(url)
    client = app.test_client()
    log_in(client, "bench@x.dk", "bench password 72")
    year = f"from={FIRST.isoformat()}&to=2026-11-23"
    for label, query in (
        ("whole year, whole region", year),
        ("whole year, a council and a caller kind", f"{year}&council=Sundhedsr%C3%A5d+Nord&caller_kind=gp"),
        ("whole year, one hospital", f"{year}&hospital=Herlev"),
        ("this month", "preset=this_month"),
    ):
        client.get(f"/dashboard?{query}")  # warm: templates compiled, connections open
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            response = client.get(f"/dashboard?{query}")
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        p50, p95 = statistics.median(times), percentile(times, 0.95)
        print(f"dashboard, {label}: p50 {p50:.0f} ms, p95 {p95:.0f} ms (target 1000 ms: {p95 / 1000:.2f})")
    with tempfile.TemporaryDirectory() as folder:
        runner = app.test_cli_runner()
        times = []
        for _ in range(3):
            started = time.perf_counter()
            result = runner.invoke(args=["report", "--month", "2026-10", "--out", f"{folder}/report.html"])
            times.append(time.perf_counter() - started)
            assert result.exit_code == 0, result.output
        size = Path(f"{folder}/report.html").stat().st_size
        print(
            f"report --month 2026-10: {min(times):.2f}–{max(times):.2f} s, {size / 1024:.0f} KiB "
            f"(target 10 s: {max(times) / 10:.2f}); {result.output.strip().split(': ', 1)[1]}"
        )
    dispose(app)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--departments", type=int, default=300)
    parser.add_argument("--contacts", type=int, default=500_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--skip-build", action="store_true", help="measure an earlier run's database again")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.gettempdir()}/linje72-bench-dashboard.db"
    print(f"database: {url.split('@')[-1]}")
    if not args.skip_build:
        build(url, args.departments, args.contacts)
        counting(url)
    pages(url, args.rounds)


if __name__ == "__main__":
    main()
