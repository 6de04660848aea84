"""The connection pool: a pooled connection is pinged only after a pause, and replaced when dead."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, create_engine, text

from app.data.db import ping_when_idle, session_scope


class MonotonicClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def pooled(database_url: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Engine, MonotonicClock, list[Any]]:
    """An engine of one pooled connection, pinged when idle 10 s by a settable clock; its pings."""
    clock = MonotonicClock()
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    ping_when_idle(engine, 10.0, clock)
    pings: list[Any] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings.append(dbapi_connection)
        return ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return engine, clock, pings


def select_one(engine: Engine) -> Any:
    with engine.connect() as connection:
        return connection.execute(text("SELECT 1")).scalar_one(), connection.connection.dbapi_connection


def test_a_connection_used_moments_ago_is_handed_out_without_a_round_trip(
    migrated: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, clock, pings = pooled(database_url, monkeypatch)
    _, first = select_one(engine)  # a new connection: not pinged
    clock.now += 9.9
    _, second = select_one(engine)
    assert second is first and pings == []
    engine.dispose()


def test_an_idle_connection_is_pinged_and_a_dead_one_replaced_before_anyone_uses_it(
    migrated: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, clock, pings = pooled(database_url, monkeypatch)
    _, first = select_one(engine)
    clock.now += 10.1
    _, same = select_one(engine)
    assert same is first and pings == [first]  # alive: kept
    first.close()  # what a server restart or an idle timeout does to a pooled connection
    clock.now += 60
    answer, replaced = select_one(engine)
    assert answer == 1 and replaced is not first and pings == [first, first]
    engine.dispose()


def test_a_reading_scope_runs_without_a_transaction_on_postgresql_and_one_that_writes_never_does(
    app: Flask,
) -> None:
    with app.app_context():
        with session_scope(autocommit=True) as session:
            assert session.scalar(text("SELECT 1")) == 1
            raw: Any = session.connection().connection.dbapi_connection
            postgresql = session.get_bind().dialect.name == "postgresql"
            # SQLite keeps its transaction (one snapshot), begun by us.
            assert raw.autocommit if postgresql else raw.in_transaction
        with pytest.raises(ValueError, match="not autocommit"), session_scope(write=True, autocommit=True):
            pass
        with session_scope() as session:  # the pooled connection is handed back as it was
            session.scalar(text("SELECT 1"))
            raw = session.connection().connection.dbapi_connection
            assert raw.in_transaction if not postgresql else not raw.autocommit


def test_the_migrations_build_the_schema_the_models_describe(migrated: Engine) -> None:
    """A model changed without its migration (or the other way round) shows up here, on each database."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from app.data.db import Base

    with migrated.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    # Known and harmless: contacts.replies is NOT NULL in the model only (it always has a value).
    known = [
        d for d in differences if isinstance(d, list) and d[0][:3] == ("modify_nullable", None, "contacts")
    ]
    assert [d for d in differences if d not in known] == []
