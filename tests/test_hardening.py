"""What every response carries, the rate limits on logins and the API, and sessions after a new password."""

from __future__ import annotations

import time
from collections.abc import Iterator

import flask_limiter._extension
import limits.storage.memory
import limits.strategies
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app import create_app
from app.config import ConfigError
from app.data.db import dispose
from app.services.tokens import add_token
from app.values.times import parse_time
from tests import factories as f
from tests.console import csrf_token, log_in
from tests.support import Clock, app_settings
from tests.test_webhooks import FORM, post_signed

STRICT = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
NOW = parse_time("2026-11-23T10:00:00+01:00")


@pytest.fixture
def make_app(app: Flask, database_url: str, clock: Clock, instance_path: str) -> Iterator[object]:
    """Apps with settings of their own, on the test's database (migrated and emptied by `app`)."""
    made: list[Flask] = []

    def make(**settings: str) -> Flask:
        app = create_app(app_settings(database_url, clock, instance_path, **settings))
        made.append(app)
        return app

    yield make
    for app in made:
        dispose(app)


@pytest.mark.parametrize(
    ("method", "path"),
    (
        ("get", "/login"),
        ("get", "/"),
        ("get", "/api/v1/departments"),
        ("post", "/voice/fallback"),
        ("get", "/readyz"),
    ),
    ids=["login-page", "console", "api", "webhook", "probe"],
)
def test_every_response_carries_the_security_headers(client: FlaskClient, method: str, path: str) -> None:
    response = getattr(client, method)(path, data={"CallSid": "x"} if method == "post" else None)
    headers = response.headers
    assert headers["Content-Security-Policy"] == STRICT
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Frame-Options"] == "DENY"
    assert "camera=()" in headers["Permissions-Policy"]
    assert headers["Cache-Control"] == "no-store"
    assert len(headers["X-Request-Id"]) >= 16
    assert "Strict-Transport-Security" not in headers  # served over plain HTTP in the tests


def test_static_files_may_be_cached_and_https_deployments_send_hsts(make_app: object) -> None:
    app = make_app(LINJE72_PUBLIC_URL="https://linje72.example.dk")  # type: ignore[operator]
    client = app.test_client()
    assert client.get("/login").headers["Strict-Transport-Security"].startswith("max-age=31536000")
    with client.get("/assets/console.css") as static:
        assert static.status_code == 200 and static.headers.get("Cache-Control") != "no-store"


def test_a_request_id_from_the_load_balancer_is_kept_and_a_strange_one_replaced(client: FlaskClient) -> None:
    assert (
        client.get("/healthz", headers={"X-Request-Id": "lb-1234.abc"}).headers["X-Request-Id"]
        == "lb-1234.abc"
    )
    replaced = client.get("/healthz", headers={"X-Request-Id": "<script>"}).headers["X-Request-Id"]
    assert replaced != "<script>" and replaced.isalnum()


def try_login(client: FlaskClient, address: str = "127.0.0.1", **environ: str) -> int:
    token = csrf_token(client)
    return client.post(
        "/login",
        data={"email": "nobody@x.dk", "password": "wrong password here", "csrf_token": token},
        environ_base={"REMOTE_ADDR": address, **environ},
    ).status_code


def test_logins_from_one_address_are_limited_and_another_address_is_not(make_app: object) -> None:
    app = make_app(LINJE72_LOGIN_RATE_LIMIT="3 per 15 minutes")  # type: ignore[operator]
    client = app.test_client()
    assert [try_login(client) for _ in range(3)] == [401, 401, 401]
    refused = client.post(
        "/login", data={"email": "a@x.dk", "password": "p", "csrf_token": csrf_token(client)}
    )
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60
    assert "Too Many Requests" in refused.get_data(as_text=True)
    assert client.get("/login").status_code == 200  # the form itself is still shown
    assert try_login(app.test_client(), "10.0.0.7") == 401


class LimiterClock:
    """The rate limiter's idea of the time (it reads `time.time()`), moved by the test: nobody waits."""

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset

    def __getattr__(self, name: str) -> object:
        return getattr(time, name)


@pytest.fixture
def limiter_clock(monkeypatch: pytest.MonkeyPatch) -> LimiterClock:
    clock = LimiterClock()
    for module in (limits.storage.memory, limits.strategies, flask_limiter._extension):
        monkeypatch.setattr(module, "time", clock)
    return clock


