"""Fixtures: an app on a fresh database (SQLite, or PostgreSQL when asked), a settable clock."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from app import create_app
from app.data.db import Base, dispose, make_engine
from app.data.migrate import upgrade
from app.services import accounts
from app.services.spool import take_waiting
from ivr.views import wait_for_drains
from tests.support import SETTING_NAMES, SETTING_PREFIXES, Clock, app_settings

# Read before the tests clear the environment: the one setting the suite itself takes.
TEST_DATABASE_URL = os.environ.get("LINJE72_TEST_DATABASE_URL")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Run every test as on a fresh machine: no product setting from the developer's shell, and an
    instance folder of its own (not the one where `linje72 demo` keeps its settings)."""
    for name in list(os.environ):
        if name.startswith(SETTING_PREFIXES) or name in SETTING_NAMES:
            monkeypatch.delenv(name)
    monkeypatch.setenv("LINJE72_INSTANCE_PATH", str(tmp_path_factory.mktemp("cli-instance")))


@pytest.fixture(autouse=True)
def cheap_password_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with the least work: the same checks, without the production cost on every login."""
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if TEST_DATABASE_URL:
        return TEST_DATABASE_URL
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
def instance_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("instance"))


@pytest.fixture
def app(migrated: Engine, database_url: str, clock: Clock, instance_path: str) -> Iterator[Flask]:
    with migrated.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Restart the ids too, so that "version 1" is the first version in every test, as on SQLite.
            names = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())
    # The process's "records wait in the spool" flag is no test's to inherit: set by an earlier
    # test's outage, it would start a background drain that races this test's own drain.
    take_waiting()
    app = create_app(app_settings(database_url, clock, instance_path))
    yield app
    # A drain of the outage spool that a webhook started ends with its test, not in the next one.
    wait_for_drains()
    take_waiting()
    dispose(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """A session on the test's database, without an app context held open: each request the
    test makes then runs in a context of its own, as in production."""
    session: Session = app.extensions["linje72.sessions"]()
    yield session
    session.close()
