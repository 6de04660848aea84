"""Seeing agreements: on each contact, in the export and API, the contact log, who answers now, coverage."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.data.models import Contact, Department
from app.services.tokens import add_token
from ivr.simulator import ScriptedPhone, play_call
from tests import factories as f
from tests.console import log_in
from tests.support import Clock
from tests.test_agreements import AGREEMENTS_TOML, DEPARTMENTS_CSV, cli_import

CAPITAL_TOML = """
[agreement.RH]
name = "Region Hovedstaden"
after_hours_number = "+45 70 13 18 13"
fallback_number = "+45 38 64 00 00"
"""
KOGE_ONCALL = "+4547320009"
SID_KOGE, SID_KARD, SID_MOVED = "CA" + "1" * 32, "CA" + "2" * 32, "CA" + "3" * 32
# The contact export's columns as the interface fixed them; `agreement` is appended after them.
SPEC_COLUMNS = [
    "call_sid",
    "started_at",
    "ended_at",
    "caller_number",
    "caller_organisation",
    "caller_kind",
    "department",
    "period",
    "route",
    "patient_ref",
    "dialled",
    "connected_to",
    "outcome",
    "follow_up",
    "test_call",
]
ACCOUNTS = {
    "admin": ("admin@x.dk", ()),
    "region": ("region@x.dk", ()),
    "department": ("koge@x.dk", ("SJ-KOGE", "RH-KARD")),
}


@pytest.fixture
def calls(app: Flask, runner: FlaskCliRunner, session: Session, tmp_path: Path, clock: Clock) -> None:
    """SJ-KOGE under Zealand's agreement, RH-KARD under none; a call about a patient of each,
    Monday evening 80 hours after their discharge; an account per role that sees the log."""
    toml = AGREEMENTS_TOML + CAPITAL_TOML
    assert cli_import(runner, tmp_path, "agreements", "agreements.toml", toml).exit_code == 0
    assert cli_import(runner, tmp_path, "departments", "departments.csv", DEPARTMENTS_CSV).exit_code == 0
    f.caller(session)
    koge, kard = (
        session.scalars(select(Department).where(Department.code == c)).one() for c in ("SJ-KOGE", "RH-KARD")
    )
    f.discharge(app, session, koge, "2026-11-20T10:00:00+01:00")
    f.discharge(app, session, kard, "2026-11-20T10:00:00+01:00", cpr=f.CPR_OTHER, external_id="SP-2")
    for role, (email, departments) in ACCOUNTS.items():
        f.user(session, email, role, departments)
    session.commit()
    clock.set("2026-11-23 18:00")
    play_call(app, "+4532501010", ScriptedPhone([f.CPR_ACTIVE, "1"], {KOGE_ONCALL: "1"}), call_sid=SID_KOGE)
    clock.set("2026-11-23 18:10")
    play_call(app, "+4532501010", ScriptedPhone([f.CPR_OTHER, "1"], {}), call_sid=SID_KARD)


def exported(runner: FlaskCliRunner) -> dict[str, dict[str, Any]]:
    result = runner.invoke(args=["contacts", "export"])
    assert result.exit_code == 0, result.output
    return {record["call_sid"]: record for record in json.loads(result.output)}


@pytest.mark.usefixtures("calls")
def test_a_call_records_the_agreement_its_department_ran_under_and_the_export_shows_it(
    session: Session, runner: FlaskCliRunner
) -> None:
    stored = {c.call_sid: c.agreement for c in session.scalars(select(Contact))}
    assert stored == {SID_KOGE: "SJ", SID_KARD: None}
    records = exported(runner)
    assert (records[SID_KOGE]["department"], records[SID_KOGE]["agreement"]) == ("SJ-KOGE", "SJ")
    # A department without an agreement runs under the deployment's own settings: `default`.
    assert (records[SID_KARD]["department"], records[SID_KARD]["agreement"]) == ("RH-KARD", "default")
    assert list(records[SID_KOGE]) == [*SPEC_COLUMNS, "agreement"]

    rows = list(csv.reader(io.StringIO(runner.invoke(args=["contacts", "export", "--format", "csv"]).output)))
    assert rows[0] == [*SPEC_COLUMNS, "agreement"]  # the fixed columns first, in order; then the new one
    assert [row[-1] for row in rows[1:]] == ["SJ", "default"]


@pytest.mark.usefixtures("calls")
def test_a_call_keeps_its_agreement_when_the_department_moves_to_another_later(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path, clock: Clock
) -> None:
    moved = DEPARTMENTS_CSV.replace("+4547320000,SJ,no", "+4547320000,RH,no")
    assert cli_import(runner, tmp_path, "departments", "moved.csv", moved).exit_code == 0
    clock.set("2026-11-23 18:20")
    play_call(app, "+4532501010", ScriptedPhone([f.CPR_ACTIVE, "1"], {}), call_sid=SID_MOVED)

    records = exported(runner)
    assert records[SID_KOGE]["agreement"] == "SJ"  # the call made under Zealand's agreement
    assert (records[SID_MOVED]["department"], records[SID_MOVED]["agreement"]) == ("SJ-KOGE", "RH")
    # Under the Capital Region's 72 hours the same patient, 80 hours out, has no open window any more.
    assert (records[SID_KOGE]["route"], records[SID_MOVED]["route"]) == (
        "responsibility",
        "no_responsibility",
    )


@pytest.mark.usefixtures("calls")
@pytest.mark.parametrize(
    ("agreement", "expected"),
    (("", {SID_KOGE, SID_KARD}), ("SJ", {SID_KOGE}), ("default", {SID_KARD}), ("RH", set())),
)
def test_the_apis_contact_list_shows_and_filters_by_agreement(
    app: Flask, session: Session, clock: Clock, agreement: str, expected: set[str]
) -> None:
    token = add_token(session, "region", ["read"], clock())[1]
    session.commit()
    response = app.test_client().get(
        f"/api/v1/contacts?agreement={agreement}", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    body = response.get_json()
    assert {item["call_sid"] for item in body["items"]} == expected and body["total"] == len(expected)
    assert all(
        item["agreement"] == ("SJ" if item["department"] == "SJ-KOGE" else "default")
        for item in body["items"]
    )


def test_the_openapi_document_describes_the_agreement_field_and_filter(app: Flask) -> None:
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    parameters = {p["name"]: p for p in spec["paths"]["/api/v1/contacts"]["get"]["parameters"]}
    assert "default" in parameters["agreement"]["description"]
    contact = spec["components"]["schemas"]["Contact"]
    assert "agreement" in contact["required"]
    assert "moves later" in contact["properties"]["agreement"]["description"]


def console_as(app: Flask, role: str) -> FlaskClient:
    client = app.test_client()
    log_in(client, ACCOUNTS[role][0])
    return client


def rows_of(page: str) -> list[str]:
    """The contact log's rows, each as its HTML."""
    body = page[page.index("<tbody>") : page.index("</tbody>")]
    return body.split("<tr>")[1:]


