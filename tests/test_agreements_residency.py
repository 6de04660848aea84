"""A discharge needs its municipality where its agreement covers listed municipalities only: every feed."""

from __future__ import annotations

import copy
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.data.models import Agreement, Discharge
from app.mllp.listener import make_server
from app.services.tokens import add_token
from tests import factories as f
from tests.hl7_messages import adt
from tests.support import Clock
from tests.test_fhir import FHIR_JSON, notification, outcome_of
from tests.test_hl7 import Sender

KOGE_WARD = "265161000016000"  # SJ-KOGE's ward (SOR id)
WHY = (
    "municipality is required: department SJ-KOGE runs under agreement SJ, "
    "which covers residents of listed municipalities only"
)
ONE = {
    "id": "SP-1",
    "cpr": f.CPR_ACTIVE,
    "department": "SJ-KOGE",
    "discharged_at": "2026-11-22T11:00:00+01:00",
    "destination": "nursing_home",
}


@pytest.fixture
def zealand(app: Flask, session: Session, clock: Clock) -> str:
    """SJ-KOGE under Zealand's agreement (residents of Køge and Roskilde); RH-KARD under one for
    every resident; BFH-GER under none. Returns the hospital system's token."""
    clock.set("2026-11-23T10:00:00+01:00")
    for code, municipalities in (("SJ", ["Køge", "Roskilde"]), ("RH", [])):
        session.add(
            Agreement(
                code=code,
                name=code,
                municipalities=municipalities,
                after_hours_number="+4570151818",
                fallback_number="+4556510000",
            )
        )
    f.department(session, "SJ-KOGE", name="Medicinsk Afdeling", agreement="SJ", sor_ids=KOGE_WARD)
    f.department(session, "RH-KARD", agreement="RH")
    f.department(session, "BFH-GER", name="Geriatrisk Afdeling")
    token = add_token(session, "EPIC", ["discharges"], clock())[1]
    session.commit()
    return token


def stored(session: Session) -> dict[str, str | None]:
    session.rollback()  # see what the requests committed
    return {row.external_id: row.municipality for row in session.scalars(select(Discharge))}


def post_json(client: FlaskClient, path: str, token: str, body: Any) -> tuple[int, Any]:
    response = client.post(path, headers={"Authorization": f"Bearer {token}"}, json=body)
    return response.status_code, response.get_json(silent=True)


# --- REST ---------------------------------------------------------------------------------


def test_a_rest_batch_with_a_discharge_missing_its_municipality_is_refused_naming_the_record(
    app: Flask, session: Session, zealand: str
) -> None:
    other = {**ONE, "id": "SP-2", "department": "RH-KARD"}  # every resident: needs none
    status, body = post_json(app.test_client(), "/api/v1/discharges", zealand, [other, ONE])
    assert status == 422
    assert body["errors"] == {"[1].municipality": [WHY]}
    assert f.CPR_ACTIVE not in json.dumps(body)
    assert stored(session) == {}


def test_a_single_rest_discharge_names_the_field_alone(app: Flask, session: Session, zealand: str) -> None:
    status, body = post_json(app.test_client(), "/api/v1/discharges", zealand, ONE)
    assert (status, body["errors"]) == (422, {"municipality": [WHY]})
    assert stored(session) == {}


@pytest.mark.parametrize(
    ("department", "municipality"),
    (
        ("SJ-KOGE", "Køge"),
        ("SJ-KOGE", "Odense"),  # outside the listed ones: stored, and it opens no window
        ("RH-KARD", None),  # an agreement without a residency limit
        ("BFH-GER", None),  # no agreement
    ),
)
def test_a_discharge_is_stored_where_its_municipality_is_given_or_not_needed(
    app: Flask, session: Session, zealand: str, department: str, municipality: str | None
) -> None:
    item = {**ONE, "department": department, "municipality": municipality}
    status, body = post_json(app.test_client(), "/api/v1/discharges", zealand, item)
    assert status == 200, body
    assert stored(session) == {"SP-1": municipality}


def test_an_admission_needs_no_municipality(app: Flask, session: Session, zealand: str) -> None:
    status, _ = post_fhir(app, zealand, notification("admit-inpatient", sor=KOGE_WARD))
    assert status == 200
    assert stored(session) == {"urn:uuid:stay-0001": None}


# --- FHIR ---------------------------------------------------------------------------------


