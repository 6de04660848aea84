"""The department's patients page: who sees what, the search by CPR number, a stay's actions (mark,
extend, end), each audited, and what each does to a call."""

from __future__ import annotations

import html as html_module
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.data.models import AuditEvent, Discharge
from app.services.patients import decide_for_patient
from app.values.times import parse_time
from ivr.simulator import ScriptedPhone, play_call
from tests import factories as f
from tests.console import csrf_token, log_in
from tests.support import AFTER_HOURS, Clock

CPR, OTHER, NOTIFIED, INSIDE = f.CPR_ACTIVE, f.CPR_OTHER, "2412391235", "0505501234"
NURSE, GP = "+4532501010", "+4533123456"
ONCALL_PHONE = "+4531102009"
ACCOUNTS = {
    "department": ("kard@x.dk", ("RH-KARD",)),
    "region": ("region@x.dk", ()),
    "admin": ("admin@x.dk", ()),
    "planner": ("planner@x.dk", ("RH-KARD",)),
}


@pytest.fixture
def stays(app: Flask, session: Session, clock: Clock) -> dict[str, int]:
    """Monday 23 November 10:00. RH-KARD holds SP-1 (until Tuesday 10:30), was notified of SP-3 without a
    target group, and has SP-4 admitted; BFH-GER holds SP-2."""
    clock.set("2026-11-23T10:00:00+01:00")
    cardiology = f.department(session)
    geriatrics = f.department(session, "BFH-GER", name="Geriatrisk Afdeling", hospital="Bispebjerg")
    f.caller(session)
    rows = {
        "SP-1": f.discharge(
            app, session, cardiology, "2026-11-21T10:30", gp_phone=GP, admitted_at="2026-11-15T08:10"
        ),
        "SP-2": f.discharge(
            app,
            session,
            geriatrics,
            "2026-11-22T09:00",
            cpr=OTHER,
            external_id="SP-2",
            destination="home_nursing",
        ),
        "SP-3": f.discharge(app, session, cardiology, "2026-11-22T12:00", cpr=NOTIFIED, external_id="SP-3"),
        "SP-4": f.discharge(app, session, cardiology, "2026-11-20T08:00", cpr=INSIDE, external_id="SP-4"),
    }
    rows["SP-3"].destination, rows["SP-3"].target_group, rows["SP-3"].source = None, None, "fhir"
    rows["SP-4"].status, rows["SP-4"].discharged_at = "admitted", None
    rows["SP-4"].admitted_at = parse_time("2026-11-20T08:00:00+01:00")
    for role, (email, departments) in ACCOUNTS.items():
        f.user(session, email, role, departments)
    session.commit()
    return {key: row.id for key, row in rows.items()}


def signed_in(app: Flask, role: str) -> FlaskClient:
    client = app.test_client()
    log_in(client, ACCOUNTS[role][0])
    return client


def post(client: FlaskClient, path: str, **data: str) -> tuple[int, str]:
    token = csrf_token(client, "/patients")
    response = client.post(path, data={"csrf_token": token, **data}, follow_redirects=True)
    return response.status_code, response.get_data(as_text=True)


def where(app: Flask, session: Session, cpr: str, at: str) -> tuple[str, str | None, str]:
    session.rollback()
    found = decide_for_patient(
        session, app.config["POLICY"], app.extensions["linje72.vault"], cpr, parse_time(at)
    )
    return found.decision.route.value, found.decision.department_code, found.decision.targets[0].label


def audited(session: Session, action: str, *, pseudonyms: bool = False) -> list[tuple[str, str, str]]:
    """The events of one kind; without the patient's pseudonym each stay's event ends with, unless asked."""
    session.rollback()
    query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    return [
        (e.actor, e.target, e.detail if pseudonyms else re.sub(r"; patient P-[0-9a-f]{16}$", "", e.detail))
        for e in session.scalars(query)
    ]


def text(html: str) -> str:
    return " ".join(html_module.unescape(re.sub(r"<[^>]+>", " ", html)).split())


# ---- who sees what ----


@pytest.mark.parametrize(
    ("role", "status", "seen", "unseen"),
    (
        ("department", 200, ["010140-xxxx", "241239-xxxx", "050550-xxxx"], ["150352-xxxx"]),
        ("region", 200, ["010140-xxxx", "241239-xxxx", "050550-xxxx", "150352-xxxx"], []),
        ("admin", 200, ["010140-xxxx", "150352-xxxx"], []),
        ("planner", 403, [], ["010140-xxxx"]),
    ),
)
def test_the_patients_page_shows_each_role_its_departments_by_birth_date_only(
    app: Flask,
    session: Session,
    stays: dict[str, int],
    role: str,
    status: int,
    seen: list[str],
    unseen: list[str],
) -> None:
    response = signed_in(app, role).get("/patients")
    page = text(response.get_data(as_text=True))

    assert response.status_code == status
    for born in seen:
        assert born in page
    for born in unseen:
        assert born not in page
    for number in (CPR, OTHER, NOTIFIED, INSIDE):
        assert number not in page and f"{number[:6]}-{number[6:]}" not in page
    if status == 200:
        assert "Tue 2026-11-24 10:30" in page or "tirs. 2026-11-24 10:30" in page
        assert "1 d 0 t" in page or "1 d 0 h" in page  # time left of SP-1
        assert audited(session, "view")[-1][1:] == ("patients", audited(session, "view")[-1][2])


