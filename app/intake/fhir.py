"""Read MedCom's FHIR HospitalNotification (advis om sygehusophold) into `StayEvent`s.

A HospitalNotification is a message Bundle: the first entry a MessageHeader with the event
`hospital-notification-message` and the Encounter as its focus; a Patient; Organizations
(the responsible department by its SOR id); and Provenances whose `activity` says what
happened. A bundle carries the stay's earlier Provenances as well: the event is the one
Provenance whose `target` is this bundle's MessageHeader.

The bundle is parsed with `fhir.resources.R4B` (which reads these R4 resources). Every
problem is reported at its FHIRPath-like element (`Bundle.entry[2].resource.serviceProvider`)
and never quotes a CPR number. Pure: no database, no clock.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.messageheader import MessageHeader
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.provenance import Provenance
from pydantic import ValidationError

from app.intake.stays import EventKind, Source, StayEvent
from app.intake.table import Problems
from app.values.cpr import CprError, check_feed_cpr, redact

CPR_SYSTEM = "urn:oid:1.2.208.176.1.2"
# Replacement CPR numbers (erstatningspersonnumre): the national X-eCPR, and the regions'
# D-eCPR, whose system is this OID or a region's branch of it (.177 Zealand, .187 Capital, …).
X_ECPR_SYSTEM = "urn:oid:1.2.208.176.1.6.1.1"
D_ECPR_SYSTEM = "urn:oid:1.2.208.176.1.6.1.3"
SOR_SYSTEM = "urn:oid:1.2.208.176.1.1"
EVENT = "hospital-notification-message"
# MedCom has moved its code systems' base URL between releases (medcom.dk/fhir/medcom-core,
# medcomfhir.dk/fhir/messaging, medcomfhir.dk/fhir/dk-medcom-terminology): the code system is
# recognised by its name, the last part of the URL, so that every release in use is read.
EVENT_CODE_SYSTEM = "medcom-messaging-eventCodes"
ACTIVITY_CODE_SYSTEM = "medcom-messaging-activityCodes"
ENCOUNTER_CLASSES = {"IMP", "EMER"}
ENCOUNTER_STATUSES = {"in-progress", "onleave", "finished", "entered-in-error"}
LEAVE_PERIOD_EXTENSION = "leave-period-extension"

# The activities themselves; `revise-…` is an UPDATE of the stay's facts, `cancel-…` a CANCEL.
ACTIVITIES: dict[str, EventKind] = {
    "admit-inpatient": EventKind.ADMIT,
    "admit-emergency": EventKind.EMERGENCY,
    "start-leave-inpatient": EventKind.LEAVE_START,
    "end-leave-inpatient": EventKind.LEAVE_END,
    "discharge-inpatient-home": EventKind.DISCHARGE,
    "discharge-emergency-home": EventKind.DISCHARGE,
}


@dataclass(frozen=True)
class Issue:
    """One problem as an OperationOutcome issue: the element, the FHIR issue type, the text."""

    expression: str
    code: str  # http://hl7.org/fhir/issue-type: structure, required, value, code-invalid, not-found
    diagnostics: str


# Where a notification gives the facts the stays service may refuse, by the discharges file's
# names: the home municipality is the MessageHeader's receiver (the first entry's).
ELEMENTS = {"municipality": "Bundle.entry[0].resource.destination.receiver"}


class NotificationProblems(Problems):
    """A notification's problems, kept as FHIR issues too (for the OperationOutcome)."""

    def __init__(self, name: str = "notification") -> None:
        super().__init__(name)
        self.issues: list[Issue] = []

    def issue(self, expression: str, code: str, message: str) -> None:
        self.issues.append(Issue(expression, code, redact(message)))
        self.add(0, expression, message, place="")


@dataclass(frozen=True)
class Received:
    """What identifies a received message, for its acknowledgement: the MessageHeader's id and source."""

    message_id: str
    source_endpoint: str


def received_message(data: object) -> Received | None:
    """Return the id and source of a message's MessageHeader, read from plain JSON, or None."""
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        return None
    entries = data.get("entry")
    if not isinstance(entries, list) or not entries or not isinstance(entries[0], dict):
        return None
    header = entries[0].get("resource")
    if not isinstance(header, dict) or header.get("resourceType") != "MessageHeader":
        return None
    message_id = header.get("id")
    source = header.get("source")
    endpoint = source.get("endpoint") if isinstance(source, dict) else None
    if not isinstance(message_id, str) or not message_id.strip():
        return None
    return Received(message_id.strip(), endpoint if isinstance(endpoint, str) else "")