@pytest.mark.usefixtures("calls")
@pytest.mark.parametrize("role", list(ACCOUNTS))
def test_the_contact_log_shows_each_calls_agreement_and_filters_by_it(app: Flask, role: str) -> None:
    client = console_as(app, role)
    page = client.get("/contacts").get_data(as_text=True)
    assert '<option value="SJ" >SJ: Region Sjælland</option>' in page
    rows = rows_of(page)
    assert len(rows) == 2
    # Newest first: RH-KARD's call (no agreement), then SJ-KOGE's.
    assert '<abbr title="installationens egne indstillinger">default</abbr>' in rows[0]
    assert '<abbr title="Region Sjælland">SJ</abbr>' in rows[1]

    zealand = rows_of(client.get("/contacts?agreement=SJ").get_data(as_text=True))
    assert len(zealand) == 1 and "SJ-KOGE" in zealand[0]
    default = rows_of(client.get("/contacts?agreement=default").get_data(as_text=True))
    assert len(default) == 1 and "RH-KARD" in default[0]
    capital = client.get("/contacts?agreement=RH").get_data(as_text=True)
    assert "Ingen opkald passer." in capital


@pytest.mark.usefixtures("calls")
def test_who_answers_now_shows_each_departments_agreement_with_its_name(app: Flask) -> None:
    page = console_as(app, "region").get("/").get_data(as_text=True)
    koge = page[page.index('aria-label="SJ-KOGE"') :]
    koge = koge[: koge.index("</h2>")]
    assert '<abbr class="badge agreement" title="Aftale: Region Sjælland">SJ</abbr>' in koge
    kard = page[page.index('aria-label="RH-KARD"') :]
    assert "badge agreement" not in kard[: kard.index("</h2>")]


@pytest.mark.usefixtures("calls")
@pytest.mark.parametrize(
    ("agreement", "shown"), (("", {"SJ-KOGE", "RH-KARD"}), ("SJ", {"SJ-KOGE"}), ("default", {"RH-KARD"}))
)
def test_the_regions_week_of_coverage_filters_by_agreement(
    app: Flask, agreement: str, shown: set[str]
) -> None:
    page = console_as(app, "region").get(f"/coverage?agreement={agreement}").get_data(as_text=True)
    assert {code for code in ("SJ-KOGE", "RH-KARD") if f'/coverage/{code}"' in page} == shown
