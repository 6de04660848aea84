"""The API: tokens and scopes, problem details, the first endpoints, the OpenAPI document."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.data.models import ApiToken, AuditEvent
from app.services.tokens import add_token, revoke_token
from app.values.times import parse_time
from ivr.simulator import ScriptedPhone, play_call
from tests import factories as f
from tests.support import Clock

ANNA, BO = "+4540101001", "+4540101002"
NOW = parse_time("2026-11-23T10:00:00+01:00")


@pytest.fixture
def tokens(app: Flask, session: Session) -> dict[str, str]:
    cardiology = f.department(session)
    f.shift(session, cardiology, "day", "2026-11-23 08:00", "2026-11-23 15:00", ANNA, "Anna Holm")
    f.shift(session, cardiology, "oncall", "2026-11-23 15:00", "2026-11-24 08:00", BO, "Bo Jensen")
    f.caller(session)
    f.discharge(app, session, cardiology, "2026-11-21T10:30:00+01:00")
    made = {
        name: add_token(session, name, scopes, NOW)[1]
        for name, scopes in (("switchboard", ["read"]), ("EPIC", ["discharges"]), ("old", ["read"]))
    }
    revoke_token(session, "old", NOW)
    session.commit()
    return made


def get(client: FlaskClient, path: str, token: str | None) -> tuple[int, dict, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.get(path, headers=headers)
    return response.status_code, response.get_json(silent=True) or {}, response.mimetype


@pytest.mark.parametrize(
    ("who", "status"),
    ((None, 401), ("old", 401), ("EPIC", 403), ("switchboard", 200), ("made-up", 401)),
    ids=["no-token", "revoked", "wrong-scope", "read", "made-up"],
)
@pytest.mark.parametrize(
    "path",
    ["/api/v1/departments", "/api/v1/departments/RH-KARD/oncall", "/api/v1/contacts", "/api/v1/followups"],
)
def test_every_endpoint_needs_a_live_token_with_the_read_scope(
    app: Flask, tokens: dict[str, str], who: str | None, status: int, path: str
) -> None:
    token = tokens.get(who, "l72_made-up-token") if who else None
    code, body, mimetype = get(app.test_client(), path, token)
    assert code == status
    if status != 200:
        assert mimetype == "application/problem+json"
        assert (body["status"], body["instance"]) == (status, path)
        assert body["title"] in ("Unauthorized", "Forbidden") and body["detail"]


def test_who_answers_now_for_a_switchboard_is_the_chain_a_call_rings(
    app: Flask, tokens: dict[str, str]
) -> None:
    code, body, _ = get(
        app.test_client(), "/api/v1/departments/RH-KARD/oncall?at=2026-11-23T22:00", tokens["switchboard"]
    )
    assert code == 200
    assert body["period"] == "oncall" and body["gap"] is False
    assert [(t["number"], t["label"]) for t in body["targets"]] == [
        (BO, "oncall"),
        ("+4531102009", "department_oncall"),
        ("+4531100000", "switchboard"),
        ("+4538640000", "fallback"),
    ]
    assert body["at"] == "2026-11-23T22:00:00+01:00"


@pytest.mark.parametrize(
    ("path", "status", "field"),
    (
        ("/api/v1/departments/NOPE/oncall", 404, None),
        ("/api/v1/departments/RH-KARD/oncall?at=2026-03-29T02:30", 422, "at"),
        ("/api/v1/contacts?page=0", 422, "page"),
        ("/api/v1/contacts?since=yesterday", 422, "since"),
    ),
)
def test_bad_requests_are_problem_details_naming_the_field(
    app: Flask, tokens: dict[str, str], path: str, status: int, field: str | None
) -> None:
    code, body, mimetype = get(app.test_client(), path, tokens["switchboard"])
    assert (code, mimetype) == (status, "application/problem+json")
    if field:
        assert field in body["errors"]


def test_the_contact_log_comes_a_page_at_a_time_without_cpr_numbers_and_is_audited(
    app: Flask, session: Session, tokens: dict[str, str]
) -> None:
    for _ in range(3):
        play_call(app, "+4532501010", ScriptedPhone(["0101401234", "1"], {ANNA: "1"}))
    client = app.test_client()
    code, first, _ = get(client, "/api/v1/contacts?per_page=2", tokens["switchboard"])
    assert code == 200 and first["total"] == 3 and len(first["items"]) == 2
    _, second, _ = get(client, "/api/v1/contacts?per_page=2&page=2", tokens["switchboard"])
    assert len(second["items"]) == 1
    item = first["items"][0]
    assert item["patient_ref"].startswith("P-") and item["outcome"] == "connected"
    assert "0101401234" not in str(first) + str(second)
    session.rollback()
    audited = session.scalars(select(AuditEvent).where(AuditEvent.action == "view")).all()
    assert [e.actor for e in audited] == ["API token switchboard"] * 2
    assert (
        session.scalars(select(ApiToken).where(ApiToken.name == "switchboard")).one().last_used_at is not None
    )


def test_a_request_takes_one_connection_and_notes_its_token_use_once_a_minute_even_when_it_fails(
    app: Flask, session: Session, tokens: dict[str, str], clock: Clock
) -> None:
    client = app.test_client()
    code, _, _ = get(client, "/api/v1/departments/NOPE/oncall", tokens["switchboard"])
    assert code == 404
    assert last_used(session, "switchboard") == clock()
    session.rollback()
    checkouts: list[object] = []

    def checked_out(*_: object) -> None:
        checkouts.append(None)

    engine = app.extensions["linje72.engine"]
    event.listen(engine, "checkout", checked_out)
    clock.set("2026-11-23T10:00:30+01:00")  # within the minute: its use is not written again
    code, _, _ = get(client, "/api/v1/departments/RH-KARD/oncall", tokens["switchboard"])
    event.remove(engine, "checkout", checked_out)
    assert code == 200 and len(checkouts) == 1  # the token check and the answer share it
    assert last_used(session, "switchboard") == parse_time("2026-11-23T10:00:00+01:00")
    session.rollback()
    get(client, "/api/v1/departments/RH-KARD/oncall", tokens["switchboard"])
    assert last_used(session, "switchboard") == parse_time("2026-11-23T10:00:00+01:00")
    session.rollback()
    clock.set("2026-11-23T10:01:01+01:00")  # over a minute since it was noted: noted again
    get(client, "/api/v1/departments/RH-KARD/oncall", tokens["switchboard"])
    assert last_used(session, "switchboard") == clock()


def last_used(session: Session, name: str) -> object:
    return session.scalars(select(ApiToken).where(ApiToken.name == name)).one().last_used_at


def test_the_openapi_document_describes_the_endpoints_and_can_be_read_in_a_browser(app: Flask) -> None:
    client = app.test_client()
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"] == "3.1.0"
    assert {
        "/api/v1/departments",
        "/api/v1/departments/{code}/oncall",
        "/api/v1/contacts",
        "/api/v1/followups",
    } <= set(spec["paths"])
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert 'GET</span> <span class="path">/api/v1/contacts' in page
    assert "https://" not in page


def test_a_console_page_keeps_its_own_error_page(app: Flask) -> None:
    response = app.test_client().get("/no-such-page")
    assert response.status_code == 404 and response.mimetype == "text/html"


def test_token_commands_show_a_token_once_and_revoke_it(app: Flask, session: Session) -> None:
    runner = app.test_cli_runner()
    made = runner.invoke(args=["token", "add", "Sundhedsplatformen", "--scope", "read"])
    assert made.exit_code == 0, made.output
    secret = made.output.splitlines()[-1]
    assert secret.startswith("l72_")
    session.rollback()
    stored = session.scalars(select(ApiToken)).one()
    assert secret not in (stored.token_hash, stored.scopes)
    assert get(app.test_client(), "/api/v1/departments", secret)[0] == 200
    assert runner.invoke(args=["token", "revoke", "Sundhedsplatformen"]).exit_code == 0
    assert get(app.test_client(), "/api/v1/departments", secret)[0] == 401
    assert "revoked" in runner.invoke(args=["token", "list"]).output
    bad = runner.invoke(args=["token", "add", "x", "--scope", "write"])
    assert bad.exit_code != 0 and "Invalid value for '--scope'" in bad.output
