"""Admins edit the regional agreements in the console: the same checks as the file, audited."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.data.models import Agreement as StoredAgreement
from app.data.models import AuditEvent
from app.intake.agreements import read_agreements
from app.intake.table import Problems
from app.services.agreements import upsert_agreements
from tests import factories as f
from tests.console import csrf_token, log_in
from tests.test_agreements import AGREEMENTS_TOML

# Zealand's agreement as its form posts it, unchanged.
ZEALAND_FORM = {
    "name": "Region Sjælland",
    "line_name": "96-timers-linjen",
    "window_hours": "96",
    "min_age": "18",
    "short_stay_hours": "24",
    "municipalities": "Køge\nRoskilde",
    "nursing_home_short_stays": "1",
    "psychiatry": "1",
    "after_hours_number": "+4570151818",
    "fallback_number": "+4556510000",
    "day_hours": "",
    "closed_days": "12-24 12-31",
    "half_days": "06-05 12:00",
}


@pytest.fixture
def admin(app: Flask, session: Session) -> FlaskClient:
    """Zealand's agreement with SJ-KOGE under it (its own closed day 2 January), and an admin logged in."""
    problems = Problems("agreements.toml")
    upsert_agreements(session, read_agreements(AGREEMENTS_TOML, problems))
    f.department(session, "SJ-KOGE", agreement="SJ", closed_days=["01-02"])
    f.department(session, "RH-KARD")
    f.user(session, "admin@x.dk", "admin")
    session.commit()
    client = app.test_client()
    log_in(client, "admin@x.dk")
    return client


def post(client: FlaskClient, path: str, **changes: str) -> tuple[int, str]:
    data = {**ZEALAND_FORM, **changes, "csrf_token": csrf_token(client, "/agreements")}
    data = {key: value for key, value in data.items() if value is not None}
    response = client.post(path, data=data)
    return response.status_code, response.get_data(as_text=True)


def zealand(session: Session) -> StoredAgreement:
    session.rollback()  # a fresh read: the console wrote in its own sessions
    return session.scalars(select(StoredAgreement).where(StoredAgreement.code == "SJ")).one()


def test_the_list_shows_the_default_and_each_agreement_with_its_departments(admin: FlaskClient) -> None:
    page = re.sub(r"<[^>]+>", "", admin.get("/agreements").get_data(as_text=True))  # the text a person reads
    assert "standard" in page  # the deployment's settings, read-only, first
    assert "72 timer" in page and "96 timer" in page
    assert "SJ-KOGE (egen kalender: lukket 01-02)" in page
    assert "RH-KARD" in page  # under the deployment's settings


def test_an_admin_changes_zealands_window_and_the_audit_log_names_the_change(
    admin: FlaskClient, session: Session
) -> None:
    status, _ = post(admin, "/agreements/SJ/edit", window_hours="72", half_days="06-05 12:00\n12-23 13:00")
    assert status == 302
    stored = zealand(session)
    assert (stored.window_hours, stored.half_days) == (72, {"06-05": "12:00", "12-23": "13:00"})
    event = session.scalars(select(AuditEvent).where(AuditEvent.target == "agreement SJ")).one()
    assert (event.actor, event.action) == ("admin@x.dk", "change")
    assert event.detail == (
        "changed: window_hours: 96 → 72; half_days: 06-05 12:00 → 06-05 12:00, 12-23 13:00"
    )


@pytest.mark.parametrize(
    ("key", "form_value", "toml_line", "shown"),
    (
        ("window_hours", "0", "window_hours = 0", "Et helt antal timer, mindst 1."),
        ("window_hours", "96 timer", 'window_hours = "96 timer"', "Et helt antal timer, mindst 1."),
        ("after_hours_number", "1818", 'after_hours_number = "1818"', "ikke et kort nummer som 1813"),
        ("fallback_number", "+45 12", 'fallback_number = "+45 12"', "Et fuldt telefonnummer"),
        ("min_age", "-1", "min_age = -1", "Et helt antal år"),
        ("day_hours", "15:00-08:00", 'day_hours = "15:00-08:00"', "TT:MM-TT:MM"),
        ("closed_days", "24-12", 'closed_days = ["24-12"]', "MM-DD"),
        ("half_days", "06-05 noon", 'half_days = { "06-05" = "noon" }', "MM-DD TT:MM"),
        ("name", "", 'name = ""', "Skriv aftalens navn."),
    ),
)
def test_the_form_refuses_what_the_file_refuses_next_to_the_field_and_stores_nothing(
    admin: FlaskClient, session: Session, key: str, form_value: str, toml_line: str, shown: str
) -> None:
    status, page = post(admin, "/agreements/SJ/edit", **{key: form_value})
    assert status == 422
    assert f'id="{key}-error"' in page and page.count('class="field-error"') == 1
    assert shown in page.split(f'id="{key}-error"')[1].split("</p>")[0]
    assert zealand(session).window_hours == 96
    assert session.scalars(select(AuditEvent).where(AuditEvent.action == "change")).all() == []
    # The same value in the file is refused on the same key.
    problems = Problems("agreements.toml")
    text = "\n".join(
        toml_line if line.startswith(f"{key} =") else line for line in AGREEMENTS_TOML.splitlines()
    )
    if f"{key} =" not in AGREEMENTS_TOML:
        text += f"\n{toml_line}\n"
    assert read_agreements(text, problems) == []
    assert [line.split(": ")[1] for line in problems.lines()] == [f"agreement.SJ.{key}"]


def test_saving_an_unchanged_agreement_records_nothing(admin: FlaskClient, session: Session) -> None:
    status, _ = post(admin, "/agreements/SJ/edit")
    assert status == 302
    assert "Intet blev ændret i SJ." in admin.get("/agreements").get_data(as_text=True)
    session.rollback()
    assert session.scalars(select(AuditEvent).where(AuditEvent.action == "change")).all() == []


def test_a_new_agreement_is_added_and_a_taken_code_refused(admin: FlaskClient, session: Session) -> None:
    status, page = post(admin, "/agreements/new", code="SJ")
    assert status == 422 and 'id="code-error"' in page
    status, _ = post(admin, "/agreements/new", code="RH", name="Region Hovedstaden", window_hours="72")
    assert status == 302
    assert session.scalars(select(StoredAgreement.code).order_by(StoredAgreement.code)).all() == ["RH", "SJ"]
    detail = session.scalars(select(AuditEvent.detail).where(AuditEvent.target == "agreement RH")).one()
    assert detail.startswith("added: name: – → Region Hovedstaden; after_hours_number: – → +4570151818;")
    assert "window_hours: – → 72;" in detail


def test_an_agreement_with_departments_is_not_deleted_and_one_without_is(
    admin: FlaskClient, session: Session
) -> None:
    token = csrf_token(admin, "/agreements")
    refused = admin.post("/agreements/SJ/delete", data={"csrf_token": token}, follow_redirects=True)
    assert "SJ blev ikke slettet" in refused.get_data(as_text=True)
    assert "SJ-KOGE" in refused.get_data(as_text=True)
    assert zealand(session) is not None
    assert post(admin, "/agreements/new", code="RH", name="Region Hovedstaden")[0] == 302
    assert admin.post("/agreements/RH/delete", data={"csrf_token": token}).status_code == 302
    session.rollback()
    assert session.scalars(select(StoredAgreement.code)).all() == ["SJ"]
    events = session.scalars(select(AuditEvent.detail).where(AuditEvent.target == "agreement RH")).all()
    assert events[-1] == "deleted"
