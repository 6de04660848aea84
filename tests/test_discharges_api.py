"""Discharges through the API: one or a batch, upserted by id, all or nothing, errors by field path;
the department's patients; mark, extend and end; tokens and scopes."""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.data.models import AuditEvent, Discharge
from app.services.imports import import_path
from app.services.patients import decide_for_patient
from app.services.tokens import add_token, revoke_token
from app.values.times import parse_time
from tests import factories as f
from tests.support import Clock

NOW = parse_time("2026-11-23T10:00:00+01:00")  # Monday morning
CPR, OTHER, REPLACEMENT = f.CPR_ACTIVE, f.CPR_OTHER, "0101407AB1"
ONE = {
    "id": "SP-1",
    "cpr": CPR,
    "department": "RH-KARD",
    "discharged_at": "2026-11-21T10:30:00+01:00",
    "admitted_at": "2026-11-15T08:10:00+01:00",
    "destination": "nursing_home",
    "municipality": "København",
    "gp_phone": "+4533123456",
    "responsibility_until": None,
}


def batch(size: int = 4) -> list[dict[str, Any]]:
    items = []
    for number in range(size):
        item = copy.deepcopy(ONE)
        item.update(id=f"SP-{number + 1}", cpr=f"{number + 1:02d}0140123{number % 10}")
        items.append(item)
    return items


@pytest.fixture
def tokens(app: Flask, session: Session, clock: Clock) -> dict[str, str]:
    """RH-KARD and BFH-GER, and one token per scope (and a revoked one)."""
    clock.set("2026-11-23T10:00:00+01:00")
    f.department(session)
    f.department(session, "BFH-GER", name="Geriatrisk Afdeling", hospital="Bispebjerg")
    made = {
        name: add_token(session, name, scopes, NOW)[1]
        for name, scopes in (("EPIC", ["discharges"]), ("switchboard", ["read"]), ("Vagtplan", ["rota"]),
                             ("old", ["discharges"]))
    }  # fmt: skip
    revoke_token(session, "old", NOW)
    session.commit()
    return made