def post_fhir(app: Flask, token: str, bundle: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = app.test_client().post(
        "/api/v1/fhir/Bundle",
        data=json.dumps(bundle),
        headers={"Authorization": f"Bearer {token}"},
        content_type=FHIR_JSON,
    )
    return response.status_code, json.loads(response.get_data())


def discharged(*, receiver: bool) -> dict[str, Any]:
    bundle = notification(
        "discharge-inpatient-home", status="finished", end="2026-11-22T11:00:00+01:00", sor=KOGE_WARD
    )
    if not receiver:  # no home municipality named: the MessageHeader goes to no Organization
        bundle = copy.deepcopy(bundle)
        del bundle["entry"][0]["resource"]["destination"][0]["receiver"]
    return bundle


def test_a_notified_discharge_without_the_home_municipality_is_refused_naming_the_receiver(
    app: Flask, session: Session, zealand: str
) -> None:
    status, answer = post_fhir(app, zealand, discharged(receiver=False))
    assert status == 422
    issue = outcome_of(answer)["issue"][0]
    assert (issue["code"], issue["expression"], issue["diagnostics"]) == (
        "required",
        ["Bundle.entry[0].resource.destination.receiver"],
        WHY,
    )
    assert stored(session) == {}


def test_a_notified_discharge_to_its_home_municipality_is_stored(
    app: Flask, session: Session, zealand: str
) -> None:
    status, _ = post_fhir(app, zealand, discharged(receiver=True))
    assert status == 200
    assert stored(session) == {"urn:uuid:stay-0001": "Københavns Kommune"}


# --- HL7 v2 -------------------------------------------------------------------------------

KOGE_PV1 = {3: "SJ-KOGE", 36: "nursing_home"}  # our own codes: no mapping file needed
# PID-11: street, other, city, state, postal code, country, type (H: home), -, county/parish code.
HOME_IN_KOGE = "Torvet 1^^Køge^^4600^DK^H^^Køge"


def send(app: Flask, message: str) -> dict[str, list[str]]:
    """Send one message over MLLP to a listener on loopback; return its acknowledgement's segments."""
    server = make_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        with Sender(server.port) as sender:
            sender.send(message)
            return sender.ack()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_an_hl7_discharge_without_pid_11_is_answered_ae_naming_the_field(
    app: Flask, session: Session, zealand: str
) -> None:
    ack = send(app, adt("A03", message_id="M1", pv1=KOGE_PV1))
    assert ack["MSA"][1:3] == ["AE", "M1"]
    assert ack["ERR"][2:4] == ["PID^1^11", "101^Required field missing^HL70357"]
    assert ack["ERR"][8] == f"PID-11: {WHY} (PID-11.9, the address's county/parish code, names it)"
    assert stored(session) == {}


def test_an_hl7_discharge_reads_the_municipality_from_pid_11_9(
    app: Flask, session: Session, zealand: str
) -> None:
    ack = send(app, adt("A03", message_id="M1", pv1=KOGE_PV1, pid11=HOME_IN_KOGE))
    assert ack["MSA"][1:3] == ["AA", "M1"]
    assert stored(session) == {"V9001": "Køge"}


def test_an_hl7_discharge_keeps_a_municipality_an_earlier_message_gave(
    app: Flask, session: Session, zealand: str
) -> None:
    assert send(app, adt("A08", message_id="M1", pv1=KOGE_PV1, pid11=HOME_IN_KOGE))["MSA"][1] == "AA"
    assert send(app, adt("A03", message_id="M2", pv1=KOGE_PV1))["MSA"][1] == "AA"
    assert stored(session) == {"V9001": "Køge"}


# --- the discharges file ------------------------------------------------------------------


def test_a_discharges_file_with_a_record_missing_its_municipality_is_refused_naming_the_row(
    runner: FlaskCliRunner, session: Session, zealand: str, tmp_path: Path
) -> None:
    path = tmp_path / "discharges.jsonl"
    other = {**ONE, "id": "SP-2", "department": "BFH-GER"}
    path.write_text("\n".join(json.dumps(item) for item in (other, ONE)) + "\n", encoding="utf-8")
    result = runner.invoke(args=["import", "discharges", str(path)])
    assert result.exit_code == 1
    assert f"{path}:2: municipality: {WHY}" in result.stderr.splitlines()
    assert f.CPR_ACTIVE not in result.output + result.stderr
    assert stored(session) == {}
    path.write_text(json.dumps([other, {**ONE, "municipality": "Roskilde"}]), encoding="utf-8")
    result = runner.invoke(args=["import", "discharges", str(path)])
    assert result.exit_code == 0, result.output
    assert stored(session) == {"SP-1": "Roskilde", "SP-2": None}