def test_a_refused_address_may_try_again_once_the_window_has_passed(
    make_app: object, limiter_clock: LimiterClock
) -> None:
    app = make_app(LINJE72_LOGIN_RATE_LIMIT="2 per 15 minutes")  # type: ignore[operator]
    client = app.test_client()
    assert [try_login(client) for _ in range(3)] == [401, 401, 429]
    limiter_clock.offset = 14 * 60  # a minute before the window ends: still refused
    assert try_login(client) == 429
    limiter_clock.offset = 15 * 60 + 1
    assert [try_login(client) for _ in range(3)] == [401, 401, 429]


def test_behind_trusted_proxies_the_limit_is_per_forwarded_client(make_app: object) -> None:
    app = make_app(LINJE72_LOGIN_RATE_LIMIT="2 per 15 minutes", LINJE72_TRUSTED_PROXIES="1")  # type: ignore[operator]
    client = app.test_client()
    first = {"HTTP_X_FORWARDED_FOR": "192.0.2.1"}
    assert [try_login(client, "10.0.0.2", **first) for _ in range(3)] == [401, 401, 429]
    assert try_login(client, "10.0.0.2", HTTP_X_FORWARDED_FOR="192.0.2.2") == 401


def test_the_api_is_limited_per_token_with_problem_details(make_app: object, session: Session) -> None:
    app = make_app(LINJE72_API_RATE_LIMIT="2 per minute")  # type: ignore[operator]
    tokens = [add_token(session, name, ["read"], NOW)[1] for name in ("switchboard", "EPIC")]
    session.commit()
    client = app.test_client()

    def get(token: str) -> int:
        return client.get("/api/v1/departments", headers={"Authorization": f"Bearer {token}"}).status_code

    assert [get(tokens[0]) for _ in range(2)] == [200, 200]
    refused = client.get("/api/v1/departments", headers={"Authorization": f"Bearer {tokens[0]}"})
    assert refused.status_code == 429
    assert refused.mimetype == "application/problem+json"
    assert refused.get_json()["status"] == 429 and refused.get_json()["title"] == "Too Many Requests"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert get(tokens[1]) == 200


def test_webhooks_are_never_rate_limited(make_app: object) -> None:
    app = make_app(LINJE72_API_RATE_LIMIT="1 per minute", LINJE72_LOGIN_RATE_LIMIT="1 per minute")  # type: ignore[operator]
    client = app.test_client()
    statuses = {
        post_signed(client, "/voice/incoming", {**FORM, "CallSid": f"CA{n:032x}"}).status_code
        for n in range(5)
    }
    assert statuses == {200}


@pytest.mark.parametrize(
    ("name", "value"),
    (
        ("LINJE72_LOGIN_RATE_LIMIT", "ten a minute"),
        ("LINJE72_API_RATE_LIMIT", "0 per minute"),
        ("LINJE72_METRICS_NETWORKS", "10.0.0.0/33"),
        ("LINJE72_METRICS_TOKEN", "short"),
        ("LINJE72_REDIS_URL", "http://127.0.0.1:6379"),
        ("LINJE72_TRUSTED_PROXIES", "many"),
    ),
)
def test_a_bad_operations_setting_stops_the_start_with_its_name(
    make_app: object, name: str, value: str
) -> None:
    with pytest.raises(ConfigError, match=name):
        make_app(**{name: value})  # type: ignore[operator]


def test_a_new_password_logs_out_every_open_session_of_the_account(
    app: Flask, session: Session, runner: object
) -> None:
    f.user(session, "planner@x.dk", "region")
    session.commit()
    browsers = [app.test_client(), app.test_client()]
    for browser in browsers:
        log_in(browser, "planner@x.dk")
        assert browser.get("/").status_code == 200
    result = runner.invoke(
        args=["user", "reset-password", "planner@x.dk"], input="a brand new password\n" * 2
    )  # type: ignore[attr-defined]
    assert result.exit_code == 0, result.output
    for browser in browsers:
        response = browser.get("/")
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    fresh = app.test_client()
    assert log_in(fresh, "planner@x.dk", "a brand new password").status_code == 302
    assert fresh.get("/").status_code == 200