def test_the_page_is_behind_a_login(app: Flask, stays: dict[str, int]) -> None:
    response = app.test_client().get("/patients")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize(
    ("method", "path", "data"),
    (
        ("GET", "/patients/{id}", {}),
        ("POST", "/patients/{id}/cpr", {}),
        ("POST", "/patients/{id}/mark", {}),
        ("POST", "/patients/{id}/extend", {"until": "2026-11-26T10:00", "reason": "x"}),
        ("POST", "/patients/{id}/end", {"reason": "died"}),
    ),
    ids=["view", "show-cpr", "mark", "extend", "end"],
)
def test_another_departments_stay_is_not_found(
    app: Flask, session: Session, stays: dict[str, int], method: str, path: str, data: dict[str, str]
) -> None:
    client = signed_in(app, "department")
    token = csrf_token(client, "/patients")
    response = client.open(path.format(id=stays["SP-2"]), method=method, data={"csrf_token": token, **data})

    assert response.status_code == 404
    assert client.get("/patients/999999").status_code == 404
    session.rollback()
    other = session.get(Discharge, stays["SP-2"])
    assert other is not None and (other.responsibility_until, other.ended_at) == (None, None)


@pytest.mark.parametrize("action", ["cpr", "mark", "extend", "end"])
def test_the_region_reads_and_changes_nothing(
    app: Flask, session: Session, stays: dict[str, int], action: str
) -> None:
    client = signed_in(app, "region")
    stay = client.get(f"/patients/{stays['SP-1']}")
    assert stay.status_code == 200 and "Show full CPR number" not in stay.get_data(as_text=True)
    token = csrf_token(client, "/patients")

    response = client.post(
        f"/patients/{stays['SP-1']}/{action}",
        data={"csrf_token": token, "until": "2026-11-26T10:00", "reason": "handed_over"},
    )

    assert response.status_code == 403
    assert audited(session, "change") == []


@pytest.mark.parametrize("action", ["mark", "extend", "end", "cpr"])
def test_an_action_without_its_csrf_token_is_refused(
    app: Flask, session: Session, stays: dict[str, int], action: str
) -> None:
    client = signed_in(app, "department")
    response = client.post(
        f"/patients/{stays['SP-1']}/{action}", data={"until": "2026-11-26T10:00", "reason": "handed_over"}
    )
    assert response.status_code == 400
    assert audited(session, "change") == []
    session.rollback()
    assert session.get(Discharge, stays["SP-1"]).responsibility_until is None  # type: ignore[union-attr]


# ---- the search ----


@pytest.mark.parametrize(
    ("typed", "status", "expected"),
    (
        ("010140-1234", 200, "010140-xxxx"),
        (" 0101401234 ", 200, "010140-xxxx"),
        (OTHER, 200, "Ingen ophold for denne patient i dine afdelinger."),
        ("0101401235", 200, "Ingen ophold for denne patient i dine afdelinger."),
        ("01014012", 422, "Ikke søgt: CPR-nummer:"),
    ),
    ids=["with-dash", "with-spaces", "another-departments", "unknown", "too-short"],
)
def test_a_department_finds_a_patient_by_cpr_number_in_a_form_never_a_url(
    app: Flask, session: Session, stays: dict[str, int], typed: str, status: int, expected: str
) -> None:
    client = signed_in(app, "department")
    token = csrf_token(client, "/patients")
    response = client.post("/patients/search", data={"csrf_token": token, "cpr": typed})
    page = response.get_data(as_text=True)

    assert response.status_code == status
    assert expected in text(page)
    if expected == "010140-xxxx":
        assert f'href="/patients/{stays["SP-1"]}"' in page
    assert typed.strip() not in page and CPR not in page
    assert client.get("/patients/search").status_code == 405
    searched = audited(session, "view")[-1]
    assert searched[1] == "patient search" and typed.strip() not in searched[2] and CPR not in searched[2]


# ---- a stay's page and its actions ----


def test_the_full_cpr_number_is_shown_only_when_asked_and_that_is_audited(
    app: Flask, session: Session, stays: dict[str, int]
) -> None:
    client = signed_in(app, "department")
    assert CPR not in client.get(f"/patients/{stays['SP-1']}").get_data(as_text=True)

    status, page = post(client, f"/patients/{stays['SP-1']}/cpr")

    assert status == 200 and CPR in page
    # With the patient's pseudonym (never the number), so that the per-patient audit search finds it.
    pseudonym = app.extensions["linje72.vault"].pseudonym(CPR)
    assert audited(session, "view", pseudonyms=True)[-1] == (
        "kard@x.dk",
        f"stay {stays['SP-1']}",
        f"RH-KARD: the full CPR number shown; patient {pseudonym}",
    )


