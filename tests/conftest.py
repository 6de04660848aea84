"""Fixtures: an app on a fresh database (SQLite, or PostgreSQL when asked), a settable clock."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from app import create_app
from app.db import Base, make_engine, new_session
from app.migrate import upgrade
from app.timeparse import parse_time

AUTH_TOKEN = "test-auth-token-0123456789abcdef"
SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"
FALLBACK = "+4538640000"


class Clock:
    """A clock the tests set; the app reads it instead of the system clock."""

    def __init__(self) -> None:
        self.now = parse_time("2026-11-23T10:00:00+01:00")

    def set(self, moment: str) -> datetime:
        self.now = parse_time(moment)
        return self.now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("LINJE72_TEST_DATABASE_URL")
    if url:
        return url
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "linje72-test.db")


@pytest.fixture(scope="session")
def migrated(database_url: str) -> Iterator[Engine]:
    """Run the real migrations once on an empty database."""
    engine = make_engine(database_url)
    with engine.begin() as connection:
        Base.metadata.drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(migrated: Engine, database_url: str, clock: Clock) -> Iterator[Flask]:
    with migrated.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "LINJE72_SECRET_KEY": SECRET_KEY,
            "LINJE72_FALLBACK_NUMBER": FALLBACK,
            "CLOCK": clock,
        }
    )
    yield app
    app.extensions["linje72.engine"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    with app.app_context():
        session = new_session()
        yield session
        session.close()
