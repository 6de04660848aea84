"""One call's webhooks served by two separate server processes, as behind a load balancer."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.data.models import Contact
from ivr.simulator import HttpClient, ScriptedPhone, play_call
from tests import factories as f
from tests.support import Clock

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def servers(app: Flask, database_url: str, clock: Clock) -> Iterator[list[HttpClient]]:
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.serve", database_url, clock.now.isoformat()],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        # Each server prints its port once it listens: reading the line waits for it.
        ports = [process.stdout.readline().strip() for process in processes if process.stdout]
        assert all(port.isdigit() for port in ports), ports
        yield [HttpClient(f"http://127.0.0.1:{port}") for port in ports]
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
            if process.stdout:
                process.stdout.close()


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