def test_extending_keeps_calls_after_the_old_end_with_the_department(
    app: Flask, session: Session, stays: dict[str, int], clock: Clock
) -> None:
    assert where(app, session, CPR, "2026-11-24T18:00")[0] == "no_responsibility"
    client = signed_in(app, "department")

    status, page = post(
        client, f"/patients/{stays['SP-1']}/extend", until="2026-11-25T12:00", reason="ikke klinisk stabil"
    )

    assert status == 200
    assert "Ansvaret er forlænget." in page and "ons. 2026-11-25 12:00" in text(page)
    assert audited(session, "change") == [
        (
            "kard@x.dk",
            f"stay {stays['SP-1']}",
            "RH-KARD: extended from 2026-11-24 10:30 to 2026-11-25 12:00: ikke klinisk stabil",
        )
    ]
    clock.set("2026-11-24T18:00:00+01:00")  # after the 72 hours: on call, and still the department's
    trace = play_call(app, NURSE, ScriptedPhone([CPR, "1"]))
    assert trace.rung[0] == ONCALL_PHONE


def test_ending_sends_calls_to_the_gp_or_the_after_hours_line(
    app: Flask, session: Session, stays: dict[str, int], clock: Clock
) -> None:
    client = signed_in(app, "department")

    status, page = post(client, f"/patients/{stays['SP-1']}/end", reason="handed_over", at="")

    assert status == 200 and "Ansvaret er afsluttet." in page
    assert audited(session, "change")[0][2] == "RH-KARD: ended at 2026-11-23 10:00: handed_over"
    assert where(app, session, CPR, "2026-11-23T10:05") == ("no_responsibility", "RH-KARD", "gp")
    clock.set("2026-11-23T20:00:00+01:00")
    trace = play_call(app, NURSE, ScriptedPhone([CPR, "1"]))
    assert trace.rung[0] == AFTER_HOURS


def test_marking_a_notified_discharge_opens_the_window(
    app: Flask, session: Session, stays: dict[str, int]
) -> None:
    assert where(app, session, NOTIFIED, "2026-11-23T10:05")[0] == "no_responsibility"
    client = signed_in(app, "department")
    assert "Udskrivninger der skal tjekkes" in text(client.get("/patients").get_data(as_text=True))

    status, page = post(client, f"/patients/{stays['SP-3']}/mark")

    assert status == 200 and "Markeret som i målgruppen." in page
    assert where(app, session, NOTIFIED, "2026-11-23T10:05")[:2] == ("responsibility", "RH-KARD")
    assert (
        audited(session, "change")[0][2]
        == "RH-KARD: marked as in the target group; responsibility until 2026-11-25 12:00"
    )
    assert "Udskrivninger der skal tjekkes" not in text(client.get("/patients").get_data(as_text=True))


@pytest.mark.parametrize(
    ("action", "data", "message"),
    (
        ("extend", {"until": "2026-11-24T09:00", "reason": "x"},
         "Ny sluttid: must be after the current end, 2026-11-24 10:30"),
        ("extend", {"until": "2026-11-26T09:00", "reason": " "}, "Begrundelse: required"),
        ("extend", {"until": "", "reason": "x"}, "Ny sluttid: required"),
        ("extend", {"until": "2026-03-29T02:30", "reason": "x"}, "does not exist in Copenhagen"),
        ("extend", {"until": "2027-01-26T09:00", "reason": "x"}, "at most 30 days after the discharge"),
        ("end", {"reason": "bored"}, "must be one of readmitted, died, handed_over"),
        ("end", {"reason": "died", "at": "2026-11-20T09:00"}, "Fra hvornår: must not be before"),
        ("end", {"reason": "died", "at": "2026-11-25T09:00"}, "must be before the responsibility's end"),
    ),
    ids=["extend-earlier", "no-reason", "no-end", "dst", "too-far", "reason", "end-before", "end-after"],
)  # fmt: skip
def test_a_refused_action_says_which_field_and_changes_nothing(
    app: Flask, session: Session, stays: dict[str, int], action: str, data: dict[str, str], message: str
) -> None:
    client = signed_in(app, "department")

    status, page = post(client, f"/patients/{stays['SP-1']}/{action}", **data)

    assert status == 200 and message in text(page)
    assert audited(session, "change") == []
    session.rollback()
    row = session.get(Discharge, stays["SP-1"])
    assert row is not None and (row.responsibility_until, row.ended_at) == (None, None)


def test_a_stay_in_hospital_can_be_neither_extended_nor_ended(
    app: Flask, session: Session, stays: dict[str, int]
) -> None:
    client = signed_in(app, "department")
    page = text(client.get(f"/patients/{stays['SP-4']}").get_data(as_text=True))
    assert "Indlagt nu" in page and "Forlæng ansvaret" not in page

    status, answer = post(client, f"/patients/{stays['SP-4']}/extend", until="2026-11-26T09:00", reason="x")
    assert "Ikke gemt: Ophold:" in answer and audited(session, "change") == []
