"""A PostgreSQL of our own stopped in the middle of calls: every caller reaches the fallback
number in time, the calls wait in the spool, and once the server is back each call is
exactly one contact.

Runs on both settings of the suite (SQLite or PostgreSQL): the server it stops is its own,
started from the machine's PostgreSQL binaries on a free port in a temporary folder.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from app import create_app
from app.data import spool
from app.data.db import dispose, make_engine, new_session
from app.data.migrate import upgrade
from app.data.models import Contact
from ivr.simulator import ScriptedPhone, play_call
from ivr.views import wait_for_drains
from tests import factories as f
from tests.replay_call import Call, action
from tests.support import FALLBACK, Clock, app_settings, spoken, twiml

pytestmark = pytest.mark.outage

NURSE = "+4532501010"
ANNA = "+4540101001"
CPR = "0101401234"
POLICY_LIMIT = 5.0  # seconds: "every webhook answers within 5 seconds whatever the database does"


class PrivatePostgres:
    """A PostgreSQL server in a temporary folder, run as `postgres` when the tests run as root."""

    def __init__(self, bin_dir: Path, folder: Path, as_user: str | None) -> None:
        self.bin_dir = bin_dir
        self.data = folder / "data"
        self.folder = folder
        self.as_user = as_user
        self.port = _free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.as_user:
            command = ["runuser", "-u", self.as_user, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        # No fsync: the test stops the server, never the machine.
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        options += " -c fsync=off -c full_page_writes=off"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.folder / "server.log"),
            "-w",
            "-t",
            "30",
            "-o",
            options,
            "start",
        )

    def stop(self) -> None:
        """Stop at once, as a crash or a pulled cable would: no goodbye to the clients."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _postgres_binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")) or [shutil.which("pg_ctl") or ""]
    return Path(found[-1]).parent if found[-1] else None


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    bin_dir = _postgres_binaries()
    if bin_dir is None or not (bin_dir / "initdb").exists():
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) on this machine")
    as_user = None
    folder = Path(tempfile.mkdtemp(prefix="linje72-outage-"))
    if os.geteuid() == 0:
        # initdb refuses root: the server runs as the machine's postgres user, in a folder it owns.
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(folder)
            pytest.skip("running as root without a 'postgres' user to run the server as")
        as_user = "postgres"
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    server = PrivatePostgres(bin_dir, folder, as_user)
    try:
        server.init()
        server.start()
        yield server
    finally:
        try:
            server.stop()
        except subprocess.CalledProcessError:
            pass  # stopped already
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def line(postgres: PrivatePostgres, clock: Clock, instance_path: str) -> Iterator[Flask]:
    engine = make_engine(postgres.url)
    upgrade(engine)
    engine.dispose()
    app = create_app(app_settings(postgres.url, clock, instance_path))
    with app.app_context():
        session = new_session()
        f.small_region(app, session)
        session.close()
    yield app
    wait_for_drains()
    dispose(app)


def test_calls_in_a_database_outage_reach_the_fallback_and_each_is_one_contact_afterwards(
    line: Flask, postgres: PrivatePostgres, caplog: pytest.LogCaptureFixture
) -> None:
    started = time.monotonic()
    # Before: a call that goes through, and one whose caller is identified when the server stops.
    before = play_call(line, NURSE, ScriptedPhone([CPR, "1"], {ANNA: "1"}), call_sid="CA" + "1" * 32)
    assert before.connected_to == ANNA
    midway = Call(line.test_client(), "CA" + "2" * 32)
    _, root = midway.post("/voice/incoming")
    patient_step = action(root)

    postgres.stop()

    # The caller in the middle keys the patient's CPR number: technical error, the fallback number.
    sent = time.monotonic()
    body, _ = midway.post(patient_step, Digits=CPR)
    elapsed = time.monotonic() - sent
    assert elapsed < POLICY_LIMIT, f"answered after {elapsed:.2f} s"
    assert "teknisk fejl" in spoken(twiml(body))
    assert twiml(body).findtext("Dial") == FALLBACK
    # A call that starts in the outage is put through to the fallback line, and ends there.
    sent = time.monotonic()
    during = play_call(line, NURSE, ScriptedPhone([CPR, "1"], {FALLBACK: ""}), call_sid="CA" + "3" * 32)
    assert time.monotonic() - sent < 2 * POLICY_LIMIT  # two webhooks: the call and its end
    assert during.rung == [FALLBACK] and during.connected_to == FALLBACK
    assert "teknisk fejl" in during.text
    assert during.http_statuses == [200]  # the end's callback was taken too (204 is not counted)

    kept = spool.pending(line.instance_path)
    assert [(r.call_sid[2:3], r.kind, r.step) for r in kept] == [
        ("2", "forwarded", "patient"),
        ("3", "forwarded", "incoming"),
        ("3", "ended", "status"),
    ]
    assert kept[0].keys  # the CPR number was kept, encrypted
    on_disk = b"".join(p.read_bytes() for p in Path(line.instance_path).glob(spool.FILE_NAME + "*"))
    assert CPR.encode() not in on_disk

    postgres.start()
    # The first webhook the database answers again (the midway call's end) starts the drain.
    assert midway.end(CallDuration="40") == 204
    wait_for_drains()
    assert spool.spool_depth(line.instance_path) == 0

    with line.app_context():
        session = new_session()
        found = {c.call_sid[2:3]: c for c in session.scalars(select(Contact))}
        assert sorted(found) == ["1", "2", "3"]
        assert {c.caller_organisation for c in found.values()} == {"Hjemmesygeplejen Valby"}
        assert (found["1"].outcome, found["1"].error) == ("connected", None)
        for n, step in (("2", "patient"), ("3", "incoming")):
            contact = found[n]
            assert contact.outcome == "forwarded", n
            assert contact.error == f"database unavailable in step {step}: forwarded to the fallback number"
            assert [(a.label, a.number, a.status) for a in contact.attempts] == [
                ("fallback", FALLBACK, "answered")
            ]
            assert contact.ended_at is not None
        assert str(found["2"].patient_born) == "1940-01-01"
        session.close()

    # A second drain finds nothing, and changes nothing.
    result = line.test_cli_runner().invoke(args=["spool", "drain"])
    assert result.output == "Wrote 0 records of 0 calls.\n"
    with line.app_context():
        session = new_session()
        assert len(session.scalars(select(Contact)).all()) == 3
        session.close()

    assert CPR not in caplog.text
    assert time.monotonic() - started < 60
