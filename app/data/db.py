"""The database: one engine per app, one session per request or job."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app
from sqlalchemy import DateTime, Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

WRITE_OPTION = "linje72_writes"
# A pooled connection unused for longer than this is pinged before it is handed out.
IDLE_PING_SECONDS = 10.0


class Base(DeclarativeBase):
    pass


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as UTC, the same on SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: give a time zone")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def make_engine(url: str, *, timeout: float | None = None) -> Engine:
    """Create an engine; with `timeout` (seconds), every wait on the database is bounded by it.

    SQLite gets WAL and a busy timeout so parallel calls queue. The call path's engine
    bounds connecting, each statement and each lock wait (PostgreSQL) or the wait for the
    write lock (SQLite), and the wait for a pooled connection: a webhook must answer
    within seconds whatever the database does.
    """
    if url.startswith("sqlite"):
        busy = timeout if timeout is not None else 15.0
        engine = create_engine(
            url, hide_parameters=True, connect_args={"timeout": busy, "check_same_thread": False}
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # We begin transactions ourselves (below), not the sqlite3 module.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy * 1000)}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection: Any) -> None:
            # A deferred transaction that reads, then writes after another call's
            # write has committed fails at once (SQLITE_BUSY_SNAPSHOT) instead of
            # waiting; a session that will write takes the lock up front, so
            # parallel calls queue. Readers (an export) never block anyone.
            immediate = connection.get_execution_options().get(WRITE_OPTION)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    # Parameters can hold encrypted CPR numbers and their lookup keys: keep them
    # out of exception messages and logs.
    if timeout is None:
        engine = create_engine(url, hide_parameters=True, connect_args={"connect_timeout": 10})
        ping_when_idle(engine, IDLE_PING_SECONDS)
        return engine
    milliseconds = int(timeout * 1000)
    # No ping on every checkout (a round trip per webhook): a connection is pinged after a
    # pause, and one that died in use fails its statement, which the webhook answers as the
    # fallback does (ivr/views.py); SQLAlchemy then replaces the pool's connections.
    engine = create_engine(
        url,
        hide_parameters=True,
        pool_timeout=timeout,
        connect_args={
            "connect_timeout": max(1, math.ceil(timeout)),
            "options": f"-c statement_timeout={milliseconds} -c lock_timeout={milliseconds}",
            # Sent data that the server never acknowledges ends the connection.
            "tcp_user_timeout": milliseconds,
        },
    )
    ping_when_idle(engine, IDLE_PING_SECONDS)
    return engine


def ping_when_idle(engine: Engine, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
    """Ping a pooled connection before handing it out only when it has been idle for `seconds`.

    A connection that dies (a server restart, an idle timeout, a firewall) is one that
    has waited in the pool; one returned milliseconds ago is alive. Pinging every
    checkout (`pool_pre_ping`) cost a round trip per request; this pings after a pause,
    and a connection that fails the ping is replaced before anyone uses it. The price:
    a server that restarts while connections are in constant use can fail one request
    per process on a connection that died (SQLAlchemy then drops the pool's other
    connections), where a ping on every checkout fails only the requests in flight.
    """
    idle_since = "linje72.idle_since"

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info[idle_since] = clock()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop(idle_since, None)
        if since is None or clock() - since < seconds:
            return  # just made, or just used
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError("a pooled connection did not answer its ping") from exc


def init_app(app: Flask, url: str, *, call_timeout: float) -> None:
    """Create the engines: one for commands and jobs, one for the call path with bounded waits."""
    engine = make_engine(url)
    call_engine = make_engine(url, timeout=call_timeout)
    app.extensions["linje72.engine"] = engine
    app.extensions["linje72.call_engine"] = call_engine
    app.extensions["linje72.sessions"] = sessionmaker(engine, expire_on_commit=False)
    app.extensions["linje72.call_sessions"] = sessionmaker(call_engine, expire_on_commit=False)


def dispose(app: Flask) -> None:
    """Close every pooled connection of the app's engines (tests, a process that ends)."""
    for name in ("linje72.engine", "linje72.call_engine"):
        engine = app.extensions.get(name)
        if engine is not None:
            engine.dispose()


def get_engine() -> Engine:
    engine: Engine = current_app.extensions["linje72.engine"]
    return engine


def new_session(*, call: bool = False) -> Session:
    """Open a session (on the call path's engine with `call`); the caller closes it."""
    factory: sessionmaker[Session] = current_app.extensions[
        "linje72.call_sessions" if call else "linje72.sessions"
    ]
    return factory()


def will_write(session: Session) -> Session:
    """Mark the session's transaction as one that writes (on SQLite: take the write lock first)."""
    session.connection(execution_options={WRITE_OPTION: True})
    return session


def statements_commit(session: Session) -> Session:
    """On PostgreSQL, let each statement of the session commit on its own (no BEGIN, no ROLLBACK).

    For a request that only reads, this saves two round trips and changes nothing it
    sees: PostgreSQL's READ COMMITTED gives each statement of a transaction a snapshot
    of its own anyway. Not for a session that locks rows or writes more than one
    statement that must stand or fall together. SQLite keeps its transaction (there
    a transaction is one snapshot, and we begin it ourselves).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    return session


@contextmanager
def session_scope(*, write: bool = False, call: bool = False, autocommit: bool = False) -> Iterator[Session]:
    """Open one session for a request, command or job; commit when the block ends, roll back on error.

    With `write`, the transaction is marked as one that writes before anything is
    read, so that on SQLite parallel calls queue for the lock instead of failing.
    A read-only scope never commits. The session is always closed. With `call`, the
    session is the call path's, whose every wait on the database is bounded. With
    `autocommit` (read-only scopes), each statement commits on its own on PostgreSQL
    (see `statements_commit`).
    """
    if write and autocommit:
        raise ValueError("a scope that writes is one transaction: not autocommit")
    session = new_session(call=call)
    try:
        if write:
            will_write(session)
        elif autocommit:
            statements_commit(session)
        yield session
        if write:
            session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
