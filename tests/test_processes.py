"""One call's webhooks served by two separate gunicorn servers, as behind a load balancer."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.data.models import Contact
from ivr.simulator import HttpClient, ScriptedPhone, play_call
from tests import factories as f
from tests.support import Clock

ROOT = Path(__file__).resolve().parents[1]


LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")


def started(process: subprocess.Popen[bytes], log: Path) -> str:
    """Wait for gunicorn to say where it listens (it starts in a second or two; 60 s when loaded)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        found = LISTENING.search(log.read_text(errors="replace"))
        if found:
            return found.group(1)
        time.sleep(0.05)
    raise AssertionError(f"gunicorn did not start:\n{log.read_text(errors='replace')}")


@pytest.fixture
def servers(app: Flask, database_url: str, clock: Clock, tmp_path: Path) -> Iterator[list[HttpClient]]:
    """Two gunicorn servers of two workers each, with the repository's configuration."""
    processes, logs = [], []
    for n in range(2):
        metrics_dir = tmp_path / f"metrics-{n}"
        metrics_dir.mkdir()
        environment = {
            "PATH": os.environ.get("PATH", ""),
            "SERVE_DATABASE_URL": database_url,
            "SERVE_NOW": clock.now.isoformat(),
            "LINJE72_BIND": "127.0.0.1:0",
            "LINJE72_WORKERS": "2",
            "LINJE72_LOG_LEVEL": "INFO",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        }
        log = tmp_path / f"gunicorn-{n}.log"
        logs.append(log)
        with log.open("wb") as output:
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "tests.serve:build()"],
                    cwd=ROOT,
                    env=environment,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                )
            )
    try:
        ports = [started(process, log) for process, log in zip(processes, logs, strict=True)]
        clients = [HttpClient(f"http://127.0.0.1:{port}") for port in ports]
        yield clients
        # The load balancer's health checks stay out of the access log; other requests are in it.
        assert requests.get(clients[0].base_url + "/healthz", timeout=10).status_code == 200
        assert requests.get(clients[0].base_url + "/readyz", timeout=10).status_code == 200
        access = logs[0].read_text(errors="replace")
        assert '"GET /metrics"' in access and "/healthz" not in access and "/readyz" not in access
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
    for log in logs:
        assert "0101401234" not in log.read_text(errors="replace")


def calls_counted(server: HttpClient) -> float:
    """Connected calls in one server's /metrics: the sum over its workers (multiprocess mode)."""
    text = requests.get(server.base_url + "/metrics", timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "linje72_calls_total" and sample.labels.get("outcome") == "connected"
    )


def test_webhooks_of_calls_in_parallel_alternate_between_two_processes(
    app: Flask, session: Session, servers: list[HttpClient]
) -> None:
    dept = f.department(session)
    f.shift(session, dept, "day", "2026-11-23 08:00", "2026-11-23 15:00", "+4540101001", "Anna Holm")
    f.discharge(app, session, dept, "2026-11-21T10:30:00+01:00")
    for n in range(10):
        f.caller(session, phone=f"+45325020{n:02d}", code=f"{5000 + n}", organisation=f"Enhed {n}")
    session.commit()

    def call(n: int) -> str | None:
        phone = ScriptedPhone(["0101401234", "1"], {"+4531102001": "1"})
        clients = servers if n % 2 else list(reversed(servers))
        trace = play_call(
            app, f"+45325020{n:02d}", phone, call_sid=f"CA{n + 1000:032x}", clients=list(clients)
        )
        return trace.connected_to

    with ThreadPoolExecutor(max_workers=10) as pool:
        assert list(pool.map(call, range(10))) == ["+4531102001"] * 10
    session.expire_all()
    contacts = session.scalars(select(Contact)).all()
    assert len(contacts) == 10
    assert {c.outcome for c in contacts} == {"connected"}
    assert all([a.status for a in c.attempts] == ["no-answer", "accepted"] for c in contacts)
    assert sum(calls_counted(server) for server in servers) == 10
