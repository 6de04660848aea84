"""The rota API for scheduling systems: read shifts, replace a period, add overrides, list versions."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.data.models import AuditEvent, RotaVersion, Shift
from app.services.tokens import add_token, revoke_token
from app.values.times import parse_time
from tests import factories as f

ANNA, BO, CARL = "+4540101001", "+4540101002", "+4540101003"
NOW = parse_time("2026-11-23T10:00:00+01:00")

# Monday 30 November to Tuesday morning: a day shift and a night on call.
PERIOD = {"start": "2026-11-30T08:00", "end": "2026-12-01T08:00"}
SHIFTS = [
    {"role": role, "start": start, "end": end, "name": name, "phone": phone}
    for role, start, end, name, phone in (
        ("day", "2026-11-30T08:00", "2026-11-30T15:00", "Anna Holm", ANNA),
        (
            "oncall",
            "2026-11-30T15:00",
            "2026-12-01T08:00",
            "Bo Jensen",
            "40 10 10 02",
        ),  # as a planner types it
    )
]


@pytest.fixture
def tokens(app: Flask, session: Session) -> dict[str, str]:
    """RH-KARD (with department phones) and BFH-GER (no on-call phone: a night without a doctor is a
    gap), Monday's rota of RH-KARD, and one token per scope."""
    cardiology = f.department(session)
    f.department(
        session,
        "BFH-GER",
        name="Geriatrisk Afdeling",
        hospital="Bispebjerg",
        oncall_phone=None,
        day_phone="+4531203001",
        switchboard_phone="+4531200000",
    )
    f.shift(session, cardiology, "day", "2026-11-23 08:00", "2026-11-23 15:00", ANNA, "Anna Holm")
    f.shift(session, cardiology, "oncall", "2026-11-23 15:00", "2026-11-24 08:00", BO, "Bo Jensen")
    made = {
        name: add_token(session, name, scopes, NOW)[1]
        for name, scopes in (
            ("Vagtplan", ["rota"]),
            ("switchboard", ["read"]),
            ("EPIC", ["discharges"]),
            ("old", ["rota"]),
        )
    }
    revoke_token(session, "old", NOW)
    session.commit()
    return made


