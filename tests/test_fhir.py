"""MedCom's FHIR HospitalNotification: the reader, the endpoint, and the calls that follow each message."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.api import fhir as fhir_api
from app.api.fhir import FHIR_JSON
from app.data.models import AuditEvent, Contact, Department, Discharge, StayMessage
from app.intake.fhir import CPR_SYSTEM, SOR_SYSTEM, X_ECPR_SYSTEM, NotificationProblems, read_notification
from app.intake.stays import EventKind, Source, StayEvent
from app.intake.table import Problems
from app.services.tokens import add_token
from app.values.times import parse_time
from ivr.simulator import ScriptedPhone, play_call
from tests import factories as f
from tests.support import AFTER_HOURS, Clock

CPR = "0101401234"
REPLACEMENT_CPR = "0101407AB1"  # an X-eCPR: birth date, 7, two letters, a digit
CARDIOLOGY_WARD = "265161000016000"  # the ward's SOR id: RH-KARD's
SOR_MAP = {CARDIOLOGY_WARD: "RH-KARD", "265161000016001": "RH-KARD", "953741000016009": "RH-LUNG"}
EVENTS = "http://medcomfhir.dk/fhir/dk-medcom-terminology/CodeSystem/medcom-messaging-eventCodes"
ACTIVITIES = "http://medcomfhir.dk/fhir/dk-medcom-terminology/CodeSystem/medcom-messaging-activityCodes"
ADMITTED = "2026-11-20T09:15:00+01:00"
DISCHARGED = "2026-11-22T11:00:00+01:00"


def notification(
    activity: str,
    *,
    message_id: str = "mh-1",
    encounter_class: str = "IMP",
    status: str = "in-progress",
    start: str = ADMITTED,
    end: str | None = None,
    cpr: str = CPR,
    cpr_system: str = CPR_SYSTEM,
    sor: str = CARDIOLOGY_WARD,
    deceased: bool | str | None = None,
    history: tuple[str, ...] = (),
    leave: tuple[str, str | None] | None = None,
    occurred: str = "2026-11-22T11:05:00+01:00",
) -> dict[str, Any]:
    """Return a HospitalNotification message as a hospital sends it, trimmed to what the reader reads.

    `history` are the activities of the stay's earlier Provenances, which target earlier messages.
    """
    encounter: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": f"enc-{message_id}",
        "status": status,
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": encounter_class},
        "subject": {"reference": "Patient/pat-1"},
        "episodeOfCare": [{"identifier": {"value": "urn:uuid:stay-0001"}}],
        "period": {"start": start, **({"end": end} if end else {})},
        "serviceProvider": {"reference": "Organization/org-ward"},
    }
    if leave is not None:
        encounter["extension"] = [
            {
                "url": "http://medcomfhir.dk/ig/hospitalnotification/StructureDefinition/"
                "medcom-hospitalNotification-leave-period-extension",
                "valuePeriod": {"start": leave[0], **({"end": leave[1]} if leave[1] else {})},
            }
        ]
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": "pat-1",
        "identifier": [{"system": cpr_system, "value": cpr}],
        "name": [{"family": "Jensen", "given": ["Karen"]}],
    }
    if isinstance(deceased, bool):
        patient["deceasedBoolean"] = deceased
    elif deceased:
        patient["deceasedDateTime"] = deceased
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": f"MessageHeader/{message_id}",
            "resource": {
                "resourceType": "MessageHeader",
                "id": message_id,
                "eventCoding": {"system": EVENTS, "code": "hospital-notification-message"},
                "destination": [
                    {
                        "endpoint": "https://sor2.sum.dsdn.dk/#id=825961000016003",
                        "receiver": {"reference": "Organization/org-municipality"},
                    }
                ],
                "sender": {"reference": "Organization/org-hospital"},
                "source": {"endpoint": "https://sor2.sum.dsdn.dk/#id=265161000016000"},
                "focus": [{"reference": f"Encounter/enc-{message_id}"}],
            },
        },
        {"fullUrl": "Patient/pat-1", "resource": patient},
        {"fullUrl": f"Encounter/enc-{message_id}", "resource": encounter},
        _organisation("org-ward", "Hjertemedicinsk Klinik, sengeafsnit", sor),
        _organisation("org-hospital", "Rigshospitalet", "265161000016999"),
        _organisation("org-municipality", "Københavns Kommune", "825961000016003"),
    ]
    for number, earlier in enumerate(history, start=1):
        entries.append(_provenance(f"prov-{number}", earlier, f"MessageHeader/earlier-{number}", ADMITTED))
    entries.append(_provenance("prov-now", activity, f"MessageHeader/{message_id}", occurred))
    return {"resourceType": "Bundle", "id": f"bundle-{message_id}", "type": "message", "entry": entries}


def _organisation(ident: str, name: str, sor: str) -> dict[str, Any]:
    return {
        "fullUrl": f"Organization/{ident}",
        "resource": {
            "resourceType": "Organization",
            "id": ident,
            "identifier": [
                {"system": SOR_SYSTEM, "value": sor},
                {"system": "urn:oid:1.3.88", "value": "5790001382445"},
            ],
            "name": name,
        },
    }


def _provenance(ident: str, activity: str, target: str, occurred: str) -> dict[str, Any]:
    return {
        "fullUrl": f"Provenance/{ident}",
        "resource": {
            "resourceType": "Provenance",
            "id": ident,
            "target": [{"reference": target}],
            "occurredDateTime": occurred,
            "recorded": occurred,
            "activity": {"coding": [{"system": ACTIVITIES, "code": activity}]},
            "agent": [{"who": {"reference": "Organization/org-hospital"}}],
        },
    }


def read(bundle: dict[str, Any] | bytes) -> tuple[list[StayEvent], NotificationProblems]:
    problems = NotificationProblems()
    events = read_notification(bundle, SOR_MAP, problems)
    return events, problems


def at(text: str) -> datetime:
    return parse_time(text)


# -- the reader ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bundle", "kind", "moment"),
    (
        (notification("admit-inpatient"), EventKind.ADMIT, ADMITTED),
        (notification("admit-emergency", encounter_class="EMER"), EventKind.EMERGENCY, ADMITTED),
        (
            notification(
                "start-leave-inpatient", status="onleave", leave=("2026-11-21T14:00:00+01:00", None)
            ),
            EventKind.LEAVE_START,
            "2026-11-21T14:00:00+01:00",
        ),
        (
            notification(
                "end-leave-inpatient",
                leave=("2026-11-21T14:00:00+01:00", "2026-11-21T19:30:00+01:00"),
                history=("admit-inpatient", "start-leave-inpatient"),
            ),
            EventKind.LEAVE_END,
            "2026-11-21T19:30:00+01:00",
        ),
        (
            notification("discharge-inpatient-home", status="finished", end=DISCHARGED),
            EventKind.DISCHARGE,
            DISCHARGED,
        ),
        (
            notification(
                "discharge-emergency-home", encounter_class="EMER", status="finished", end=DISCHARGED
            ),
            EventKind.DISCHARGE,
            DISCHARGED,
        ),
    ),
    ids=[
        "admit-inpatient",
        "admit-emergency",
        "start-leave",
        "end-leave",
        "discharge-inpatient",
        "discharge-emergency",
    ],
)
def test_each_activity_is_one_event_of_the_stay_at_the_responsible_department(
    bundle: dict[str, Any], kind: EventKind, moment: str
) -> None:
    events, problems = read(bundle)
    assert problems.lines() == []
    assert [(e.kind, e.at) for e in events] == [(kind, at(moment))]
    event = events[0]
    assert (event.source, event.cpr, event.stay_id, event.department) == (
        Source.FHIR,
        CPR,
        "urn:uuid:stay-0001",
        "RH-KARD",
    )
    assert (event.message_id, event.admitted_at, event.municipality) == (
        "mh-1",
        at(ADMITTED),
        "Københavns Kommune",
    )


def test_a_notified_discharge_does_not_say_the_patient_is_in_the_target_group() -> None:
    events, _ = read(notification("discharge-inpatient-home", status="finished", end=DISCHARGED))
    assert (events[0].target_group, events[0].destination, events[0].discharged_at) == (
        None,
        None,
        at(DISCHARGED),
    )


@pytest.mark.parametrize(
    ("deceased", "moment"),
    ((True, DISCHARGED), ("2026-11-22T04:10:00+01:00", "2026-11-22T04:10:00+01:00")),
    ids=["deceased-boolean", "deceased-time"],
)
def test_a_discharge_of_a_deceased_patient_is_a_death(deceased: bool | str, moment: str) -> None:
    events, problems = read(
        notification("discharge-inpatient-home", status="finished", end=DISCHARGED, deceased=deceased)
    )
    assert problems.lines() == []
    assert [(e.kind, e.at, e.department) for e in events] == [(EventKind.DEATH, at(moment), "RH-KARD")]


@pytest.mark.parametrize(
    ("activity", "cancels"),
    (
        ("cancel-discharge-inpatient-home", EventKind.DISCHARGE),
        ("cancel-admit-inpatient", EventKind.ADMIT),
        ("cancel-admit-emergency", EventKind.EMERGENCY),
        ("cancel-start-leave-inpatient", EventKind.LEAVE_START),
    ),
)
def test_a_cancellation_undoes_the_event_it_names(activity: str, cancels: EventKind) -> None:
    events, problems = read(notification(activity, status="entered-in-error", history=("admit-inpatient",)))
    assert problems.lines() == []
    assert [(e.kind, e.cancels, e.stay_id) for e in events] == [
        (EventKind.CANCEL, cancels, "urn:uuid:stay-0001")
    ]


def test_a_revision_that_moves_the_discharge_time_updates_the_stay() -> None:
    later = "2026-11-22T15:45:00+01:00"
    events, problems = read(
        notification(
            "revise-discharge-inpatient-home",
            status="finished",
            end=later,
            history=("admit-inpatient", "discharge-inpatient-home"),
        )
    )
    assert problems.lines() == []
    assert [(e.kind, e.at, e.discharged_at, e.cancels) for e in events] == [
        (EventKind.UPDATE, at(later), at(later), None)
    ]


def test_only_the_provenance_that_targets_this_message_header_is_the_event() -> None:
    # The discharge message carries the admission's and the leave's Provenances as history.
    bundle = notification(
        "discharge-inpatient-home",
        status="finished",
        end=DISCHARGED,
        history=("admit-inpatient", "start-leave-inpatient", "end-leave-inpatient"),
    )
    events, _ = read(bundle)
    assert [e.kind for e in events] == [EventKind.DISCHARGE]


def test_a_replacement_cpr_number_is_accepted_under_its_own_system() -> None:
    events, problems = read(notification("admit-inpatient", cpr=REPLACEMENT_CPR, cpr_system=X_ECPR_SYSTEM))
    assert problems.lines() == []
    assert events[0].cpr == REPLACEMENT_CPR


def test_the_bytes_the_sender_posted_are_read_as_its_json() -> None:
    events, _ = read(json.dumps(notification("admit-inpatient")).encode())
    assert [e.kind for e in events] == [EventKind.ADMIT]


def _without_target(bundle: dict[str, Any]) -> dict[str, Any]:
    bundle["entry"][-1]["resource"]["target"] = [{"reference": "MessageHeader/some-earlier-message"}]
    return bundle


def _with(bundle: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(bundle)
    node = changed
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return changed


ADMISSION = notification("admit-inpatient")
BAD = (
    pytest.param(
        notification("admit-inpatient", sor="265161000099999"),
        "Bundle.entry[2].resource.serviceProvider",
        "not-found",
        "SOR id 265161000099999 is not any department's: add it to the department's sor_ids",
        id="unmapped-sor-id",
    ),
    pytest.param(
        _with(ADMISSION, ("type",), "collection"),
        "Bundle.type",
        "value",
        "must be message",
        id="not-a-message",
    ),
    pytest.param(
        _with(ADMISSION, ("entry", 2, "resource", "period", "start"), "yesterday"),
        "Bundle.entry[2].resource.period.start",
        "structure",
        "not valid FHIR R4",
        id="invalid-fhir",
    ),
    pytest.param(
        notification("transfer-inpatient"),
        "Bundle.entry[6].resource.activity.coding[0].code",
        "code-invalid",
        "unknown HospitalNotification activity 'transfer-inpatient'",
        id="unknown-activity",
    ),
    pytest.param(
        _without_target(notification("admit-inpatient")),
        "Bundle.entry",
        "required",
        "no Provenance targets this bundle's MessageHeader",
        id="no-provenance-targets-the-header",
    ),
    pytest.param(
        _with(ADMISSION, ("entry", 0, "resource", "eventCoding", "code"), "care-communication-message"),
        "Bundle.entry[0].resource.eventCoding",
        "not-supported",
        "the event must be hospital-notification-message",
        id="not-a-hospital-notification",
    ),
    pytest.param(
        notification("admit-inpatient", encounter_class="AMB"),
        "Bundle.entry[2].resource.class",
        "code-invalid",
        "must be IMP (inpatient) or EMER (emergency), not 'AMB'",
        id="outpatient-class",
    ),
    pytest.param(
        notification("discharge-inpatient-home", status="finished"),
        "Bundle.entry[2].resource.period.end",
        "required",
        "a discharge needs the Encounter's end",
        id="discharge-without-end",
    ),
    pytest.param(
        notification("admit-inpatient", cpr="3102401234"),
        "Bundle.entry[1].resource.identifier[0].value",
        "value",
        "the CPR number does not hold a real birth date",
        id="cpr-without-a-real-date",
    ),
    pytest.param(
        notification("admit-inpatient", cpr=REPLACEMENT_CPR),
        "Bundle.entry[1].resource.identifier[0].system",
        "value",
        "a replacement CPR number (with letters) goes under",
        id="replacement-cpr-under-the-cpr-system",
    ),
    pytest.param(
        notification("admit-inpatient", cpr_system="urn:oid:1.2.3"),
        "Bundle.entry[1].resource.identifier",
        "required",
        "the Patient needs a CPR number",
        id="no-cpr-identifier",
    ),
    pytest.param(
        _with(ADMISSION, ("entry", 3, "resource", "resourceType"), "Organisation"),
        "Bundle.entry[3].resource.resourceType",
        "structure",
        "'Organisation' is not a FHIR R4 resource type",
        id="unknown-resource-type",
    ),
    pytest.param(
        b'{"resourceType": "Bundle", "type": "message", ',
        "Bundle",
        "structure",
        "not JSON",
        id="not-json",
    ),
)


@pytest.mark.parametrize(("bundle", "expression", "code", "message"), BAD)
def test_a_bad_notification_is_one_precise_problem_at_its_element_and_no_event(
    bundle: dict[str, Any] | bytes, expression: str, code: str, message: str
) -> None:
    events, problems = read(bundle)
    assert events == []
    assert [(i.expression, i.code) for i in problems.issues] == [(expression, code)]
    assert message in problems.issues[0].diagnostics
    assert CPR not in " ".join(problems.lines()) and REPLACEMENT_CPR not in " ".join(problems.lines())


def test_a_plain_problems_list_gets_the_same_problems_as_lines() -> None:
    problems = Problems("notification")
    assert read_notification(notification("admit-inpatient", sor="1"), SOR_MAP, problems) == []
    assert problems.lines() == [
        "notification: Bundle.entry[2].resource.serviceProvider: SOR id 1 is not any department's: add it to "
        "the department's sor_ids (departments.csv) and send the message again"
    ]


# -- the endpoint ----------------------------------------------------------------------------

ANNA, BO = "+4540101001", "+4540101002"
NURSE = "+4532501010"
BUNDLE_PATH, PROCESS_PATH = "/api/v1/fhir/Bundle", "/api/v1/fhir/$process-message"


@pytest.fixture
def hospital(app: Flask, session: Session) -> dict[str, str]:
    """RH-KARD with its wards' SOR ids and a Monday rota, a home nurse, and the EPIC system's tokens."""
    cardiology = f.department(session, sor_ids=f"{CARDIOLOGY_WARD} 265161000016001")
    f.department(session, "RH-LUNG", name="Lungemedicinsk Klinik", sor_ids="953741000016009")
    f.caller(session)
    f.shift(session, cardiology, "day", "2026-11-23 08:00", "2026-11-23 15:00", ANNA, "Anna Holm")
    f.shift(session, cardiology, "oncall", "2026-11-23 15:00", "2026-11-24 08:00", BO, "Bo Jensen")
    now = parse_time("2026-11-23T09:00:00+01:00")
    made = {
        name: add_token(session, name, scopes, now)[1]
        for name, scopes in (("EPIC", ["discharges"]), ("switchboard", ["read"]))
    }
    session.commit()
    return made


def post(
    app: Flask,
    body: dict[str, Any] | bytes,
    token: str | None,
    *,
    path: str = BUNDLE_PATH,
    kind: str = FHIR_JSON,
) -> tuple[int, dict[str, Any], str]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = app.test_client().post(path, data=data, headers=headers, content_type=kind)
    return response.status_code, json.loads(response.get_data()), response.mimetype


def outcome_of(answer: dict[str, Any]) -> dict[str, Any]:
    """Return the OperationOutcome an answer carries: itself, or the acknowledgement's response.details."""
    if answer["resourceType"] == "OperationOutcome":
        return answer
    reference = answer["entry"][0]["resource"]["response"]["details"]["reference"]
    return next(e["resource"] for e in answer["entry"] if e["fullUrl"] == reference)


