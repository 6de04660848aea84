"""Every webhook answers within 5 seconds whatever the database does: hanging, locked or unreachable."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.orm import Session

from app import create_app
from app.data.db import dispose, get_engine, new_session
from ivr.simulator import ScriptedPhone, play_call
from tests import factories as f
from tests.proxy import PausingProxy
from tests.replay_call import Call, action
from tests.support import FALLBACK, Clock, app_settings, spoken, twiml

NURSE = "+4532501010"
ANNA = "+4540101001"
POLICY_LIMIT = 5.0  # seconds: the routing policy's "every webhook answers within 5 seconds"


def seed(app: Flask) -> None:
    with app.app_context():
        session = new_session()
        f.small_region(app, session)
        session.close()


def timed(call: Call, url: str, **fields: str) -> tuple[float, str]:
    started = time.monotonic()
    body, _ = call.post(url, **fields)
    return time.monotonic() - started, body


def assert_forwarded_without_the_database(elapsed: float, body: str) -> None:
    root = twiml(body)
    assert elapsed < POLICY_LIMIT, f"answered after {elapsed:.2f} s"
    assert "teknisk fejl" in spoken(root)
    assert root.findtext("Dial") == FALLBACK or root.findtext("Dial/Number") == FALLBACK


@pytest.fixture
def proxied_app(
    migrated: object, database_url: str, clock: Clock, instance_path: str
) -> Iterator[tuple[Flask, PausingProxy]]:
    if not database_url.startswith("postgresql"):
        pytest.skip("a database server behind a proxy: PostgreSQL")
    parts = urlsplit(database_url)
    proxy = PausingProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    netloc = f"{parts.username}@127.0.0.1:{proxy.port}" if parts.username else f"127.0.0.1:{proxy.port}"
    app = create_app(app_settings(urlunsplit(parts._replace(netloc=netloc)), clock, instance_path))
    try:
        yield app, proxy
    finally:
        proxy.resume()
        dispose(app)
        proxy.close()


def test_a_database_that_stops_answering_mid_call_forwards_the_caller_within_5_seconds(
    app: Flask, proxied_app: tuple[Flask, PausingProxy], session: Session
) -> None:
    proxied, proxy = proxied_app
    seed(app)
    call = Call(proxied.test_client(), "CA" + "8" * 32)
    _, root = call.post("/voice/incoming")
    next_url = action(root)

    proxy.pause()
    elapsed, body = timed(call, next_url, Digits="0101401234")
    assert_forwarded_without_the_database(elapsed, body)

    proxy.resume()
    # Once it answers again, calls route again (a new call, through the same pools).
    trace = play_call(proxied, NURSE, ScriptedPhone(["0101401234", "1"], {ANNA: "1"}))
    assert trace.connected_to == ANNA


def test_a_held_row_lock_costs_the_caller_seconds_not_the_call(
    app: Flask, session: Session, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks: PostgreSQL (SQLite locks the whole database, tested below)")
    seed(app)
    call = Call(app.test_client(), "CA" + "9" * 32)
    _, root = call.post("/voice/incoming")
    with app.app_context(), get_engine().connect() as holder:
        holder.execute(
            text("SELECT id FROM contacts WHERE call_sid = :sid FOR UPDATE"), {"sid": "CA" + "9" * 32}
        )
        elapsed, body = timed(call, action(root), Digits="0101401234")
        holder.rollback()
    assert_forwarded_without_the_database(elapsed, body)


def test_a_held_write_lock_on_sqlite_costs_seconds_not_the_call(app: Flask, database_url: str) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the whole-database write lock is SQLite's")
    seed(app)
    holder = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        call = Call(app.test_client(), "CA" + "a" * 32)
        elapsed, body = timed(call, "/voice/incoming")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert_forwarded_without_the_database(elapsed, body)
    # The lock is gone: calls route again.
    trace = play_call(app, NURSE, ScriptedPhone(["0101401234", "1"], {ANNA: "1"}))
    assert trace.connected_to == ANNA