def call(
    client: FlaskClient, method: str, path: str, token: str | None, body: Any = None
) -> tuple[int, dict[str, Any], str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.open(path, method=method, headers=headers, json=body)
    return response.status_code, response.get_json(silent=True) or {}, response.mimetype


def rota(**more: Any) -> dict[str, Any]:
    return {**PERIOD, "shifts": copy.deepcopy(SHIFTS), **more}


def counts(session: Session) -> tuple[int, int]:
    session.rollback()
    return (
        session.scalar(select(func.count()).select_from(Shift)) or 0,
        session.scalar(select(func.count()).select_from(RotaVersion)) or 0,
    )


OVERRIDE = {"start": "2026-11-23T20:00", "end": "2026-11-23T23:00", "name": "Carl Nørgaard", "phone": CARL,
            "replaces_phone": BO}  # fmt: skip
ENDPOINTS = {
    "read shifts": ("GET", "/api/v1/departments/RH-KARD/shifts", None),
    "replace a period": ("PUT", "/api/v1/departments/RH-KARD/rota", {**rota(), "dry_run": True}),
    "add an override": ("POST", "/api/v1/departments/RH-KARD/overrides", OVERRIDE),
    "list versions": ("GET", "/api/v1/rota/versions", None),
}
OK = {"read shifts": 200, "replace a period": 200, "add an override": 201, "list versions": 200}
# Who may do what: writing needs `rota`; reading the rota `read` or `rota`.
ALLOWED = {
    "Vagtplan": set(ENDPOINTS),
    "switchboard": {"read shifts", "list versions"},
    "EPIC": set(),
}


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@pytest.mark.parametrize("who", [None, "old", "made-up", "EPIC", "switchboard", "Vagtplan"])
def test_every_rota_endpoint_needs_a_live_token_with_its_scope(
    app: Flask, tokens: dict[str, str], who: str | None, endpoint: str
) -> None:
    method, path, body = ENDPOINTS[endpoint]
    token = tokens.get(who, "l72_made-up-token") if who else None
    status, answer, mimetype = call(app.test_client(), method, path, token, body)
    if who in ALLOWED:
        expected = OK[endpoint] if endpoint in ALLOWED[who] else 403
    else:
        expected = 401
    assert status == expected, answer
    if expected >= 400:
        assert mimetype == "application/problem+json" and answer["status"] == expected and answer["detail"]


# ---- replacing a period ----


@pytest.mark.parametrize(
    ("change", "path", "message"),
    (
        ({"role": "night"}, "shifts[1].role", "must be one of day, oncall, backup, nurse, not 'night'"),
        ({"end": "2026-11-30T14:00"}, "shifts[1].end", "must be after start"),
        ({"start": "2026-03-29T02:30"}, "shifts[1].start", "does not exist in Copenhagen"),
        ({"phone": "12"}, "shifts[1].phone", "not a phone number that can be dialled"),
        ({"phone": None}, "shifts[1].phone", "required, but missing"),
        ({"name": "Bo\tJensen"}, "shifts[1].name", "contains a control character"),
        ({"ward": "A"}, "shifts[1].ward", "unknown field (expected role, start, end, name, phone)"),
        ({"start": 1700000000}, "shifts[1].start", "must be text"),
        ({"start": "2026-12-01T08:00", "end": "2026-12-01T15:00"}, "shifts[1].start", "outside the period"),
        ({"phone": ANNA, "start": "2026-11-30T14:00"}, "shifts[1].phone", "already on the rota at that time"),
    ),
    ids=[
        "role", "end-before-start", "dst-gap", "phone", "no-phone", "control-character",
        "unknown-field", "not-text", "outside-period", "same-person-twice",
    ],
)  # fmt: skip
def test_a_bad_shift_is_named_by_its_field_path_and_nothing_is_stored(
    app: Flask, session: Session, tokens: dict[str, str], change: dict[str, Any], path: str, message: str
) -> None:
    body = rota()
    body["shifts"][1].update(change)
    before = counts(session)
    status, answer, mimetype = call(
        app.test_client(), "PUT", "/api/v1/departments/RH-KARD/rota", tokens["Vagtplan"], body
    )
    assert (status, mimetype) == (422, "application/problem+json"), answer
    assert any(message in text for text in answer["errors"][path]), answer["errors"]
    assert answer["review"]["errors"] and not answer["review"]["publishable"]
    assert counts(session) == before


@pytest.mark.parametrize(
    ("body", "field"),
    (
        ({"end": PERIOD["end"], "shifts": []}, "start"),
        ({**PERIOD, "shifts": "none"}, "shifts"),
        ({**PERIOD, "start": "soon", "shifts": []}, "start"),
        ({**PERIOD, "end": "2026-11-30T07:00", "shifts": []}, "end"),
        ({**PERIOD, "end": "2028-01-01T00:00", "shifts": []}, "end"),
        ({**PERIOD, "shifts": ["a shift"]}, "shifts[0]"),
    ),
    ids=[
        "no-start",
        "shifts-not-a-list",
        "bad-start",
        "end-before-start",
        "a-year-and-more",
        "not-an-object",
    ],
)
def test_a_bad_request_is_named_by_field(
    app: Flask, session: Session, tokens: dict[str, str], body: dict[str, Any], field: str
) -> None:
    status, answer, _ = call(
        app.test_client(), "PUT", "/api/v1/departments/RH-KARD/rota", tokens["Vagtplan"], body
    )
    assert status == 422 and field in answer["errors"], answer
    assert counts(session) == (2, 0)


def test_an_unknown_department_is_not_found(app: Flask, tokens: dict[str, str]) -> None:
    status, answer, _ = call(
        app.test_client(), "PUT", "/api/v1/departments/NOPE/rota", tokens["Vagtplan"], rota()
    )
    assert status == 404 and "NOPE" in answer["detail"]


def test_a_dry_run_reviews_and_changes_nothing(app: Flask, session: Session, tokens: dict[str, str]) -> None:
    status, answer, _ = call(
        app.test_client(), "PUT", "/api/v1/departments/RH-KARD/rota", tokens["Vagtplan"], rota(dry_run=True)
    )
    assert status == 200 and answer["published"] is False and answer["version"] is None
    (department,) = answer["review"]["departments"]
    assert department["counts"] == {"added": 2, "removed": 0, "changed": 0}
    assert department["added"][1] == {
        "role": "oncall",
        "start": "2026-11-30T15:00:00+01:00",
        "end": "2026-12-01T08:00:00+01:00",
        "name": "Bo Jensen",
        "phone": BO,
    }
    assert (department["start"], department["end"]) == (
        "2026-11-30T08:00:00+01:00",
        "2026-12-01T08:00:00+01:00",
    )
    assert counts(session) == (2, 0)


def test_publishing_makes_a_version_and_the_same_period_again_changes_nothing(
    app: Flask, session: Session, tokens: dict[str, str]
) -> None:
    client = app.test_client()
    status, first, _ = call(client, "PUT", "/api/v1/departments/RH-KARD/rota", tokens["Vagtplan"], rota())
    assert status == 200 and first["published"] is True, first
    version = first["version"]
    assert (version["actor"], version["source"], version["shifts"], version["added"]) == (
        "API token Vagtplan", "api", 2, 2,
    )  # fmt: skip
    assert version["departments"] == [
        {"code": "RH-KARD", "start": "2026-11-30T08:00:00+01:00", "end": "2026-12-01T08:00:00+01:00",
         "shifts": 2, "added": 2, "removed": 0, "changed": 0}
    ]  # fmt: skip
    assert counts(session) == (4, 1)
    # The same plan again, its shifts in another order and spelling: nothing to publish.
    again = rota()
    again["shifts"].reverse()
    again["shifts"][0]["phone"] = BO
    status, second, _ = call(client, "PUT", "/api/v1/departments/RH-KARD/rota", tokens["Vagtplan"], again)
    assert status == 200 and second["published"] is False and second["version"] is None
    assert second["review"]["departments"][0]["counts"] == {"added": 0, "removed": 0, "changed": 0}
    assert counts(session) == (4, 1)
    # Another person on call: one change, one more version.
    changed = rota(acknowledge=True)
    changed["shifts"][1].update(name="Carl Nørgaard", phone=CARL)
    status, third, _ = call(client, "PUT", "/api/v1/departments/RH-KARD/rota", tokens["Vagtplan"], changed)
    assert (
        third["version"]["changed"] == 1
        and third["review"]["departments"][0]["changed"][0]["old"]["phone"] == BO
    )
    _, listed, _ = call(client, "GET", "/api/v1/rota/versions?department=RH-KARD", tokens["switchboard"])
    assert [v["id"] for v in listed] == [third["version"]["id"], version["id"]]
    assert len(listed[0]["hash"]) == 64 and listed[0]["hash"] != listed[1]["hash"]
    session.rollback()
    audited = session.scalars(select(AuditEvent).where(AuditEvent.action == "change")).all()
    assert [(e.actor, e.target) for e in audited] == [("API token Vagtplan", "rota RH-KARD")] * 2


def test_a_gap_left_needs_acknowledging_and_then_publishes(
    app: Flask, session: Session, tokens: dict[str, str]
) -> None:
    """BFH-GER has no on-call phone: a day shift only leaves its night without anyone."""
    client = app.test_client()
    body = {**PERIOD, "shifts": [dict(SHIFTS[0])]}
    status, refused, mimetype = call(
        client, "PUT", "/api/v1/departments/BFH-GER/rota", tokens["Vagtplan"], body
    )
    assert (status, mimetype) == (409, "application/problem+json"), refused
    assert "acknowledge" in refused["detail"]
    assert refused["review"]["gaps"] == [
        {"department": "BFH-GER", "start": "2026-11-30T15:00:00+01:00", "end": "2026-12-01T08:00:00+01:00",
         "period": "oncall"}
    ]  # fmt: skip
    assert counts(session) == (2, 0)
    status, done, _ = call(
        client, "PUT", "/api/v1/departments/BFH-GER/rota", tokens["Vagtplan"], {**body, "acknowledge": True}
    )
    assert status == 200 and done["published"] is True and done["version"]["added"] == 1
    assert counts(session) == (3, 1)


def test_an_empty_list_clears_the_period(app: Flask, session: Session, tokens: dict[str, str]) -> None:
    body = {"start": "2026-11-23T00:00", "end": "2026-11-25T00:00", "shifts": [], "acknowledge": True}
    status, answer, _ = call(
        app.test_client(), "PUT", "/api/v1/departments/RH-KARD/rota", tokens["Vagtplan"], body
    )
    assert status == 200 and answer["version"]["removed"] == 2
    assert counts(session) == (0, 1)


# ---- reading shifts, overrides ----


def test_shifts_show_the_rota_and_who_really_covers_once_an_override_is_added(
    app: Flask, session: Session, tokens: dict[str, str]
) -> None:
    client = app.test_client()
    status, made, _ = call(
        client, "POST", "/api/v1/departments/RH-KARD/overrides", tokens["Vagtplan"], OVERRIDE
    )
    assert status == 201, made
    assert (made["replaces_name"], made["role"], made["created_by"]) == (
        "Bo Jensen",
        "oncall",
        "API token Vagtplan",
    )
    status, answer, _ = call(
        client, "GET", "/api/v1/departments/RH-KARD/shifts?from=2026-11-23T00:00&to=2026-11-24T12:00",
        tokens["switchboard"],
    )  # fmt: skip
    assert status == 200
    assert [(s["role"], s["name"], [c["name"] for c in s["covered_by"]]) for s in answer["shifts"]] == [
        ("day", "Anna Holm", []),
        ("oncall", "Bo Jensen", ["Carl Nørgaard"]),
    ]
    assert [(c["name"], c["start"][11:16], c["end"][11:16], c["override"]) for c in answer["covers"]] == [
        ("Anna Holm", "08:00", "15:00", None),
        ("Bo Jensen", "15:00", "20:00", None),
        ("Carl Nørgaard", "20:00", "23:00", made["id"]),
        ("Bo Jensen", "23:00", "08:00", None),
    ]
    assert (answer["from"], answer["to"]) == ("2026-11-23T00:00:00+01:00", "2026-11-24T12:00:00+01:00")
    session.rollback()
    viewed = session.scalars(select(AuditEvent).where(AuditEvent.action == "view")).all()
    assert [(e.actor, e.target) for e in viewed] == [("API token switchboard", "rota RH-KARD")]


def test_shifts_default_to_the_next_14_days(app: Flask, tokens: dict[str, str]) -> None:
    _, answer, _ = call(app.test_client(), "GET", "/api/v1/departments/RH-KARD/shifts", tokens["switchboard"])
    assert (answer["from"], answer["to"]) == ("2026-11-23T10:00:00+01:00", "2026-12-07T10:00:00+01:00")
    assert [s["role"] for s in answer["shifts"]] == ["day", "oncall"]  # the day shift is under way


@pytest.mark.parametrize(
    ("query", "status", "field"),
    (
        ("?from=2026-11-23T00:00&to=2027-03-01T00:00", 422, "to"),
        ("?from=2026-11-24T00:00&to=2026-11-23T00:00", 422, "to"),
        ("?from=2026-03-29T02:30", 422, "from"),
    ),
    ids=["more-than-93-days", "backwards", "dst-gap"],
)
def test_a_bad_period_is_named(
    app: Flask, tokens: dict[str, str], query: str, status: int, field: str
) -> None:
    code, answer, _ = call(
        app.test_client(), "GET", f"/api/v1/departments/RH-KARD/shifts{query}", tokens["switchboard"]
    )
    assert code == status and field in answer["errors"], answer


@pytest.mark.parametrize(
    ("change", "field", "message"),
    (
        ({"replaces_phone": CARL}, "replaces_phone", "nobody with +4540101003 is on the rota of RH-KARD"),
        ({"end": "2026-11-23T19:00"}, "end", "must be after the start"),
        ({"phone": "nope"}, "phone", "not a phone number"),
        ({"replaces_phone": None, "role": ""}, "role", "choose day, oncall, backup or nurse"),
        ({"start": "tonight"}, "start", "not an ISO 8601 time"),
        ({"name": None}, "name", "Field may not be null"),
    ),
    ids=["replaces-nobody-on-the-rota", "backwards", "phone", "no-role", "bad-time", "no-name"],
)
def test_an_override_that_cannot_be_stored_names_the_field(
    app: Flask, session: Session, tokens: dict[str, str], change: dict[str, Any], field: str, message: str
) -> None:
    status, answer, _ = call(
        app.test_client(),
        "POST",
        "/api/v1/departments/RH-KARD/overrides",
        tokens["Vagtplan"],
        {**OVERRIDE, **change},
    )
    assert status == 422, answer
    assert any(message in text for text in answer["errors"][field]), answer
    session.rollback()
    assert (
        session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "change")) == 0
    )


def test_the_openapi_document_describes_the_rota_endpoints(app: Flask) -> None:
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    assert {
        "/api/v1/departments/{code}/shifts",
        "/api/v1/departments/{code}/rota",
        "/api/v1/departments/{code}/overrides",
        "/api/v1/rota/versions",
    } <= set(paths)
    put = paths["/api/v1/departments/{code}/rota"]["put"]
    assert {"200", "409", "422"} <= set(put["responses"])
    body = put["requestBody"]["content"]["application/json"]["schema"]
    shifts = spec["components"]["schemas"][body["$ref"].split("/")[-1]]["properties"]["shifts"]
    assert shifts["items"]["required"] == ["role", "start", "end", "phone"]
    assert paths["/api/v1/departments/{code}/overrides"]["post"]["responses"]["201"]
    assert {p["name"] for p in paths["/api/v1/departments/{code}/shifts"]["get"]["parameters"]} >= {
        "from",
        "to",
    }
