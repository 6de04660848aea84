"""Follow-up: a call nobody answered becomes a task; staff take it, call back and close it with what
it led to; every view and change is audited, and the audit log is searched per patient."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.data.models import AuditEvent, Contact, FollowUp, VoiceMessage
from ivr.simulator import ScriptedPhone, play_call
from tests import factories as f
from tests.console import csrf_token, log_in
from tests.support import Clock

VALBY = "+4532501010"
ANNA, DORTE = f.ANNA, "+4540102002"
ACCOUNTS = {
    "kard": ("kard@rh.dk", "department", ("RH-KARD",)),
    "ger": ("ger@bfh.dk", "department", ("BFH-GER",)),
    "admin": ("admin@x.dk", "admin", ()),
    "region": ("region@x.dk", "region", ()),
    "planner": ("planner@x.dk", "planner", ("RH-KARD",)),
}


@pytest.fixture
def unanswered(app: Flask, session: Session) -> int:
    """RH-KARD and BFH-GER; the Valby home nurse calls about RH-KARD's patient and nobody answers."""
    f.small_region(app, session)
    f.department(
        session,
        "BFH-GER",
        name="Geriatrisk Afdeling",
        hospital="Bispebjerg",
        day_phone="+4531203001",
        switchboard_phone="+4531200000",
    )
    for email, role, departments in ACCOUNTS.values():
        f.user(session, email, role, departments)
    session.commit()
    play_call(app, VALBY, ScriptedPhone(["0101401234", "1"]))
    session.expire_all()
    task_id = session.scalars(select(FollowUp)).one().id
    session.rollback()  # no read left open: the test's own writes then see the newest data
    return task_id


def as_(app: Flask, who: str) -> FlaskClient:
    client = app.test_client()
    log_in(client, ACCOUNTS[who][0])
    return client


def post(client: FlaskClient, path: str, data: dict[str, str] | None = None, page: str = "/followup") -> str:
    response = client.post(path, data={**(data or {}), "csrf_token": csrf_token(client, page)})
    return (
        response.headers.get("Location", "")
        if response.status_code == 302
        else response.get_data(as_text=True)
    )


def events(session: Session, target: str) -> list[tuple[str, str, str]]:
    session.rollback()
    rows = session.scalars(select(AuditEvent).where(AuditEvent.target == target).order_by(AuditEvent.id))
    return [(e.actor, e.action, e.detail) for e in rows]


def test_a_call_nobody_answered_becomes_one_task_of_its_department_with_caller_number_and_masked_patient(
    app: Flask, session: Session, unanswered: int
) -> None:
    task = session.get(FollowUp, unanswered)
    assert task is not None
    contact = task.contact
    assert (contact.outcome, contact.follow_up, task.department.code) == ("unanswered", True, "RH-KARD")
    assert task.opened_at == contact.ended_at or task.opened_at <= (contact.ended_at or task.opened_at)

    page = as_(app, "kard").get("/followup").get_data(as_text=True)
    assert "Hjemmesygeplejen Valby" in page
    assert f'href="tel:{VALBY}"' in page
    assert "010140-xxxx" in page and "0101401234" not in page and "010140-1234" not in page
    assert "RH-KARD" in page and "ingen har den" in page


def test_a_test_call_and_a_connected_call_make_no_task(app: Flask, session: Session) -> None:
    f.small_region(app, session)
    play_call(app, VALBY, ScriptedPhone(["0101401234", "1"]), test_call=True)
    play_call(app, VALBY, ScriptedPhone(["0101401234", "1"], {ANNA: "1"}))
    session.expire_all()
    assert [c.outcome for c in session.scalars(select(Contact).order_by(Contact.id))] == [
        "unanswered",
        "connected",
    ]
    assert session.scalars(select(FollowUp)).all() == []


def test_a_caller_who_hangs_up_while_the_chain_rings_is_called_back(app: Flask, session: Session) -> None:
    f.small_region(app, session)
    play_call(app, VALBY, ScriptedPhone(["0101401234", "1", None]))
    session.expire_all()
    (contact,) = session.scalars(select(Contact)).all()
    (task,) = session.scalars(select(FollowUp)).all()
    assert task.contact_id == contact.id and contact.follow_up


@pytest.mark.parametrize(
    ("who", "sees", "detail"),
    [("kard", 200, 200), ("admin", 200, 200), ("ger", 200, 404), ("region", 403, 403), ("planner", 403, 403)],
)
def test_only_the_departments_staff_and_admins_see_a_task(
    app: Flask, unanswered: int, who: str, sees: int, detail: int
) -> None:
    client = as_(app, who)
    listing = client.get("/followup")
    assert listing.status_code == sees
    if sees == 200:
        assert ("Hjemmesygeplejen Valby" in listing.get_data(as_text=True)) == (detail == 200)
    assert client.get(f"/followup/{unanswered}").status_code == detail


