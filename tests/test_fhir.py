"""MedCom's FHIR HospitalNotification: the reader, the endpoint, and the calls that follow each message."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from typing import Any

import pytest

from app.intake.fhir import CPR_SYSTEM, SOR_SYSTEM, X_ECPR_SYSTEM, NotificationProblems, read_notification
from app.intake.stays import EventKind, Source, StayEvent
from app.intake.table import Problems
from app.values.times import parse_time

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
