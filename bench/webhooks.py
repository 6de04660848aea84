"""Benchmark, the one command: what a webhook costs, beside a bare app, at 10,000 and 1,000,000 rows.

Builds a database (300 departments, `--shifts` rota shifts around today, `--discharges`
stays of half as many patients, as many finished contacts with their patient look-ups,
2,000 registered callers; PostgreSQL by COPY), then in one run:

- database statements per webhook step, counted with a SQLAlchemy event while whole calls
  are played in this process;
- the product under gunicorn and, beside it under the same gunicorn settings, a bare Flask
  app that answers the same seven webhook paths with constant TwiML; 8 client processes
  (not threads: the GIL) play whole calls (incoming, patient, confirm, whisper, whisper
  answer, dial result, status; signed as the provider signs them) against each for
  `--seconds`, `--runs` times in turn; per step requests/s, p50 and p99, whole calls/s
  beside the bare app's with the ratio (target >= 0.5) and the p99 of a webhook (target
  < 25 ms);
- on PostgreSQL, beside them, the floor: the bare app's answers after what any webhook must
  do at least (the signature checked, one locked read and one write of the call's row, raw
  psycopg): how near the bare app the product could come on this machine and stack;
- the same at the large database (`--large-database-url`, 1,000,000 shifts, discharges
  and contacts), and large/small (target <= 1.3);
- bench/rota.py (a year of rota for 300 departments: target 20 s), bench/discharges.py
  (100,000 discharges through the batch API: target 60 s) and bench/console.py (the
  console's heaviest pages), each on a database of its own, their figures as they print them.

Both servers run under the repository's `gunicorn.conf.py` (gthread workers from the core
count, as deployed); `--sync` starts them with one sync worker per core instead. Run:

    .venv/bin/python -m bench.webhooks \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_10k \\
        --large-database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_1m [--skip-build] \\
        [--skip-large] [--skip-rota] [--skip-discharges] [--skip-console] [--runs 3] [--seconds 10]

`--skip-build` measures an earlier run's databases again (built around the day they were
built: the rota covers some days either side, the stays' responsibility a year). The
machine's load moves every figure: read the ratio to the bare app beside it.
"""

from __future__ import annotations

import argparse
import collections
import http.client
import multiprocessing
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask import Flask, Response  # noqa: E402
from sqlalchemy import event, make_url, text  # noqa: E402

from app import create_app  # noqa: E402
from app.data.db import dispose, get_engine, make_engine  # noqa: E402
from app.data.migrate import upgrade  # noqa: E402
from app.values.cpr import CprVault  # noqa: E402
from ivr.simulator import HttpResponse, ScriptedPhone, play_call  # noqa: E402
from tests.support import REQUIRED_SETTINGS  # noqa: E402

DEPARTMENTS = 300
CALLERS = 2000
ACTIVE_PATIENTS = 2000  # patients with an active responsibility: the calls are about them
STEPS = ("incoming", "patient", "confirm", "whisper", "whisper-answer", "dial-result", "status")
TARGET_RATIO = 0.5  # whole calls/s, product to bare app
TARGET_P99_MS = 25.0
TARGET_FLAT = 1.3  # large to small
# Settings of the product under test beyond the required ones: the bench's callers look up
# far more patients an hour than the misuse limit allows a real unit.
BENCH_SETTINGS = {**REQUIRED_SETTINGS, "LINJE72_LOOKUPS_PER_HOUR": "100000000"}


# --- the database ---------------------------------------------------------------


def cpr_of(n: int) -> str:
    """The n-th of many valid CPR numbers (born 1940-1999, the 7th digit 0-3: the 1900s)."""
    day, month, year, serial = 1 + n % 28, 1 + (n // 28) % 12, 40 + (n // 336) % 60, (n // 20160) % 4000
    return f"{day:02d}{month:02d}{year:02d}{serial:04d}"


def caller_phone(n: int) -> str:
    return f"+4535{n:06d}"


def create_database(url: str, *, fresh: bool) -> None:
    """Make sure a PostgreSQL database exists (dropped and made again when `fresh`)."""
    parts = make_url(url)
    if parts.get_backend_name() != "postgresql" or not parts.database:
        return
    import psycopg

    admin = parts.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (parts.database,)
        ).fetchone()
        if exists and fresh:
            connection.execute(f'DROP DATABASE "{parts.database}" WITH (FORCE)')
        if not exists or fresh:
            connection.execute(f'CREATE DATABASE "{parts.database}"')