def test_a_task_without_a_department_is_on_the_admins_list_only(app: Flask, session: Session) -> None:
    f.small_region(app, session)
    f.user(session, "kard@rh.dk", "department", ("RH-KARD",))
    f.user(session, "admin@x.dk", "admin")
    session.commit()
    # An unknown number that never keys a unit code: forwarded to the fallback, which does not answer.
    play_call(app, "+4522222222", ScriptedPhone(["", "", ""]))
    session.expire_all()
    (task,) = session.scalars(select(FollowUp)).all()
    assert task.department_id is None
    assert "+4522222222" not in as_(app, "kard").get("/followup").get_data(as_text=True)
    admin_page = as_(app, "admin").get("/followup").get_data(as_text=True)
    assert 'href="tel:+4522222222"' in admin_page and "ingen afdeling" in admin_page


def test_a_task_is_taken_once_closed_with_a_result_and_every_step_is_audited_with_the_pseudonym(
    app: Flask, session: Session, unanswered: int, clock: Clock
) -> None:
    kard = as_(app, "kard")
    page = kard.get(f"/followup/{unanswered}").get_data(as_text=True)
    assert "Sundhedsplatformen" in page and "ikke en journal" in page
    assert "<audio" not in page  # no stored message

    assert post(kard, f"/followup/{unanswered}/claim").endswith(f"/followup/{unanswered}")
    assert "kard@rh.dk har taget den" in kard.get(f"/followup/{unanswered}").get_data(as_text=True)

    f.user(session, "kollega@rh.dk", "department", ("RH-KARD",))
    session.commit()
    colleague = app.test_client()
    log_in(colleague, "kollega@rh.dk")
    post(colleague, f"/followup/{unanswered}/claim")
    refused = colleague.get(f"/followup/{unanswered}").get_data(as_text=True)
    assert "Ikke gemt: kard@rh.dk har taget opgaven" in refused
    post(colleague, f"/followup/{unanswered}/close", {"result": "advice"})
    assert session.get(FollowUp, unanswered).closed_at is None  # type: ignore[union-attr]

    shown = post(kard, f"/followup/{unanswered}/cpr")
    assert "0101401234" in shown

    clock.set("2026-11-23T10:40:00+01:00")
    assert post(kard, f"/followup/{unanswered}/close", {"result": "medication_changed"}).endswith("/followup")
    session.rollback()
    task = session.get(FollowUp, unanswered)
    assert task is not None and task.closed_at == clock.now and task.contact.result == "medication_changed"
    listing = kard.get("/followup").get_data(as_text=True)
    assert "Medicin ændret" in listing and "Ingen opkald venter" in listing

    ref = task.contact.patient_ref
    assert ref and ref.startswith("P-")
    audited = events(session, f"follow-up {unanswered}")
    assert [(actor, action, detail.split(";")[0]) for actor, action, detail in audited] == [
        ("kard@rh.dk", "view", "RH-KARD: seen"),
        ("kard@rh.dk", "change", "RH-KARD: taken"),
        ("kard@rh.dk", "view", "RH-KARD: seen"),
        ("kollega@rh.dk", "view", "RH-KARD: seen"),
        ("kard@rh.dk", "view", "RH-KARD: the full CPR number shown"),
        ("kard@rh.dk", "change", "RH-KARD: closed: medication_changed"),
    ]
    assert all(detail.endswith(f"patient {ref}") for _, _, detail in audited)
    assert not any("0101401234" in detail for _, _, detail in audited)


def test_closing_needs_a_result_and_a_holder_can_give_the_task_back(
    app: Flask, session: Session, unanswered: int
) -> None:
    kard = as_(app, "kard")
    post(kard, f"/followup/{unanswered}/close", {"result": "made up"})
    assert "Ikke gemt: vælg hvad opkaldet førte til" in kard.get(f"/followup/{unanswered}").get_data(
        as_text=True
    )
    post(kard, f"/followup/{unanswered}/claim")
    post(kard, f"/followup/{unanswered}/release")
    session.rollback()
    task = session.get(FollowUp, unanswered)
    assert task is not None and task.claimed_by_id is None and task.closed_at is None


def test_an_overdue_task_stands_out_and_comes_first(
    app: Flask, session: Session, unanswered: int, clock: Clock
) -> None:
    clock.set("2026-11-23T11:30:00+01:00")
    play_call(app, VALBY, ScriptedPhone(["0101401234", "1"]))
    page = as_(app, "kard").get("/followup").get_data(as_text=True)
    tasks = re.findall(r'<li class="task( overdue)?">', page)
    assert tasks == [" overdue", ""]  # the hour-old call first, in red
    assert "1 forsinket" in page