def response_of(answer: dict[str, Any]) -> dict[str, Any]:
    """Return the acknowledgement's MessageHeader.response, after checking it is a valid FHIR R4 message."""
    Bundle.model_validate(answer)
    assert answer["type"] == "message"
    header = answer["entry"][0]["resource"]
    assert header["resourceType"] == "MessageHeader"
    assert header["eventCoding"]["code"] == "acknowledgement-message"
    return dict(header["response"])


def stored(session: Session) -> list[tuple[str, str, str]]:
    session.rollback()  # see what the requests committed
    rows = session.scalars(select(Discharge).order_by(Discharge.id)).all()
    return [(row.external_id, row.status, row.department.code) for row in rows]


@pytest.mark.parametrize("path", [BUNDLE_PATH, PROCESS_PATH])
def test_a_notification_is_applied_and_acknowledged_ok_and_a_repeat_changes_nothing(
    app: Flask, session: Session, hospital: dict[str, str], path: str
) -> None:
    status, answer, mimetype = post(app, notification("admit-inpatient"), hospital["EPIC"], path=path)

    assert (status, mimetype) == (200, FHIR_JSON)
    assert response_of(answer) == {"identifier": "mh-1", "code": "ok"}
    assert stored(session) == [("urn:uuid:stay-0001", "admitted", "RH-KARD")]

    again = post(app, notification("admit-inpatient"), hospital["EPIC"], path=path)
    assert again == (status, answer, mimetype)
    assert stored(session) == [("urn:uuid:stay-0001", "admitted", "RH-KARD")]