def _copy(connection: Any, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> None:
    """Insert many rows: COPY on PostgreSQL, executemany on SQLite (naive UTC datetimes)."""
    if connection.dialect.name == "postgresql":
        cursor = connection.connection.dbapi_connection.cursor()
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" for _ in columns)
    statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(tuple(v.isoformat(" ") if isinstance(v, datetime) else v for v in row))
        if len(batch) >= 20_000:
            connection.exec_driver_sql(statement, batch)
            batch = []
    if batch:
        connection.exec_driver_sql(statement, batch)


def build(url: str, shifts: int, discharges: int, now: datetime) -> None:
    """Build the bench's region around `now` (UTC); contacts and look-ups as many as discharges."""
    create_database(url, fresh=True)
    app = create_app({"DATABASE_URL": url, **BENCH_SETTINGS, "LINJE72_LOG_LEVEL": "WARNING"})
    vault: CprVault = app.extensions["linje72.vault"]
    naive = now.astimezone(UTC).replace(tzinfo=None, minute=0, second=0, microsecond=0)
    rng = random.Random(72)
    with app.app_context():
        upgrade(get_engine())
        with get_engine().begin() as connection:
            _copy(
                connection,
                "agreements",
                (
                    "code name line_name window_hours municipalities short_stay_hours "
                    "nursing_home_short_stays psychiatry nurse_first after_hours_number fallback_number "
                    "closed_days half_days"
                ).split(),
                [("SJ", "Region Sjælland", "96-timers-linjen", 96, "[]", 24, False, False, False,
                  "+4570151700", "+4556313131", "[]", "{}")],
            )  # fmt: skip
            _copy(
                connection,
                "departments",
                ("code", "name", "hospital", "day_phone", "oncall_phone", "switchboard_phone", "agreement",
                 "psychiatric", "closed_days", "half_days"),
                [(f"B{n:03d}", f"Afdeling {n}", f"Hospital {n % 6}", f"+4531{n:06d}", f"+4532{n:06d}",
                  f"+4533{n % 6:06d}", "SJ" if n % 3 == 0 else None, False, "[]", "{}")
                 for n in range(DEPARTMENTS)],
            )  # fmt: skip
            ids = [row[0] for row in connection.exec_driver_sql("SELECT id FROM departments ORDER BY code")]
            _copy(
                connection,
                "callers",
                ("phone", "code", "organisation", "kind", "language"),
                [(caller_phone(n), f"{10000 + n}", f"Hjemmeplejen {n}", "home_nursing", "da")
                 for n in range(CALLERS)],
            )  # fmt: skip
            days = max(4, -(-shifts // (3 * DEPARTMENTS)))
            first_day = naive.replace(hour=7) - timedelta(days=days // 2)

            def rota() -> Iterator[tuple[Any, ...]]:
                made = 0
                for day in range(days):
                    morning = first_day + timedelta(days=day)
                    for n, department_id in enumerate(ids):
                        for role, start, hours in (("day", 0, 7), ("oncall", 7, 17), ("backup", 0, 24)):
                            if made >= shifts:
                                return
                            made += 1
                            begins = morning + timedelta(hours=start)
                            end = begins + timedelta(hours=hours)
                            yield department_id, role, begins, end, f"Læge {n}", f"+4540{n:03d}{start:03d}"

            _copy(
                connection, "shifts", ("department_id", "role", "start_at", "end_at", "name", "phone"), rota()
            )
            patients = max(ACTIVE_PATIENTS, discharges // 2)
            keys: dict[int, tuple[str, bytes]] = {}

            def key(n: int) -> tuple[str, bytes]:
                if n not in keys:
                    number = cpr_of(n)
                    keys[n] = (vault.lookup_key(number), vault.encrypt(number))
                return keys[n]

            def stays() -> Iterator[tuple[Any, ...]]:
                for n in range(discharges):
                    active = n < ACTIVE_PATIENTS
                    patient = n if active else rng.randrange(patients)
                    lookup, encrypted = key(patient)
                    department_id = ids[patient % len(ids)] if active else rng.choice(ids)
                    if active:
                        # Discharged yesterday, extended for a year: --skip-build measures the same calls.
                        discharged, until = naive - timedelta(days=1), naive + timedelta(days=365)
                    else:
                        discharged, until = naive - timedelta(hours=rng.randrange(240, 3 * 365 * 24)), None
                    admitted = discharged - timedelta(days=3)
                    yield (f"B{n}", lookup, encrypted, department_id, discharged, admitted, "home_nursing",
                           until, "discharged", "inpatient", True, "file")  # fmt: skip
                keys.clear()

            _copy(
                connection,
                "discharges",
                ("external_id", "cpr_lookup", "cpr_encrypted", "department_id", "discharged_at",
                 "admitted_at", "destination", "responsibility_until", "status", "kind", "target_group",
                 "source"),
                stays(),
            )  # fmt: skip
            caller_ids = [row[0] for row in connection.exec_driver_sql("SELECT id FROM callers ORDER BY id")]
            started = [naive - timedelta(seconds=rng.randrange(60, 365 * 86400)) for _ in range(discharges)]
            callers = [rng.choice(caller_ids) for _ in range(discharges)]
            _copy(
                connection,
                "contacts",
                ("call_sid", "started_at", "updated_at", "ended_at", "caller_number", "caller_id",
                 "caller_organisation", "caller_kind", "language", "step", "tries", "patients_read_back",
                 "replies", "turn", "patient_ref", "department_id", "period", "route", "targets", "outcome",
                 "follow_up", "test_call"),
                ((f"CB{n:032x}", at, at, at + timedelta(minutes=3), caller_phone(c % CALLERS), c,
                  "Hjemmeplejen", "home_nursing", "da", "ended", 0, 1, "{}", 4, f"P-{n:016x}",
                  ids[n % len(ids)], "day", "responsibility", "[]", "connected", False, False)
                 for n, (at, c) in enumerate(zip(started, callers, strict=True))),
            )  # fmt: skip
            first_contact = connection.exec_driver_sql("SELECT min(id) FROM contacts").scalar() or 0
            _copy(
                connection,
                "patient_lookups",
                ("at", "contact_id", "caller_id", "patient_ref", "matched"),
                ((at, first_contact + n, c, f"P-{n:016x}", True)
                 for n, (at, c) in enumerate(zip(started, callers, strict=True))),
            )  # fmt: skip
        if get_engine().dialect.name == "postgresql":
            with get_engine().connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    dispose(app)


# --- the servers ------------------------------------------------------------------


def product() -> Flask:
    """The product as gunicorn serves it (settings from the environment)."""
    return create_app()


BARE = {
    "incoming": (
        '<Gather action="{base}/voice/patient" input="dtmf" numDigits="10"><Say>Velkommen.</Say></Gather>'
    ),
    "patient": '<Gather action="{base}/voice/confirm" input="dtmf" numDigits="1"><Say>Tryk 1.</Say></Gather>',
    "confirm": (
        '<Say>Du stilles om.</Say><Dial action="{base}/voice/dial-result?attempt=1" timeout="20">'
        '<Number url="{base}/voice/whisper?attempt=1">+4540000001</Number></Dial>'
    ),
    "whisper": (
        '<Gather action="{base}/voice/whisper-answer?attempt=1" input="dtmf" numDigits="1">'
        "<Say>Tryk 1.</Say></Gather>"
    ),
    "whisper-answer": "<Say>Et opkald.</Say>",
    "dial-result": "<Hangup/>",
}


def bare() -> Flask:
    """A bare Flask app that answers the same webhook paths with constant TwiML."""
    app = Flask("bare")
    base = os.environ.get("LINJE72_PUBLIC_URL", "http://linje72.bench").rstrip("/")
    answers = {
        step: f'<?xml version="1.0" encoding="UTF-8"?><Response>{body.format(base=base)}</Response>'
        for step, body in BARE.items()
    }

    def answer(step: str) -> Response:
        if step == "status":
            return Response("", status=204)
        return Response(answers[step], mimetype="text/xml")

    app.add_url_rule("/voice/<step>", view_func=answer, methods=["POST"])
    app.add_url_rule("/healthz", view_func=lambda: "ok")
    return app


FLOOR_INSERT = (
    "INSERT INTO contacts (call_sid, started_at, updated_at, caller_number, language, step, tries,"
    " patients_read_back, replies, turn, targets, follow_up, test_call)"
    " VALUES (%s, now(), now(), %s, 'da', 'caller', 0, 0, '{}', 0, '[]', false, false)"
)


def floor() -> Flask:
    """The floor: the bare app's answers after what every webhook must do at least.

    The provider's signature checked as the product checks it, then one transaction on the
    call's row (read and locked by its CallSid, then written; made at the first webhook)
    through psycopg on a connection per thread, with no ORM, policy or TwiML building.
    PostgreSQL only. How near the bare app this gets is as near as the product can.
    """
    import threading

    import psycopg
    from flask import request

    from ivr.security import is_signed

    app = bare()
    app.name = "floor"
    base = os.environ.get("LINJE72_PUBLIC_URL", "http://linje72.bench").rstrip("/")
    token = os.environ["TWILIO_AUTH_TOKEN"]
    dsn = (
        make_url(os.environ["DATABASE_URL"])
        .set(drivername="postgresql")
        .render_as_string(hide_password=False)
    )
    local = threading.local()
    answer = app.view_functions["answer"]

    def connection() -> Any:
        if getattr(local, "connection", None) is None:
            local.connection = psycopg.connect(dsn)
        return local.connection

    def step(step: str) -> Response:
        if not is_signed(request, [token], base):
            return Response("", status=403)
        sid = request.form.get("ParentCallSid") or request.form.get("CallSid", "")
        database = connection()
        with database.transaction():
            row = database.execute(
                "SELECT id, turn FROM contacts WHERE call_sid = %s FOR UPDATE", (sid,)
            ).fetchone()
            if row is None:
                database.execute(FLOOR_INSERT, (sid, request.form.get("From", "")))
            else:
                database.execute(
                    "UPDATE contacts SET turn = %s, step = %s, updated_at = now() WHERE id = %s",
                    (row[1] + 1, step[:20], row[0]),
                )
        return answer(step)

    app.view_functions["answer"] = step
    return app


class Server:
    """A gunicorn serving `factory` on a loopback port: with the repository's `gunicorn.conf.py`
    (gthread workers from the core count), or with `workers` sync workers when `sync`."""

    def __init__(self, factory: str, url: str, port: int, workers: int, sync: bool = False) -> None:
        env = {**os.environ, "DATABASE_URL": url, **BENCH_SETTINGS}
        env["LINJE72_INSTANCE_PATH"] = tempfile.mkdtemp(prefix="linje72-bench-")
        env["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="linje72-bench-metrics-")
        self.port = port
        if sync:
            serving = ["-w", str(workers), "-k", "sync"]
        else:
            serving = ["-c", str(ROOT / "gunicorn.conf.py")]
            if workers:
                env["LINJE72_WORKERS"] = str(workers)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", *serving, "-b", f"127.0.0.1:{port}",
             f"bench.webhooks:{factory}()"],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{factory} did not start on port {port}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


# --- the clients ------------------------------------------------------------------


class EveryoneAccepts(ScriptedPhone):
    """Each callee answers and presses 1."""

    def ring(self, number: str) -> str:
        return "answer"

    def callee_key(self, number: str) -> str | None:
        return "1"


class TimedClient:
    """Posts over a new connection each time (gunicorn's sync workers close it), timing each step."""

    def __init__(self, port: int, times: dict[str, list[float]]) -> None:
        self.base_url = f"http://127.0.0.1:{port}"
        self.port = port
        self.times = times

    def post(self, url: str, data: dict[str, str], headers: dict[str, str]) -> HttpResponse:
        path = urllib.parse.urlsplit(url)
        step = path.path.rsplit("/", 1)[-1]
        body = urllib.parse.urlencode(data)
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        connection.request(
            "POST",
            path.path + (f"?{path.query}" if path.query else ""),
            body=body,
            headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
        )
        response = connection.getresponse()
        answer = response.read().decode()
        connection.close()
        self.times[step].append((time.perf_counter() - started) * 1000)
        return HttpResponse(response.status, answer)


PROVIDER = SimpleNamespace(
    config={"TWILIO_AUTH_TOKEN": BENCH_SETTINGS["TWILIO_AUTH_TOKEN"],
            "LINJE72_PUBLIC_URL": BENCH_SETTINGS["LINJE72_PUBLIC_URL"]}
)  # fmt: skip


def one_call(client: Any, rng: random.Random) -> bool:
    """Play one whole call about a patient with an active responsibility; True when it connected."""
    phone = EveryoneAccepts([cpr_of(rng.randrange(ACTIVE_PATIENTS)), "1"])
    trace = play_call(PROVIDER, caller_phone(rng.randrange(CALLERS)), phone, clients=[client])  # type: ignore[arg-type]
    return trace.connected_to is not None


def _client(port: int, seed: int, seconds: float, go: Any, results: Any) -> None:  # pragma: no cover
    rng = random.Random(seed)
    times: dict[str, list[float]] = collections.defaultdict(list)
    client = TimedClient(port, times)
    for _ in range(3):
        one_call(client, rng)  # warm up: connections, caches
    times.clear()
    go.wait()
    calls = connected = 0
    ends = time.perf_counter() + seconds
    while time.perf_counter() < ends:
        calls += 1
        connected += one_call(client, rng)
    results.put((dict(times), calls, connected))


class Measured:
    def __init__(self, times: dict[str, list[float]], calls: int, connected: int, elapsed: float) -> None:
        self.times = {step: sorted(values) for step, values in times.items()}
        self.calls, self.connected, self.elapsed = calls, connected, elapsed
        self.all = sorted(t for values in times.values() for t in values)
        self.cpu: CpuShare | None = None

    @property
    def calls_per_second(self) -> float:
        return self.calls / self.elapsed

    def p(self, q: float, step: str | None = None) -> float:
        values = self.all if step is None else self.times.get(step, [0.0])
        return values[max(0, int(len(values) * q) - 1)] if q < 1 else values[-1]


TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _processes() -> Iterator[tuple[int, int, str, float]]:
    """Every process of this machine: pid, parent pid, name and CPU seconds used (Linux's /proc)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # ended meanwhile
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        yield int(entry), int(fields[1]), name, (int(fields[11]) + int(fields[12])) / TICK


def cpu_used(server_pid: int) -> tuple[float, float]:
    """CPU seconds used so far by a server (its master and workers) and by this machine's PostgreSQL."""
    found = list(_processes())
    family, app, database = {server_pid}, 0.0, 0.0
    for pid, parent, name, seconds in sorted(found, key=lambda p: p[0]):
        if pid in family or parent in family:
            family.add(pid)
            app += seconds
        elif name == "postgres" or name.startswith("postgres:"):
            database += seconds
    return app, database


class CpuShare:
    """CPU per webhook while one server was driven: the server's, PostgreSQL's (when it runs on this
    machine) and the client processes', in ms. Less moved by other load than times are."""

    def __init__(self, app: float, database: float, clients: float) -> None:
        self.app, self.database, self.clients = app, database, clients

    def __str__(self) -> str:
        return f"app {self.app:.2f}, PostgreSQL {self.database:.2f}, clients {self.clients:.2f} ms"


def _run_clients(
    target: Any, argsets: Sequence[tuple[Any, ...]], seconds: float
) -> tuple[dict[str, list[float]], list[tuple[Any, Any]], float]:
    """Start a client process for each of `argsets` (each given a start barrier and a result queue),
    start them together, and return their webhooks' times merged, what else each reported, and the
    seconds from the start until the last reported."""
    context = multiprocessing.get_context("fork")
    go = context.Barrier(len(argsets) + 1)
    results = context.Queue()
    processes = [context.Process(target=target, args=(*args, go, results)) for args in argsets]
    for process in processes:
        process.start()
    go.wait()
    started = time.perf_counter()
    times: dict[str, list[float]] = collections.defaultdict(list)
    found = []
    for _ in processes:
        mine, *rest = results.get(timeout=seconds + 300)
        for step, values in mine.items():
            times[step] += values
        found.append(tuple(rest))
    elapsed = time.perf_counter() - started
    for process in processes:
        process.join()
    return times, found, elapsed


def drive(port: int, clients: int, seconds: float, server_pid: int | None = None) -> Measured:
    """`clients` processes play whole calls for `seconds`; every webhook timed (and, given the
    server's pid, the CPU it, the database and the clients used)."""
    if server_pid is not None:
        app_before, database_before = cpu_used(server_pid)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        clients_before = children.ru_utime + children.ru_stime
    seeds = [1000 * n + random.randrange(1000) for n in range(clients)]
    times, found, elapsed = _run_clients(_client, [(port, seed, seconds) for seed in seeds], seconds)
    calls, connected = sum(placed for placed, _ in found), sum(reached for _, reached in found)
    measured = Measured(times, calls, connected, elapsed)
    if server_pid is not None:
        app_after, database_after = cpu_used(server_pid)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        webhooks = max(1, len(measured.all)) / 1000
        measured.cpu = CpuShare(
            (app_after - app_before) / webhooks,
            (database_after - database_before) / webhooks,
            (children.ru_utime + children.ru_stime - clients_before) / webhooks,
        )
    return measured


def _paced_client(
    port: int, seed: int, rate: float, seconds: float, go: Any, results: Any
) -> None:  # pragma: no cover
    """Place calls at random moments (`rate` a second on average, a Poisson stream), each call in a
    thread of its own, so that a slow answer delays no later call (no coordinated omission)."""
    import threading

    rng = random.Random(seed)
    times: dict[str, list[float]] = collections.defaultdict(list)
    warm = TimedClient(port, collections.defaultdict(list))
    for _ in range(2):
        one_call(warm, rng)
    calls: list[threading.Thread] = []
    go.wait()
    started = time.perf_counter()
    moment = rng.expovariate(rate)
    late = 0.0
    while moment < seconds:
        wait = started + moment - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        else:
            late = max(late, -wait)
        call = threading.Thread(target=one_call, args=(TimedClient(port, times), random.Random(rng.random())))
        call.start()
        calls.append(call)
        moment += rng.expovariate(rate)
    for call in calls:
        call.join()
    results.put((dict(times), len(calls), late * 1000))


def paced(port: int, rate: float, seconds: float, clients: int = 4) -> tuple[Measured, float]:
    """Whole calls arriving at `rate` a second (from `clients` processes) for `seconds`, each webhook
    timed; with the latest a call started behind its moment, in ms (a client that cannot keep up)."""
    seeds = [7919 * n + random.randrange(1000) for n in range(clients)]
    argsets = [(port, seed, rate / clients, seconds) for seed in seeds]
    times, found, elapsed = _run_clients(_paced_client, argsets, seconds)
    calls, late = sum(placed for placed, _ in found), max(behind for _, behind in found)
    return Measured(times, calls, calls, elapsed), late


def measure_paced(url: str, rates: Sequence[float], seconds: float, port: int) -> None:
    """The product at steady loads below saturation: what a caller waits for at a given rate of calls."""
    product_server = Server("product", url, port, 0)
    try:
        print(f"\npaced: calls arriving at random at a steady rate, {seconds:.0f} s each (gunicorn.conf.py)")
        print(f"  {'calls/s':>7} {'an hour':>8} {'webhooks/s':>10} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}"
              f" {'server CPU':>10}  p99 < {TARGET_P99_MS:.0f} ms")  # fmt: skip
        for rate in rates:
            before, _ = cpu_used(product_server.process.pid)
            found, late = paced(product_server.port, rate, seconds)
            after, _ = cpu_used(product_server.process.pid)
            share = (after - before) / found.elapsed / (os.cpu_count() or 1)
            behind = f"  (a call started up to {late:.0f} ms late)" if late > 50 else ""
            print(
                f"  {rate:7.0f} {rate * 3600:8.0f} {len(found.all) / found.elapsed:10.0f} {found.p(0.5):7.1f}"
                f" {found.p(0.99):7.1f} {found.p(1.0):7.1f} {share:9.0%}  "
                f"{'yes' if found.p(0.99) < TARGET_P99_MS else 'no'}{behind}",
                flush=True,
            )
    finally:
        product_server.stop()


# --- statements per step ----------------------------------------------------------


class CountingClient:
    """The Flask test client, counting the statements each webhook step sends to the database."""

    def __init__(self, app: Flask, counts: dict[str, list[int]]) -> None:
        self.client = app.test_client()
        self.counts = counts
        self.sent = 0
        for name in ("linje72.engine", "linje72.call_engine"):
            event.listen(app.extensions[name], "before_cursor_execute", self._count)

    def _count(self, *args: Any) -> None:
        if not args[2].startswith(("BEGIN", "PRAGMA")):
            self.sent += 1

    def post(self, url: str, data: dict[str, str], headers: dict[str, str]) -> Any:
        self.sent = 0
        response = self.client.post(url, data=data, headers=headers)
        self.counts[urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1]].append(self.sent)
        return response


def statements_per_step(url: str, calls: int = 20) -> dict[str, float]:
    """Play whole calls in this process; return the mean statements sent per webhook step."""
    app = create_app({"DATABASE_URL": url, **BENCH_SETTINGS, "LINJE72_LOG_LEVEL": "WARNING"})
    counts: dict[str, list[int]] = collections.defaultdict(list)
    client = CountingClient(app, counts)
    rng = random.Random(7)
    for _ in range(calls):
        phone = EveryoneAccepts([cpr_of(rng.randrange(ACTIVE_PATIENTS)), "1"])
        play_call(app, caller_phone(rng.randrange(CALLERS)), phone, clients=[client])
    dispose(app)
    return {step: statistics.mean(values) for step, values in counts.items()}


# --- the report -------------------------------------------------------------------


def span(values: Sequence[float], fmt: str = "{:.1f}") -> str:
    low, high = min(values), max(values)
    return fmt.format(low) if fmt.format(low) == fmt.format(high) else f"{fmt.format(low)}–{fmt.format(high)}"


def measure_size(label: str, url: str, args: argparse.Namespace) -> dict[str, list[float]]:
    """Statements per step, then the bare app and the product in turn, `--runs` times."""
    workers = args.workers or (os.cpu_count() or 2 if args.sync else 0)
    serving = f"{workers} sync workers" if args.sync else "gunicorn.conf.py (gthread, workers from the cores)"
    print(f"\n== {label}: {url.split('://')[0]}, {make_url(url).database} ==")
    counts = statements_per_step(url)
    print("statements per webhook step (single process, BEGIN not counted):")
    print("  " + "  ".join(f"{step} {counts.get(step, 0):.1f}" for step in STEPS))
    postgres = make_url(url).get_backend_name() == "postgresql"
    bare_server = Server("bare", url, args.port, workers, args.sync)
    product_server = Server("product", url, args.port + 1, workers, args.sync)
    floor_server = Server("floor", url, args.port + 2, workers, args.sync) if postgres else None
    found: dict[str, list[float]] = collections.defaultdict(list)
    try:
        for run in range(args.runs):
            base = drive(bare_server.port, args.clients, args.seconds, bare_server.process.pid)
            low = (
                drive(floor_server.port, args.clients, args.seconds, floor_server.process.pid)
                if floor_server
                else None
            )
            mine = drive(product_server.port, args.clients, args.seconds, product_server.process.pid)
            ratio = mine.calls_per_second / base.calls_per_second
            found["ratio"].append(ratio)
            found["calls"].append(mine.calls_per_second)
            found["bare_calls"].append(base.calls_per_second)
            found["p50"].append(mine.p(0.5))
            found["p99"].append(mine.p(0.99))
            found["bare_p99"].append(base.p(0.99))
            print(
                f"run {run + 1}: gunicorn with {serving}, {args.clients} client processes, "
                f"{args.seconds:.0f} s each"
            )
            print(
                f"  {'step':<16} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7}   {'bare p50':>8} {'bare p99':>8}"
            )
            for step in STEPS:
                rate = len(mine.times.get(step, [])) / mine.elapsed
                print(
                    f"  {step:<16} {rate:7.0f} {mine.p(0.5, step):7.1f} {mine.p(0.99, step):7.1f}"
                    f"   {base.p(0.5, step):8.1f} {base.p(0.99, step):8.1f}"
                )
                found[f"p50 {step}"].append(mine.p(0.5, step))
            print(
                f"  whole calls/s {mine.calls_per_second:.1f} ({mine.connected} of {mine.calls} connected), "
                f"bare {base.calls_per_second:.1f}: ratio {ratio:.2f} (target >= {TARGET_RATIO})"
            )
            print(
                f"  a webhook: p50 {mine.p(0.5):.1f} ms, p99 {mine.p(0.99):.1f} ms "
                f"(target < {TARGET_P99_MS:.0f}: "
                f"{mine.p(0.99) / TARGET_P99_MS:.2f}); bare p50 {base.p(0.5):.1f}, p99 {base.p(0.99):.1f} ms"
            )
            if low is not None:
                floor_ratio = low.calls_per_second / base.calls_per_second
                found["floor_ratio"].append(floor_ratio)
                found["floor_p99"].append(low.p(0.99))
                print(
                    f"  the floor (signature, one locked read and one write, raw psycopg): calls/s "
                    f"{low.calls_per_second:.1f}, ratio {floor_ratio:.2f}; p50 {low.p(0.5):.1f} ms, "
                    f"p99 {low.p(0.99):.1f} ms; the product makes {ratio / floor_ratio:.2f} of the floor's "
                    "calls"
                )
            print(
                f"  CPU a webhook: product {mine.cpu}; bare {base.cpu}"
                + (f"; floor {low.cpu}" if low else "")
            )
            for name, found_cpu in (("product", mine.cpu), ("bare", base.cpu), ("floor", low and low.cpu)):
                if found_cpu is not None:
                    found[f"cpu app {name}"].append(found_cpu.app)
                    found[f"cpu database {name}"].append(found_cpu.database)
    finally:
        bare_server.stop()
        product_server.stop()
        if floor_server:
            floor_server.stop()
    floor = (
        f"; the floor: ratio {span(found['floor_ratio'], '{:.2f}')}, p99 {span(found['floor_p99'])} ms"
        if found["floor_ratio"]
        else ""
    )
    print(
        f"{label}, {args.runs} run(s): calls/s {span(found['calls'])} (bare {span(found['bare_calls'])}), "
        f"ratio {span(found['ratio'], '{:.2f}')}; p50 {span(found['p50'])} ms, p99 {span(found['p99'])} ms "
        f"(bare p99 {span(found['bare_p99'])} ms){floor}"
    )
    print(
        "  CPU a webhook (ms, app + PostgreSQL): "
        + "; ".join(
            f"{name} {span(found[f'cpu app {name}'], '{:.2f}')} "
            f"+ {span(found[f'cpu database {name}'], '{:.2f}')}"
            for name in ("product", "floor", "bare")
            if found[f"cpu app {name}"]
        )
    )
    found["statements"] = [sum(counts.values())]
    return found


def run_bench(module: str, url: str | None, *extra: str) -> None:
    """Run one of the other benches on a fresh database of its own and print what it prints."""
    command = [sys.executable, "-m", f"bench.{module}", *extra]
    if url:
        create_database(url, fresh=True)
        command += ["--database-url", url]
    print(f"\n== bench/{module}.py {' '.join(extra)} ==", flush=True)
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True)
    print(f"(bench/{module}.py took {time.perf_counter() - started:.0f} s)", flush=True)


def sibling(url: str, suffix: str) -> str | None:
    """A database beside `url` for another bench (PostgreSQL), or None for a temporary SQLite one."""
    parts = make_url(url)
    if parts.get_backend_name() != "postgresql":
        return None
    return parts.set(database=f"{parts.database}_{suffix}").render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="the small database (default: a temporary SQLite file)")
    parser.add_argument(
        "--large-database-url", help="the large database (default: the small one's name + _large)"
    )
    parser.add_argument("--shifts", type=int, default=10_000)
    parser.add_argument("--discharges", type=int, default=10_000, help="and as many contacts")
    parser.add_argument("--large-shifts", type=int, default=1_000_000)
    parser.add_argument("--large-discharges", type=int, default=1_000_000)
    parser.add_argument("--skip-build", action="store_true", help="measure earlier runs' databases again")
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--skip-rota", action="store_true")
    parser.add_argument("--skip-discharges", action="store_true")
    parser.add_argument("--skip-console", action="store_true")
    parser.add_argument("--console-skip-build", action="store_true", help="reuse bench/console.py's database")
    parser.add_argument("--seconds", type=float, default=10.0, help="per measurement")
    parser.add_argument("--runs", type=int, default=1, help="bare app and product in turn, this many times")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=0, help="gunicorn workers (default: the config's)")
    parser.add_argument(
        "--sync", action="store_true", help="one sync worker per core, not the repository's gunicorn.conf.py"
    )
    parser.add_argument("--port", type=int, default=18172)
    parser.add_argument(
        "--paced",
        default="5,10,20,30",
        help="calls/s at which to measure the product below saturation, comma-separated ('' for none)",
    )
    args = parser.parse_args()
    small = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='linje72-bench-')}/small.db"
    large = args.large_database_url or sibling(small, "large") or small.replace("small.db", "large.db")
    sizes = [("small", small, args.shifts, args.discharges)]
    if not args.skip_large:
        sizes.append(("large", large, args.large_shifts, args.large_discharges))
    results = {}
    for label, url, shifts, discharges in sizes:
        if not args.skip_build:
            started = time.perf_counter()
            build(url, shifts, discharges, datetime.now(UTC))
            print(f"built {label}: {shifts} shifts, {discharges} discharges and contacts in "
                  f"{time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip
        else:
            engine = make_engine(url)
            upgrade(engine)  # an earlier run's database, brought to this code's schema
            with engine.connect() as connection:
                sizes_found = {
                    table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
                    for table in ("shifts", "discharges", "contacts")
                }
            engine.dispose()
            print(f"{label}: {sizes_found}")
        results[label] = measure_size(label, url, args)
        if args.paced:
            rates = [float(rate) for rate in args.paced.split(",")]
            measure_paced(url, rates, args.seconds, args.port + 3)
    if "large" in results:
        found_small, found_large = results["small"], results["large"]
        print("\nlarge / small (target <= 1.3):")
        p50 = statistics.median(found_large["p50"]) / statistics.median(found_small["p50"])
        calls = statistics.median(found_small["calls"]) / statistics.median(found_large["calls"])
        ratio = statistics.median(found_small["ratio"]) / statistics.median(found_large["ratio"])
        print(f"  webhook p50 {p50:.2f}; calls/s small/large {calls:.2f}; bare ratio small/large {ratio:.2f}")
        for step in STEPS:
            key = f"p50 {step}"
            flat = statistics.median(found_large[key]) / statistics.median(found_small[key])
            print(f"  {step:<16} p50 {flat:.2f}")
    if not args.skip_rota:
        run_bench("rota", sibling(small, "rota"))
    if not args.skip_discharges:
        run_bench("discharges", sibling(small, "discharges"))
    if not args.skip_console:
        console = sibling(small, "console")
        if args.console_skip_build and console:
            command = [sys.executable, "-m", "bench.console", "--database-url", console, "--skip-build"]
            print("\n== bench/console.py --skip-build ==", flush=True)
            subprocess.run(command, cwd=ROOT, check=True)
        else:
            run_bench("console", console)


if __name__ == "__main__":
    main()