def call(client: FlaskClient, method: str, path: str, token: str | None, body: Any = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.open(path, method=method, headers=headers, json=body)
    return response.status_code, response.get_json(silent=True)


def stored(session: Session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(Discharge)) or 0


def route(app: Flask, session: Session, cpr: str, at: str) -> tuple[str, str | None, str]:
    session.rollback()
    found = decide_for_patient(
        session, app.config["POLICY"], app.extensions["linje72.vault"], cpr, parse_time(at)
    )
    decision = found.decision
    return decision.route.value, decision.department_code, decision.targets[0].label


# ---- tokens and scopes ----

ENDPOINTS = {
    "store": ("POST", "/api/v1/discharges", ONE, 200),
    "patients": ("GET", "/api/v1/departments/RH-KARD/patients", None, 200),
    "mark": ("POST", "/api/v1/discharges/SP-1/mark", {}, 200),
    "extend": (
        "POST",
        "/api/v1/discharges/SP-1/extend",
        {"until": "2026-11-26T12:00", "reason": "ustabil"},
        200,
    ),
    "end": ("POST", "/api/v1/discharges/SP-1/end", {"reason": "handed_over"}, 200),
}
ALLOWED = {"EPIC": {"store", "mark", "extend", "end"}, "switchboard": {"patients"}, "Vagtplan": set()}


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@pytest.mark.parametrize("who", [None, "old", "made-up", "Vagtplan", "switchboard", "EPIC"])
def test_every_discharge_endpoint_needs_a_live_token_with_its_scope(
    app: Flask, session: Session, tokens: dict[str, str], who: str | None, endpoint: str
) -> None:
    f.discharge(
        app, session, f.department(session, "X-SEED"), "2026-11-21T10:30:00+01:00", external_id="SP-1"
    )
    session.commit()
    method, path, body, ok = ENDPOINTS[endpoint]
    token = tokens.get(who, "l72_made-up") if who else None
    status, answer = call(app.test_client(), method, path, token, body)
    expected = (ok if endpoint in ALLOWED[who] else 403) if who in ALLOWED else 401
    assert status == expected, answer


# ---- storing ----


def test_one_discharge_is_added_and_the_call_reaches_the_department(
    app: Flask, session: Session, tokens: dict[str, str]
) -> None:
    status, answer = call(app.test_client(), "POST", "/api/v1/discharges", tokens["EPIC"], ONE)

    assert status == 200, answer
    assert answer == {
        "added": 1,
        "updated": 0,
        "unchanged": 0,
        "items": [{"index": 0, "id": "SP-1", "result": "added"}],
    }
    assert route(app, session, CPR, "2026-11-23T10:05") == ("responsibility", "RH-KARD", "department_day")
    row = session.scalars(select(Discharge)).one()
    assert (row.source, row.municipality, row.gp_phone) == ("rest", "København", "+4533123456")


def test_a_repeat_changes_nothing_and_says_so(
    app: Flask, session: Session, tokens: dict[str, str], clock: Clock
) -> None:
    client = app.test_client()
    call(client, "POST", "/api/v1/discharges", tokens["EPIC"], batch(3))
    before = session.scalars(select(Discharge.updated_at).order_by(Discharge.id)).all()
    clock.set("2026-11-23T11:00:00+01:00")

    status, answer = call(client, "POST", "/api/v1/discharges", tokens["EPIC"], batch(3))

    assert status == 200
    assert (answer["added"], answer["updated"], answer["unchanged"]) == (0, 0, 3)
    assert [item["result"] for item in answer["items"]] == ["unchanged"] * 3
    session.rollback()
    assert session.scalars(select(Discharge.updated_at).order_by(Discharge.id)).all() == before


def test_a_changed_repeat_updates_the_stay(app: Flask, session: Session, tokens: dict[str, str]) -> None:
    client = app.test_client()
    call(client, "POST", "/api/v1/discharges", tokens["EPIC"], batch(2))
    changed = batch(2)
    changed[1]["destination"] = "other"  # the patient went home without municipal care after all

    status, answer = call(client, "POST", "/api/v1/discharges", tokens["EPIC"], changed)

    assert status == 200
    assert [(item["id"], item["result"]) for item in answer["items"]] == [
        ("SP-1", "unchanged"),
        ("SP-2", "updated"),
    ]
    assert stored(session) == 2
    assert route(app, session, changed[1]["cpr"], "2026-11-23T10:05")[0] == "no_responsibility"


def test_a_replacement_cpr_number_is_accepted_and_stored(
    app: Flask, session: Session, tokens: dict[str, str]
) -> None:
    status, answer = call(
        app.test_client(), "POST", "/api/v1/discharges", tokens["EPIC"], {**ONE, "cpr": "010140-7ab1"}
    )

    assert status == 200, answer
    row = session.scalars(select(Discharge)).one()
    assert app.extensions["linje72.vault"].decrypt(row.cpr_encrypted) == REPLACEMENT
    assert row.cpr_lookup == app.extensions["linje72.vault"].lookup_key(REPLACEMENT)


# ---- problems: by field path, nothing stored, no CPR number ----


@pytest.mark.parametrize(
    ("change", "path", "message"),
    (
        ({"discharged_at": "yesterday"}, "[3].discharged_at", "not an ISO 8601 time"),
        ({"discharged_at": None}, "[3].discharged_at", "required, but missing"),
        ({"cpr": "3213401234"}, "[3].cpr", "the CPR number does not hold a real birth date"),
        ({"cpr": "0101401A2"}, "[3].cpr", "a CPR number has 10 digits, or (a replacement number)"),
        ({"department": "NOPE"}, "[3].department", "no department with code 'NOPE'"),
        ({"destination": "home"}, "[3].destination", "must be one of home_nursing, nursing_home, other"),
        ({"admitted_at": "2026-11-22T08:00"}, "[3].admitted_at", "must not be after discharged_at"),
        ({"gp_phone": "12"}, "[3].gp_phone", "not a phone number that can be dialled"),
        ({"ward": "A"}, "[3].ward", "unknown field"),
        ({"id": "SP-1"}, "[3].id", "'SP-1' is already given"),
        ({"destination": "010140-1234"}, "[3].destination", "not '[redacted]'"),
    ),
    ids=["time", "no-time", "cpr-date", "cpr-length", "department", "destination", "admitted-after",
         "gp-phone", "unknown-field", "repeated-id", "cpr-in-another-field"],
)  # fmt: skip
def test_a_batch_with_one_bad_item_stores_nothing_and_names_the_field(
    app: Flask,
    session: Session,
    tokens: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    change: dict[str, Any],
    path: str,
    message: str,
) -> None:
    items = batch(5)
    items[3].update(change)
    caplog.set_level(logging.DEBUG, logger="linje72")  # an earlier test may have quietened it
    with caplog.at_level(logging.DEBUG):
        response = app.test_client().post(
            "/api/v1/discharges", json=items, headers={"Authorization": f"Bearer {tokens['EPIC']}"}
        )
    answer = response.get_json()

    assert (response.status_code, response.mimetype) == (422, "application/problem+json"), answer
    assert list(answer["errors"]) == [path]
    assert message in answer["errors"][path][0]
    assert "nothing was stored" in answer["detail"]
    assert stored(session) == 0
    text = response.get_data(as_text=True) + caplog.text
    for item in items:
        assert str(item["cpr"]) not in text and str(item["cpr"])[:6] not in text
    assert "0101401234" not in text and "010140-1234" not in text


def test_a_single_discharge_names_the_field_without_a_place(
    app: Flask, session: Session, tokens: dict[str, str]
) -> None:
    status, answer = call(
        app.test_client(),
        "POST",
        "/api/v1/discharges",
        tokens["EPIC"],
        {**ONE, "discharged_at": "2026-03-29T02:30"},
    )
    assert status == 422
    assert list(answer["errors"]) == ["discharged_at"]
    assert "does not exist in Copenhagen" in answer["errors"]["discharged_at"][0]


@pytest.mark.parametrize(
    ("body", "message"),
    ((None, "must be JSON"), ([], "at least one discharge"), ("a discharge", "must be JSON"), ([1], None)),
    ids=["no-body", "empty", "a-string", "not-an-object"],
)
def test_a_body_that_is_no_discharge_is_refused(
    app: Flask, session: Session, tokens: dict[str, str], body: Any, message: str | None
) -> None:
    status, answer = call(app.test_client(), "POST", "/api/v1/discharges", tokens["EPIC"], body)
    assert status == 422
    if message:
        assert message in answer["errors"]["body"][0]
    else:
        assert answer["errors"] == {
            "[0]": ["must be a JSON object with id, cpr, department, discharged_at, destination"]
        }
    assert stored(session) == 0


def test_nothing_logged_or_answered_holds_a_cpr_number(
    app: Flask, session: Session, tokens: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    client = app.test_client()
    caplog.set_level(logging.DEBUG, logger="linje72")  # an earlier test may have quietened it
    with caplog.at_level(logging.DEBUG):
        answers = [
            client.post(
                "/api/v1/discharges", json=body, headers={"Authorization": f"Bearer {tokens['EPIC']}"}
            )
            for body in (batch(3), batch(3), {**ONE, "cpr": "0101409999x"}, {**ONE, "cpr": REPLACEMENT})
        ]
        answers.append(
            client.get(
                "/api/v1/departments/RH-KARD/patients",
                headers={"Authorization": f"Bearer {tokens['switchboard']}"},
            )
        )
    text = caplog.text + "".join(answer.get_data(as_text=True) for answer in answers)
    session.rollback()
    text += " ".join(f"{e.target} {e.detail}" for e in session.scalars(select(AuditEvent)))
    assert "discharges from API token EPIC: 3 (0 added, 0 updated, 3 unchanged)" in caplog.text
    for number in [item["cpr"] for item in batch(3)] + [CPR, "0101409999", REPLACEMENT]:
        assert number not in text and f"{number[:6]}-{number[6:]}" not in text


# ---- the department's patients, and the actions ----


def test_the_departments_patients_carry_the_birth_date_and_no_cpr_number(
    app: Flask, session: Session, tokens: dict[str, str]
) -> None:
    client = app.test_client()
    call(
        client,
        "POST",
        "/api/v1/discharges",
        tokens["EPIC"],
        [ONE, {**ONE, "id": "SP-9", "cpr": OTHER, "department": "BFH-GER"}],
    )

    status, answer = call(client, "GET", "/api/v1/departments/RH-KARD/patients", tokens["switchboard"])

    assert status == 200
    assert [(p["id"], p["born"], p["state"], p["until"]) for p in answer["active"]] == [
        ("SP-1", "010140-xxxx", "active", "2026-11-24T10:30:00+01:00")
    ]
    assert answer["to_mark"] == [] and answer["admitted"] == []
    session.rollback()
    viewed = session.scalars(select(AuditEvent).where(AuditEvent.action == "view")).one()
    assert (viewed.actor, viewed.target) == ("API token switchboard", "patients of RH-KARD")
    assert call(client, "GET", "/api/v1/departments/NOPE/patients", tokens["switchboard"])[0] == 404


def test_extend_end_and_mark_through_the_api_change_where_a_call_goes(
    app: Flask, session: Session, tokens: dict[str, str]
) -> None:
    client = app.test_client()
    call(client, "POST", "/api/v1/discharges", tokens["EPIC"], ONE)
    assert route(app, session, CPR, "2026-11-24T18:00")[0] == "no_responsibility"  # the 72 hours ran out

    status, answer = call(
        client,
        "POST",
        "/api/v1/discharges/SP-1/extend",
        tokens["EPIC"],
        {"until": "2026-11-25T12:00", "reason": "ustabil"},
    )
    assert status == 200 and answer["until"] == "2026-11-25T12:00:00+01:00" and answer["extended"], answer
    assert route(app, session, CPR, "2026-11-24T18:00")[:2] == ("responsibility", "RH-KARD")

    status, answer = call(
        client,
        "POST",
        "/api/v1/discharges/SP-1/extend",
        tokens["EPIC"],
        {"until": "2026-11-25T08:00", "reason": "x"},
    )
    assert status == 422 and answer["errors"] == {
        "until": ["must be after the current end, 2026-11-25 12:00"]
    }

    status, answer = call(
        client, "POST", "/api/v1/discharges/SP-1/end", tokens["EPIC"], {"reason": "handed_over"}
    )
    assert status == 200 and answer["state"] == "ended"
    assert route(app, session, CPR, "2026-11-23T10:05") == ("no_responsibility", "RH-KARD", "gp")

    status, answer = call(client, "POST", "/api/v1/discharges/SP-1/end", tokens["EPIC"], {"reason": "tired"})
    assert status == 422 and "reason" in answer["errors"]
    assert call(client, "POST", "/api/v1/discharges/SP-404/mark", tokens["EPIC"], {})[0] == 404
    session.rollback()
    changes = session.scalars(
        select(AuditEvent.detail).where(AuditEvent.action == "change", AuditEvent.target != "discharges")
    ).all()
    assert changes == [
        "RH-KARD: extended from 2026-11-24 10:30 to 2026-11-25 12:00: ustabil",
        "RH-KARD: ended at 2026-11-23 10:00: handed_over",
    ]


def test_the_openapi_document_describes_the_discharge_endpoints(app: Flask) -> None:
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    store = spec["paths"]["/api/v1/discharges"]["post"]
    body = store["requestBody"]["content"]["application/json"]["schema"]
    assert body["oneOf"][0]["required"] == ["id", "cpr", "department", "discharged_at", "destination"]
    assert body["oneOf"][1]["type"] == "array"
    assert {"200", "422"} <= set(store["responses"])
    assert "/api/v1/discharges/{external_id}/extend" in spec["paths"]
    assert "/api/v1/departments/{code}/patients" in spec["paths"]


# ---- the file import shares the checks, and shows how far it has come ----


def test_a_large_discharges_file_tells_how_far_its_import_has_come(
    app: Flask, session: Session, tokens: dict[str, str], tmp_path: Path
) -> None:
    items = [
        {**ONE, "id": f"SP-{n}", "cpr": f"{1 + n % 28:02d}{1 + n // 28 % 12:02d}40{n % 4000:04d}"}
        for n in range(2500)
    ]
    path = tmp_path / "discharges.json"
    path.write_text(json.dumps(items))
    seen: list[tuple[int, int]] = []

    result = import_path(
        session,
        "discharges",
        path,
        vault=app.extensions["linje72.vault"],
        now=NOW,
        progress=lambda *p: seen.append(p),
    )
    session.commit()

    assert result.errors == [] and result.summary == "2500 discharges: 2500 added, 0 updated"
    assert seen[-1] == (5000, 5000) and len(seen) >= 5
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert stored(session) == 2500


def test_the_file_import_accepts_a_replacement_cpr_number(
    app: Flask, session: Session, tokens: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "discharges.json"
    path.write_text(json.dumps([{**ONE, "cpr": REPLACEMENT}]))

    result = import_path(session, "discharges", path, vault=app.extensions["linje72.vault"], now=NOW)

    assert result.errors == []
    session.commit()
    assert session.scalars(select(Discharge.cpr_lookup)).one() == app.extensions["linje72.vault"].lookup_key(
        REPLACEMENT
    )