def test_a_stay_follows_its_messages_a_revision_moves_the_discharge_and_a_cancellation_undoes_it(
    app: Flask, session: Session, hospital: dict[str, str]
) -> None:
    later = "2026-11-22T15:45:00+01:00"
    steps = [
        (notification("admit-inpatient", message_id="mh-1"), ("admitted", None)),
        (
            notification("discharge-inpatient-home", message_id="mh-2", status="finished", end=DISCHARGED),
            ("discharged", at(DISCHARGED)),
        ),
        (
            notification("revise-discharge-inpatient-home", message_id="mh-3", status="finished", end=later),
            ("discharged", at(later)),
        ),
        (
            notification("cancel-discharge-inpatient-home", message_id="mh-4", status="in-progress"),
            ("admitted", None),
        ),
    ]
    for bundle, expected in steps:
        status, answer, _ = post(app, bundle, hospital["EPIC"])
        assert (status, response_of(answer)["code"]) == (200, "ok")
        session.rollback()  # see what the request committed
        stay = session.scalars(select(Discharge)).one()
        assert (stay.status, stay.discharged_at, stay.target_group) == (*expected, None)


def test_a_cancellation_of_a_stay_never_reported_is_refused_and_nothing_is_stored(
    app: Flask, session: Session, hospital: dict[str, str]
) -> None:
    status, answer, _ = post(
        app, notification("cancel-admit-inpatient", status="entered-in-error"), hospital["EPIC"]
    )

    assert (status, response_of(answer)["code"]) == (422, "fatal-error")
    issue = outcome_of(answer)["issue"][0]
    assert (issue["code"], issue["expression"]) == ("business-rule", ["Bundle"])
    assert "no stay 'urn:uuid:stay-0001' to cancel" in issue["diagnostics"]
    assert stored(session) == []