def test_a_stored_voice_message_is_played_on_the_task_page(
    app: Flask, session: Session, unanswered: int, clock: Clock
) -> None:
    task = session.get(FollowUp, unanswered)
    assert task is not None
    session.add(
        VoiceMessage(
            contact_id=task.contact_id,
            recording_sid="RE" + "1" * 32,
            recorded_at=clock.now,
            seconds=23,
            audio_encrypted=b"x",
            stored_at=clock.now,
        )
    )
    session.commit()
    client = as_(app, "kard")
    assert f'<audio controls preload="none" src="/followup/{unanswered}/message">' in client.get(
        f"/followup/{unanswered}"
    ).get_data(as_text=True)
    assert "talebesked" in client.get("/followup").get_data(as_text=True)


def test_the_department_records_what_a_connected_call_led_to_in_the_contact_log(
    app: Flask, session: Session, unanswered: int
) -> None:
    play_call(app, VALBY, ScriptedPhone(["0101401234", "1"], {ANNA: "1"}))
    session.expire_all()
    connected = session.scalars(select(Contact).where(Contact.outcome == "connected")).one()
    unanswered_contact = session.get(FollowUp, unanswered).contact  # type: ignore[union-attr]
    kard = as_(app, "kard")
    page = kard.get("/contacts").get_data(as_text=True)
    assert page.count('class="inline result-form"') == 1  # only the connected call
    back = post(
        kard,
        f"/contacts/{connected.id}/result",
        {"result": "video_consultation", "next": "/contacts"},
        "/contacts",
    )
    assert back.endswith("/contacts")
    assert 'value="video_consultation" selected' in kard.get("/contacts").get_data(as_text=True)
    assert post(as_(app, "ger"), f"/contacts/{connected.id}/result", {"result": "advice"}, "/contacts").count(
        "404"
    )
    assert post(kard, f"/contacts/{unanswered_contact.id}/result", {"result": "advice"}, "/contacts").count(
        "404"
    )
    session.rollback()
    assert session.get(Contact, connected.id).result == "video_consultation"  # type: ignore[union-attr]
    ((actor, action, detail),) = events(session, f"contact {connected.id}")
    assert (actor, action) == ("kard@rh.dk", "change") and detail.startswith(
        "RH-KARD: led to video_consultation"
    )


def test_the_audit_log_is_searched_per_patient_by_cpr_number_in_a_form(
    app: Flask, session: Session, unanswered: int
) -> None:
    as_(app, "kard").get(f"/followup/{unanswered}")
    kard = as_(app, "kard")
    kard.get("/patients")
    stay_page = kard.get("/patients/1")
    assert stay_page.status_code == 200
    admin = as_(app, "admin")
    found = admin.post(
        "/audit/patient", data={"cpr": "010140-1234", "csrf_token": csrf_token(admin, "/audit/patient")}
    )
    page = found.get_data(as_text=True)
    assert found.status_code == 200
    assert "0101401234" not in page and "010140-1234" not in page
    assert page.count("kard@rh.dk") == 2  # the task's page and the stay's page
    assert f"follow-up {unanswered}" in page and "stay 1" in page
    session.rollback()
    (search,) = session.scalars(select(AuditEvent).where(AuditEvent.target == "patient audit search")).all()
    assert search.actor == "admin@x.dk" and "1234" not in search.detail and "P-" in search.detail
    refused = admin.post(
        "/audit/patient", data={"cpr": "123", "csrf_token": csrf_token(admin, "/audit/patient")}
    )
    assert refused.status_code == 422
    assert as_(app, "kard").get("/audit/patient").status_code == 403


def test_the_overdue_time_is_configuration(app: Flask) -> None:
    assert app.config["FOLLOW_UPS"].overdue == timedelta(minutes=60)


def test_the_api_lists_the_tasks_with_the_patient_masked_and_the_view_audited(
    app: Flask, session: Session, unanswered: int
) -> None:
    from app.services.tokens import add_token
    from app.values.times import parse_time

    token = add_token(session, "Omstilling", ["read"], parse_time("2026-11-23T09:00"))[1]
    session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    body = client.get("/api/v1/followups?department=RH-KARD", headers=headers).get_json()
    assert body["total"] == 1
    (item,) = body["items"]
    assert (item["id"], item["department"], item["callback_number"], item["patient_born"]) == (
        unanswered,
        "RH-KARD",
        VALBY,
        "010140-xxxx",
    )
    assert item["caller_organisation"] == "Hjemmesygeplejen Valby" and item["claimed_by"] is None
    assert item["link"] == f"http://localhost/followup/{unanswered}" and "0101401234" not in str(body)
    assert client.get("/api/v1/followups?status=closed", headers=headers).get_json()["total"] == 0
    assert client.get("/api/v1/followups?department=BFH-GER", headers=headers).get_json()["total"] == 0
    assert client.get("/api/v1/followups?status=maybe", headers=headers).status_code == 422
    session.rollback()
    (event,) = session.scalars(select(AuditEvent).where(AuditEvent.target == "follow-up list").limit(1))
    assert event.actor == "API token Omstilling" and "patient P-" in event.detail