def read_notification(
    data: bytes | dict[str, Any], sor_map: Mapping[str, str], problems: Problems
) -> list[StayEvent]:
    """Return the events a HospitalNotification message reports; `sor_map` maps SOR ids to our departments.

    Nothing is returned when anything is wrong: each problem goes to `problems`.
    """
    raw = _json(data, problems)
    if raw is None or not _resource_types(raw, problems):
        return []
    try:
        bundle = Bundle.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            _report(
                problems, _path(("Bundle", *error["loc"])), "structure", f"not valid FHIR R4: {error['msg']}"
            )
        return []
    return _Reader(bundle, sor_map, problems).events()


def _json(data: bytes | dict[str, Any], problems: Problems) -> dict[str, Any] | None:
    if isinstance(data, dict):
        return data
    try:
        parsed = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        _report(problems, "Bundle", "structure", "not UTF-8 text")
        return None
    except json.JSONDecodeError as exc:
        _report(
            problems, "Bundle", "structure", f"not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        )
        return None
    if not isinstance(parsed, dict):
        _report(problems, "Bundle", "structure", "must be a JSON object (a FHIR resource)")
        return None
    return parsed


def _resource_types(raw: dict[str, Any], problems: Problems) -> bool:
    """Say whether the JSON is a Bundle of resources fhir.resources knows (it cannot report the others)."""
    if raw.get("resourceType") != "Bundle":
        _report(
            problems, "Bundle.resourceType", "structure", "must be Bundle (a HospitalNotification message)"
        )
        return False
    entries = raw.get("entry")
    ok = True
    for number, entry in enumerate(entries if isinstance(entries, list) else []):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        if not isinstance(kind, str):
            continue  # the model validation names what is missing
        try:
            get_fhir_model_class(kind)
        except (KeyError, ValueError):
            where = f"Bundle.entry[{number}].resource.resourceType"
            _report(problems, where, "structure", f"{kind[:40]!r} is not a FHIR R4 resource type")
            ok = False
    return ok


class _Reader:
    """One valid bundle, read element by element; each problem names its element."""

    def __init__(self, bundle: Bundle, sor_map: Mapping[str, str], problems: Problems) -> None:
        self.bundle = bundle
        self.entries = list(bundle.entry or [])
        self.sor_map = sor_map
        self.problems = problems
        self.index: dict[str, int] = {}
        for number, entry in enumerate(self.entries):
            resource = entry.resource
            if entry.fullUrl:
                self.index[entry.fullUrl] = number
            if resource is not None and resource.id:
                self.index[f"{resource.get_resource_type()}/{resource.id}"] = number

    def problem(self, expression: str, code: str, message: str) -> None:
        _report(self.problems, expression, code, message)

    def events(self) -> list[StayEvent]:
        before = len(self.problems)
        if self.bundle.type != "message":
            self.problem("Bundle.type", "value", f"must be message, not {self.bundle.type!r}")
            return []
        header = self._header()
        if header is None:
            return []
        activity = self._activity()
        patient = self._patient()
        encounter = self._encounter(header)
        if activity is None or patient is None or encounter is None or len(self.problems) > before:
            return []
        cpr = self._cpr(patient)
        stay_id = self._stay_id(encounter)
        department = self._department(encounter)
        times = self._times(encounter)
        municipality = self._municipality(header)
        if cpr is None or stay_id is None or department is None or times is None:
            return []
        if len(self.problems) > before:
            return []
        code, provenance_at = activity
        return self._to_events(
            code,
            provenance_at,
            patient,
            encounter,
            times,
            StayEvent(
                kind=EventKind.UPDATE,  # replaced below
                source=Source.FHIR,
                cpr=cpr,
                stay_id=stay_id,
                at=times[0],
                department=department,
                admitted_at=times[0],
                discharged_at=times[1],
                municipality=municipality,
                message_id=str(header[1].id),
                place=f"MessageHeader {header[1].id}",
            ),
        )

    # -- the parts -----------------------------------------------------------------------

    def _header(self) -> tuple[int, MessageHeader] | None:
        if not self.entries or self.entries[0].resource is None:
            self.problem("Bundle.entry", "required", "a message's first entry must be its MessageHeader")
            return None
        header = self.entries[0].resource
        if not isinstance(header, MessageHeader):
            self.problem(
                "Bundle.entry[0].resource",
                "structure",
                f"a message's first entry must be its MessageHeader, not a {header.get_resource_type()}",
            )
            return None
        coding = header.eventCoding
        where = "Bundle.entry[0].resource.eventCoding"
        if coding is None:
            self.problem(where, "not-supported", f"the event must be {EVENT} (a HospitalNotification)")
            return None
        if coding.code != EVENT or not _system_named(coding.system, EVENT_CODE_SYSTEM):
            self.problem(
                where,
                "not-supported",
                f"the event must be {EVENT} in MedCom's {EVENT_CODE_SYSTEM}, "
                f"not {coding.code!r} in {coding.system!r}: this endpoint takes HospitalNotifications only",
            )
            return None
        if not header.id:
            self.problem("Bundle.entry[0].resource.id", "required", "the MessageHeader needs its id")
            return None
        return 0, header

    def _activity(self) -> tuple[str, datetime | None] | None:
        """Return the activity of the Provenance that targets this MessageHeader, and when it occurred."""
        targeting = []
        for number, entry in enumerate(self.entries):
            resource = entry.resource
            if not isinstance(resource, Provenance):
                continue
            if any(self._resolve(target.reference) == 0 for target in resource.target or []):
                targeting.append((number, resource))
        if not targeting:
            self.problem(
                "Bundle.entry",
                "required",
                "no Provenance targets this bundle's MessageHeader: the message's own event is missing "
                "(the others are the stay's history)",
            )
            return None
        if len(targeting) > 1:
            others = ", ".join(f"entry[{number}]" for number, _ in targeting)
            self.problem(
                f"Bundle.entry[{targeting[1][0]}].resource.target",
                "business-rule",
                f"more than one Provenance targets this bundle's MessageHeader ({others}): "
                "which is the event?",
            )
            return None
        number, provenance = targeting[0]
        where = f"Bundle.entry[{number}].resource.activity"
        codings = [c for c in (provenance.activity.coding if provenance.activity else None) or []]
        coding = next((c for c in codings if _system_named(c.system, ACTIVITY_CODE_SYSTEM)), None)
        if coding is None or not coding.code:
            self.problem(where, "required", f"the activity needs a code from MedCom's {ACTIVITY_CODE_SYSTEM}")
            return None
        if _activity_kind(coding.code) is None:
            position = codings.index(coding)
            self.problem(
                f"{where}.coding[{position}].code",
                "code-invalid",
                f"unknown HospitalNotification activity {coding.code[:60]!r} (expected one of "
                f"{', '.join(ACTIVITIES)}, or their revise-… and cancel-… forms)",
            )
            return None
        occurred = provenance.occurredDateTime or (
            provenance.occurredPeriod.start if provenance.occurredPeriod else None
        )
        at = occurred or provenance.recorded
        return coding.code, at if isinstance(at, datetime) and at.tzinfo else None

    def _patient(self) -> tuple[int, Patient] | None:
        patients = [
            (number, entry.resource)
            for number, entry in enumerate(self.entries)
            if isinstance(entry.resource, Patient)
        ]
        if len(patients) != 1:
            self.problem(
                "Bundle.entry", "structure", f"a HospitalNotification has one Patient, not {len(patients)}"
            )
            return None
        return patients[0]

    def _encounter(self, header: tuple[int, MessageHeader]) -> tuple[int, Encounter] | None:
        focus = header[1].focus or []
        where = "Bundle.entry[0].resource.focus"
        if len(focus) != 1:
            self.problem(where, "required", "the MessageHeader's focus must be the one Encounter of the stay")
            return None
        number = self._resolve(focus[0].reference)
        resource = self.entries[number].resource if number is not None else None
        if number is None or not isinstance(resource, Encounter):
            self.problem(f"{where}[0]", "not-found", "the focus must reference an Encounter in this bundle")
            return None
        where = f"Bundle.entry[{number}].resource"
        code = resource.class_fhir.code if resource.class_fhir else None
        if code not in ENCOUNTER_CLASSES:
            self.problem(
                f"{where}.class", "code-invalid", f"must be IMP (inpatient) or EMER (emergency), not {code!r}"
            )
        if resource.status not in ENCOUNTER_STATUSES:
            self.problem(
                f"{where}.status",
                "code-invalid",
                f"must be one of {', '.join(sorted(ENCOUNTER_STATUSES))}, not {resource.status!r}",
            )
        return number, resource

    def _cpr(self, patient: tuple[int, Patient]) -> str | None:
        number, resource = patient
        identifiers = list(resource.identifier or [])
        ranked = sorted(
            (i for i, identifier in enumerate(identifiers) if _person_system(identifier.system)),
            key=lambda i: identifiers[i].system != CPR_SYSTEM,  # a real CPR number before a replacement
        )
        where = f"Bundle.entry[{number}].resource.identifier"
        if not ranked:
            self.problem(
                where,
                "required",
                f"the Patient needs a CPR number (system {CPR_SYSTEM}) or a replacement CPR number "
                f"(system {X_ECPR_SYSTEM} or {D_ECPR_SYSTEM}[.region])",
            )
            return None
        position = ranked[0]
        identifier = identifiers[position]
        try:
            value = check_feed_cpr(identifier.value or "")
        except CprError as exc:
            self.problem(f"{where}[{position}].value", "value", str(exc))
            return None
        if identifier.system == CPR_SYSTEM and not value.isdigit():
            self.problem(
                f"{where}[{position}].system",
                "value",
                f"a replacement CPR number (with letters) goes under {X_ECPR_SYSTEM} or {D_ECPR_SYSTEM}, "
                f"not the CPR system",
            )
            return None
        return value

    def _stay_id(self, encounter: tuple[int, Encounter]) -> str | None:
        """Return the stay's id: the episode of care's identifier (the whole hospitalisation in MedCom's
        profile), else the Encounter's identifier, else its id."""
        number, resource = encounter
        for reference in resource.episodeOfCare or []:
            if reference.identifier is not None and reference.identifier.value:
                return str(reference.identifier.value)
        for identifier in resource.identifier or []:
            if identifier.value:
                return str(identifier.value)
        if resource.id:
            return str(resource.id)
        self.problem(
            f"Bundle.entry[{number}].resource.episodeOfCare",
            "required",
            "the Encounter needs an episode of care identifier (or an identifier or id) to tell its stay",
        )
        return None

    def _department(self, encounter: tuple[int, Encounter]) -> str | None:
        number, resource = encounter
        where = f"Bundle.entry[{number}].resource.serviceProvider"
        reference = resource.serviceProvider.reference if resource.serviceProvider else None
        target = self._resolve(reference)
        organisation = self.entries[target].resource if target is not None else None
        if target is None or not isinstance(organisation, Organization):
            self.problem(
                where, "not-found", "must reference the responsible department's Organization in this bundle"
            )
            return None
        sor = next(
            (i.value for i in organisation.identifier or [] if i.system == SOR_SYSTEM and i.value),
            None,
        )
        if sor is None:
            self.problem(
                f"Bundle.entry[{target}].resource.identifier",
                "required",
                f"the responsible department's Organization needs its SOR id (system {SOR_SYSTEM})",
            )
            return None
        department = self.sor_map.get(sor.strip())
        if department is None:
            self.problem(
                where,
                "not-found",
                f"SOR id {sor.strip()[:20]} is not any department's: add it to the department's sor_ids "
                f"(departments.csv) and send the message again",
            )
        return department

    def _times(self, encounter: tuple[int, Encounter]) -> tuple[datetime, datetime | None] | None:
        number, resource = encounter
        where = f"Bundle.entry[{number}].resource.period"
        period = resource.period
        start = self._time(f"{where}.start", period.start if period else None, required=True)
        end = self._time(f"{where}.end", period.end if period else None)
        if start is None:
            return None
        if end is not None and end < start:
            self.problem(f"{where}.end", "value", "the stay cannot end before it starts")
            return None
        return start, end

    def _time(self, where: str, value: object, *, required: bool = False) -> datetime | None:
        if value is None:
            if required:
                self.problem(where, "required", "required, but missing")
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            self.problem(where, "value", "must be a date and time with its UTC offset")
            return None
        return value

    def _leave(self, encounter: tuple[int, Encounter]) -> tuple[datetime | None, datetime | None]:
        number, resource = encounter
        for position, extension in enumerate(resource.extension or []):
            if (extension.url or "").lower().endswith(LEAVE_PERIOD_EXTENSION) and extension.valuePeriod:
                where = f"Bundle.entry[{number}].resource.extension[{position}].valuePeriod"
                return (
                    self._time(f"{where}.start", extension.valuePeriod.start),
                    self._time(f"{where}.end", extension.valuePeriod.end),
                )
        return None, None

    def _municipality(self, header: tuple[int, MessageHeader]) -> str | None:
        """Return the home municipality the message was sent to: the receiver Organization's name."""
        for destination in header[1].destination or []:
            target = self._resolve(destination.receiver.reference if destination.receiver else None)
            organisation = self.entries[target].resource if target is not None else None
            if isinstance(organisation, Organization):
                return str(organisation.name)[:200] if organisation.name else None
        return None

    # -- the events ----------------------------------------------------------------------

    def _to_events(
        self,
        code: str,
        provenance_at: datetime | None,
        patient: tuple[int, Patient],
        encounter: tuple[int, Encounter],
        times: tuple[datetime, datetime | None],
        base: StayEvent,
    ) -> list[StayEvent]:
        start, end = times
        action, kind = _activity_kind(code) or ("", EventKind.UPDATE)
        leave_start, leave_end = self._leave(encounter)
        # When the reported thing happened: the admission's start, the leave's edges, the discharge.
        moments = {
            EventKind.ADMIT: start,
            EventKind.EMERGENCY: start,
            EventKind.LEAVE_START: leave_start or provenance_at,
            EventKind.LEAVE_END: leave_end or provenance_at,
            EventKind.DISCHARGE: end,
        }
        at = moments[kind]
        if kind is EventKind.DISCHARGE and end is None and action != "cancel":
            self.problem(
                f"Bundle.entry[{encounter[0]}].resource.period.end",
                "required",
                "a discharge needs the Encounter's end (the discharge time)",
            )
            return []
        if at is None:
            at = provenance_at or start
        died = self._death(patient, at)
        if action == "cancel":
            return [replace(base, kind=EventKind.CANCEL, cancels=kind, at=provenance_at or at)]
        if action == "revise":
            events = [replace(base, kind=EventKind.UPDATE, at=at)]
        elif kind is EventKind.DISCHARGE and died is not None:
            # MedCom reports a death as a discharge of a deceased patient: it is the death.
            return [replace(base, kind=EventKind.DEATH, at=died)]
        else:
            # A HospitalNotification goes to the home municipality for every citizen: it does
            # not say the patient is in the target group (target_group stays None).
            events = [replace(base, kind=kind, at=at)]
        if died is not None:
            events.append(replace(base, kind=EventKind.DEATH, at=died))
        return events

    def _death(self, patient: tuple[int, Patient], fallback: datetime) -> datetime | None:
        """Return when the patient died, when the Patient says so (deceased has no activity of its own)."""
        number, resource = patient
        if resource.deceasedDateTime is not None:
            value = resource.deceasedDateTime
            if isinstance(value, datetime) and value.tzinfo is not None:
                return value
            return fallback  # a date alone: the event's own time is the nearest we know
        return fallback if resource.deceasedBoolean else None

    def _resolve(self, reference: str | None) -> int | None:
        """Return the entry a reference points at: by fullUrl, `Type/id`, or an absolute URL's `Type/id`."""
        if not reference:
            return None
        if reference in self.index:
            return self.index[reference]
        tail = "/".join(reference.rstrip("/").split("/")[-2:])
        return self.index.get(tail)


def _activity_kind(code: str) -> tuple[str, EventKind] | None:
    """Return ("", kind), ("revise", kind) or ("cancel", kind) for an activity code, or None."""
    for action in ("revise", "cancel"):
        if code.startswith(f"{action}-") and code[len(action) + 1 :] in ACTIVITIES:
            return action, ACTIVITIES[code[len(action) + 1 :]]
    return ("", ACTIVITIES[code]) if code in ACTIVITIES else None


def _system_named(system: str | None, name: str) -> bool:
    return bool(system) and str(system).rstrip("/").rsplit("/", 1)[-1] == name


def _person_system(system: str | None) -> bool:
    return system in (CPR_SYSTEM, X_ECPR_SYSTEM, D_ECPR_SYSTEM) or str(system or "").startswith(
        D_ECPR_SYSTEM + "."
    )


def _path(location: tuple[object, ...]) -> str:
    """Return a validation error's location as FHIRPath: ("Bundle", "entry", 2) → Bundle.entry[2]."""
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            name = "class" if part == "class_fhir" else str(part)
            text += f".{name}" if text else name
    return text


def _report(problems: Problems, expression: str, code: str, message: str) -> None:
    if isinstance(problems, NotificationProblems):
        problems.issue(expression, code, message)
    else:
        problems.add(0, expression, message, place="")