def test_a_database_that_does_not_answer_is_a_transient_error_to_send_again(
    app: Flask, session: Session, hospital: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(*args: object, **kwargs: object) -> None:
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(fhir_api, "receive_notification", unreachable)
    response = app.test_client().post(
        BUNDLE_PATH,
        data=json.dumps(notification("admit-inpatient")),
        headers={"Authorization": f"Bearer {hospital['EPIC']}"},
        content_type=FHIR_JSON,
    )

    assert (response.status_code, response.headers["Retry-After"]) == (503, "60")
    answer = json.loads(response.get_data())
    assert response_of(answer)["code"] == "transient-error"
    assert [i["code"] for i in outcome_of(answer)["issue"]] == ["transient"]


def test_an_oversized_body_is_refused_unread(app: Flask, session: Session, hospital: dict[str, str]) -> None:
    huge = notification("admit-inpatient")
    huge["entry"][1]["resource"]["name"][0]["text"] = "x" * (1024 * 1024)

    status, answer, mimetype = post(app, huge, hospital["EPIC"])

    assert (status, mimetype, answer["issue"][0]["code"]) == (413, FHIR_JSON, "too-long")
    assert stored(session) == []


def test_the_acknowledgement_is_sent_back_to_the_messages_source(
    app: Flask, hospital: dict[str, str]
) -> None:
    _, answer, _ = post(app, notification("admit-inpatient"), hospital["EPIC"])
    header = answer["entry"][0]["resource"]
    assert header["destination"] == [{"endpoint": "https://sor2.sum.dsdn.dk/#id=265161000016000"}]
    assert header["source"]["endpoint"] == "http://localhost/api/v1/fhir"


@pytest.mark.parametrize(("bundle", "expression", "code", "message"), BAD)
def test_a_bad_notification_is_refused_with_its_element_and_nothing_is_stored(
    app: Flask,
    session: Session,
    hospital: dict[str, str],
    bundle: Any,
    expression: str,
    code: str,
    message: str,
) -> None:
    status, answer, mimetype = post(app, bundle, hospital["EPIC"])

    identifiable = isinstance(bundle, dict)
    assert (status, mimetype) == ((422, FHIR_JSON) if identifiable else (400, FHIR_JSON))
    if identifiable:
        assert response_of(answer) == {
            "identifier": "mh-1",
            "code": "fatal-error",
            "details": {"reference": f"urn:uuid:{outcome_of(answer)['id']}"},
        }
    issues = outcome_of(answer)["issue"]
    assert [(i["severity"], i["code"], i.get("expression", [expression])) for i in issues] == [
        ("error", code, [expression])
    ]
    assert message in issues[0]["diagnostics"]
    assert CPR not in json.dumps(answer)
    assert stored(session) == []
    assert session.scalar(select(func.count()).select_from(StayMessage)) == 0


@pytest.mark.parametrize(
    ("token", "kind", "status", "code"),
    [
        (None, FHIR_JSON, 401, "login"),
        ("switchboard", FHIR_JSON, 403, "forbidden"),
        ("EPIC", "text/plain", 415, "not-supported"),
    ],
    ids=["no-token", "read-scope-only", "not-json"],
)
def test_a_request_that_is_not_let_in_gets_an_operation_outcome(
    app: Flask,
    session: Session,
    hospital: dict[str, str],
    token: str | None,
    kind: str,
    status: int,
    code: str,
) -> None:
    answer = post(app, notification("admit-inpatient"), hospital.get(token or "", None), kind=kind)
    assert (answer[0], answer[2], [i["code"] for i in answer[1]["issue"]]) == (status, FHIR_JSON, [code])
    assert stored(session) == []


def test_an_applied_notification_is_audited_without_the_cpr_number(
    app: Flask, session: Session, hospital: dict[str, str]
) -> None:
    post(app, notification("admit-inpatient"), hospital["EPIC"])
    post(app, notification("admit-inpatient", sor="1", message_id="mh-2"), hospital["EPIC"])

    events = session.scalars(
        select(AuditEvent).where(AuditEvent.actor == "API token EPIC").order_by(AuditEvent.id)
    ).all()
    assert [(e.action, e.target, e.detail) for e in events] == [
        ("change", "stay urn:uuid:stay-0001", "HospitalNotification mh-1: admit RH-KARD"),
        (
            "change",
            "HospitalNotification mh-2",
            "refused: Bundle.entry[2].resource.serviceProvider: SOR id 1 is not any department's: "
            "add it to the department's sor_ids (departments.csv) and send the message again",
        ),
    ]


def test_the_openapi_document_lists_the_fhir_endpoints(app: Flask) -> None:
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/fhir/Bundle", "/api/v1/fhir/$process-message"):
        operation = spec["paths"][path]["post"]
        assert set(operation["requestBody"]["content"]) == {FHIR_JSON, "application/json"}
        assert {"200", "400", "422", "503"} <= set(operation["responses"])
        assert operation["security"] == [{"bearer": []}]


# -- calls after each message ----------------------------------------------------------------


def call(app: Flask, clock: Clock, moment: str) -> tuple[str, list[str]]:
    """Ring the line as the home nurse about the patient at `moment`; return the route and who was rung."""
    clock.set(moment)
    play_call(app, NURSE, ScriptedPhone([CPR, "1"]))
    session = app.extensions["linje72.sessions"]()
    try:
        contact = session.scalars(select(Contact).order_by(Contact.id.desc())).first()
        assert contact is not None
        return contact.route, [attempt.number for attempt in contact.attempts]
    finally:
        session.close()


def test_a_notified_discharge_alone_opens_no_window_the_call_goes_to_the_after_hours_line(
    app: Flask, clock: Clock, hospital: dict[str, str]
) -> None:
    bundle = notification("discharge-inpatient-home", status="finished", end="2026-11-23T08:00:00+01:00")
    assert post(app, bundle, hospital["EPIC"])[0] == 200

    route, rung = call(app, clock, "2026-11-23T10:00:00+01:00")

    assert (route, rung[0]) == ("no_responsibility", AFTER_HOURS)


def test_an_admission_routes_inpatient_to_the_admitting_department_and_a_death_ends_it(
    app: Flask, clock: Clock, hospital: dict[str, str]
) -> None:
    assert post(app, notification("admit-inpatient"), hospital["EPIC"])[0] == 200
    route, rung = call(app, clock, "2026-11-23T10:00:00+01:00")
    assert (route, rung[:2]) == ("inpatient", [ANNA, "+4531102001"])

    died = notification(
        "discharge-inpatient-home",
        message_id="mh-2",
        status="finished",
        end="2026-11-23T11:00:00+01:00",
        deceased="2026-11-23T10:40:00+01:00",
        history=("admit-inpatient",),
    )
    assert post(app, died, hospital["EPIC"])[0] == 200
    route, rung = call(app, clock, "2026-11-23T12:00:00+01:00")
    assert (route, rung[0]) == ("no_responsibility", AFTER_HOURS)


def test_a_death_ends_a_discharging_departments_responsibility(
    app: Flask, session: Session, clock: Clock, hospital: dict[str, str]
) -> None:
    # A discharge to a nursing home from the hospital's own feed opened the window on Saturday.
    cardiology = session.scalars(select(Department).where(Department.code == "RH-KARD")).one()
    f.discharge(app, session, cardiology, "2026-11-21T10:30:00+01:00")
    session.commit()
    assert call(app, clock, "2026-11-23T10:00:00+01:00")[0] == "responsibility"

    died = notification("admit-emergency", encounter_class="EMER", deceased="2026-11-23T10:40:00+01:00")
    assert post(app, died, hospital["EPIC"])[0] == 200

    assert call(app, clock, "2026-11-23T12:00:00+01:00")[0] == "no_responsibility"
