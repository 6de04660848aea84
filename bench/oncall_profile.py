"""Where one GET /api/v1/departments/{code}/oncall spends its time, in-process (no HTTP).

Runs the request many times through Flask's test client against a database that
`bench/console.py` built (or any with departments and a rota), under cProfile, and
prints the mean time per request of each phase (cumulative, so phases can nest) and
the functions with the most time of their own. Run:

    .venv/bin/python bench/oncall_profile.py --database-url URL [--requests 2000]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import secrets
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select  # noqa: E402

from app import create_app  # noqa: E402
from app.data.db import dispose, session_scope  # noqa: E402
from app.data.models import Department  # noqa: E402
from app.services.tokens import add_token  # noqa: E402
from tests.support import REQUIRED_SETTINGS  # noqa: E402

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

# (phase, file fragment, function name): the cumulative time of these functions per request.
PHASES = (
    ("the whole request (Flask's wsgi_app)", "flask/app.py", "wsgi_app"),
    ("  token check (requires_scope, outside the view)", "app/api/auth.py", "guarded"),
    ("    find_token", "app/services/tokens.py", "find_token"),
    ("  connection checkout (pool)", "sqlalchemy/pool/base.py", "_checkout"),
    ("    pre-ping", "sqlalchemy/engine/default.py", "_do_ping_w_event"),
    ("  who_answers", "app/services/directory.py", "who_answers"),
    ("    departments and shifts query", "app/data/queries.py", "departments_with_shifts_covering"),
    ("    routing decision", "routing/decision.py", "decide_for_department"),
    ("  session close (rollback, return to pool)", "sqlalchemy/orm/session.py", "close"),
    ("  commit (the token's last use)", "sqlalchemy/orm/session.py", "commit"),
    ("  query string parsing (webargs)", "webargs/core.py", "parse"),
    ("  response serialization (marshmallow)", "marshmallow/schema.py", "dump"),
    ("  JSON encoding", "flask/json/provider.py", "response"),
    ("  logging", "logging/__init__.py", "_log"),
    ("  audit", "app/services/audit.py", "record"),
    ("  database round trips (driver execute)", "psycopg/cursor.py", "execute"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    app = create_app(
        {
            "DATABASE_URL": args.database_url,
            **REQUIRED_SETTINGS,
            "CLOCK": lambda: NOW,
            "LINJE72_LOG_LEVEL": "WARNING",
            # Many more requests with one token than the API's limit allows a minute.
            "LINJE72_API_RATE_LIMIT": "100000000 per minute",
        }
    )
    with app.app_context(), session_scope(write=True) as session:
        _, token = add_token(session, f"profile {secrets.token_hex(4)}", ["read"], NOW)
        codes = list(session.scalars(select(Department.code).order_by(Department.code)))
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    paths = [f"/api/v1/departments/{code}/oncall" for code in codes]
    for path in paths[:50]:  # warm up: pools, caches, compiled statements
        assert client.get(path, headers=headers).status_code == 200
    # In batches: the fastest batch is the figure least disturbed by whatever else runs.
    batches = []
    cpu_started = time.process_time()
    for first in range(0, args.requests, 200):
        started = time.perf_counter()
        for i in range(first, min(first + 200, args.requests)):
            client.get(paths[i % len(paths)], headers=headers)
        batches.append((time.perf_counter() - started) * 1000 / (min(first + 200, args.requests) - first))
    cpu = (time.process_time() - cpu_started) * 1000 / args.requests
    profile = cProfile.Profile()
    profile.enable()
    for i in range(args.requests):
        client.get(paths[i % len(paths)], headers=headers)
    profile.disable()
    dispose(app)
    stats = pstats.Stats(profile)
    raw = stats.stats  # type: ignore[attr-defined]
    print(
        f"{args.requests} requests without the profiler: {min(batches):.3f} ms each in the fastest "
        f"batch of 200, {statistics.median(batches):.3f} ms in the median batch; "
        f"this process's CPU {cpu:.3f} ms a request (the database's not counted)\n"
    )
    print(f"{'phase (ms per request, under the profiler)':<52} {'ms':>7} {'calls':>6}")
    for name, fragment, function in PHASES:
        total, calls = 0.0, 0
        for (filename, _line, func), (_cc, nc, _tt, ct, _callers) in raw.items():
            if func == function and filename.replace("\\", "/").endswith(fragment):
                total += ct
                calls += nc
        print(f"{name:<52} {total * 1000 / args.requests:7.3f} {calls / args.requests:6.1f}")
    print("\nthe functions with the most time of their own:")
    stats.sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    main()
