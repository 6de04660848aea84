"""Keep the one model of a patient's stay up to date from every feed.

The discharges file, the REST API, HL7 v2 ADT and FHIR HospitalNotifications are read
into `StayEvent`s (app.intake); this service applies them to the stored stays
(`Discharge` rows) and patients, all or nothing. The routing reads the result: in
hospital now (route inpatient), discharged (a window when in the target group),
cancelled (as if never reported), or dead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.data import queries
from app.data.models import Agreement, Department, Discharge, Patient, StayMessage
from app.intake.stays import EventKind, StayEvent
from app.values.cpr import CprVault
from routing.decision import TARGET_DESTINATIONS

ADMITTED, ON_LEAVE, DISCHARGED, CANCELLED = "admitted", "on_leave", "discharged", "cancelled"


class StayRefused(ValueError):
    """An event that cannot be applied; the message names the event and what is wrong (no CPR).

    A refusal of one field of the event names it (`field`, in the discharges file's names)
    with what is wrong (`reason`), and `index`, the event's place in the batch, so that each
    feed can point at the record and field in its own terms (a JSON path, PID-11, a row).
    """

    def __init__(self, message: str, *, field: str = "", reason: str = "") -> None:
        super().__init__(message)
        self.field = field
        self.reason = reason or message
        self.index: int | None = None


@dataclass
class StayResult:
    """What applying a message or a batch did."""

    added: int = 0  # stays new to us
    updated: int = 0  # stays changed
    unchanged: int = 0  # events that changed nothing (a repeat with the same content)
    repeated: bool = False  # the whole message was applied before (same source and id)
    lines: list[str] = field(default_factory=list)  # what happened, for the log and the sender
    outcomes: list[str] = field(default_factory=list)  # per event: added, updated or unchanged

    @property
    def count(self) -> int:
        return self.added + self.updated + self.unchanged


def apply_events(session: Session, vault: CprVault, events: Sequence[StayEvent], now: datetime) -> StayResult:
    """Apply `events` in order (flush only; the caller's transaction makes them one).

    Events with a `message_id` are one message: when the same source sent that id before,
    nothing is applied again (`repeated`). Raises StayRefused for an event that cannot be
    applied; the caller rolls back, so nothing of the batch is stored.
    """
    result = StayResult()
    messages = sorted({(e.source.value, e.message_id) for e in events if e.message_id})
    seen = {message for message in messages if _seen(session, *message)}
    if messages and len(seen) == len(messages):
        result.repeated = True
        result.lines.append("already applied: nothing changed")
        return result
    departments = queries.departments_by_code(session, {e.department for e in events if e.department})
    stays = _known_stays(session, events)
    limited = _residency_limited(session) if any(e.kind is EventKind.DISCHARGE for e in events) else set()
    for index, event in enumerate(events):
        before = (result.added, result.updated)
        try:
            _apply(session, vault, event, departments, now, result, stays, limited)
        except StayRefused as refused:
            refused.index = index if refused.index is None else refused.index
            raise
        if result.added > before[0]:
            result.outcomes.append("added")
        else:
            result.outcomes.append("updated" if result.updated > before[1] else "unchanged")
    for source, message_id in messages:
        if (source, message_id) not in seen:
            count = sum(1 for e in events if (e.source.value, e.message_id) == (source, message_id))
            summary = "; ".join(result.lines)[:500]
            session.add(
                StayMessage(
                    source=source, message_id=message_id[:100], received_at=now, events=count, summary=summary
                )
            )
    session.flush()
    return result


# Stays are looked up this many ids a query: one query for a batch of a thousand, not one per event.
LOOKUP_CHUNK = 1000


def _known_stays(session: Session, events: Sequence[StayEvent]) -> dict[str, Discharge]:
    """The stored stays the events name, by the hospital's id, in one query per thousand ids."""
    ids = sorted({event.stay_id for event in events})
    found: dict[str, Discharge] = {}
    for start in range(0, len(ids), LOOKUP_CHUNK):
        chunk = ids[start : start + LOOKUP_CHUNK]
        found.update(
            (stay.external_id, stay)
            for stay in session.scalars(select(Discharge).where(Discharge.external_id.in_(chunk)))
        )
    return found


def _residency_limited(session: Session) -> set[str]:
    """The codes of the agreements that cover residents of listed municipalities only."""
    rows = session.execute(select(Agreement.code, Agreement.municipalities))
    return {code for code, municipalities in rows if municipalities}


def _check_residency(
    event: StayEvent, department: Department | None, stay: Discharge | None, limited: set[str]
) -> None:
    """Refuse a discharge without a municipality where the department's agreement limits residency.

    Only a missing municipality is refused: a patient from outside the listed ones is a
    discharge like any other, which opens no window (the routing decides that). A feed
    that states only what changed (HL7, FHIR) may rely on a municipality stored before.
    """
    if department is None or department.agreement not in limited:
        return
    given = event.municipality is not None or event.complete
    if (event.municipality if given else stay.municipality if stay else None) is not None:
        return
    reason = (
        f"municipality is required: department {department.code} runs under agreement "
        f"{department.agreement}, which covers residents of listed municipalities only"
    )
    raise StayRefused(f"{_where(event)}: {reason}", field="municipality", reason=reason)


def _seen(session: Session, source: str, message_id: str) -> bool:
    query = select(StayMessage.id).where(
        StayMessage.source == source, StayMessage.message_id == message_id[:100]
    )
    return session.scalar(query) is not None


def _where(event: StayEvent) -> str:
    return event.place or f"{event.kind} of stay {event.stay_id}"


def _department(event: StayEvent, departments: dict[str, Department]) -> Department | None:
    if event.department is None:
        return None
    found = departments.get(event.department)
    if found is None:
        raise StayRefused(f"{_where(event)}: no department with code {event.department!r}")
    return found


def _known(stays: dict[str, Discharge], event: StayEvent, what: str) -> Discharge:
    stay = stays.get(event.stay_id)
    if stay is None:
        raise StayRefused(f"{_where(event)}: no stay {event.stay_id!r} to {what}")
    return stay


def _new_stay(
    session: Session,
    vault: CprVault,
    event: StayEvent,
    department: Department | None,
    result: StayResult,
    stays: dict[str, Discharge],
) -> Discharge:
    if department is None:
        raise StayRefused(f"{_where(event)}: a new stay needs its department")
    stay = Discharge(
        external_id=event.stay_id,
        cpr_lookup=vault.lookup_key(event.cpr),
        cpr_encrypted=vault.encrypt(event.cpr),
        department=department,
        source=event.source.value,
        kind="inpatient",
        status=ADMITTED,
    )
    session.add(stay)
    stays[event.stay_id] = stay
    result.added += 1
    return stay


def _set(stay: Discharge, event: StayEvent, result: StayResult, new: bool, **values: object) -> None:
    """Set the values that differ; count the stay as updated (or unchanged) once per event."""
    changed = False
    for name, value in values.items():
        if getattr(stay, name) != value:
            setattr(stay, name, value)
            changed = True
    if new:
        return
    if changed:
        result.updated += 1
    else:
        result.unchanged += 1


def _apply(
    session: Session,
    vault: CprVault,
    event: StayEvent,
    departments: dict[str, Department],
    now: datetime,
    result: StayResult,
    stays: dict[str, Discharge],
    limited: set[str],
) -> None:
    kind = event.kind
    if kind is EventKind.OUTPATIENT:
        result.unchanged += 1
        result.lines.append(f"{_where(event)}: an outpatient visit changes nothing")
        return
    if kind is EventKind.DEATH:
        patient = _patient(session, vault, event.cpr)
        if patient.deceased_at != event.at:
            patient.deceased_at = event.at
            result.updated += 1
        result.lines.append(f"{_where(event)}: died")
        return
    if kind is EventKind.MERGE:
        _merge(session, vault, event, result)
        return
    if kind is EventKind.CANCEL:
        _cancel(session, vault, event, result, stays)
        return
    department = _department(event, departments)
    stay = stays.get(event.stay_id)
    if kind is EventKind.DISCHARGE:  # checked before anything of the event is stored
        _check_residency(event, department or (stay.department if stay else None), stay, limited)
    new = stay is None
    if stay is None:
        if kind is EventKind.UPDATE and department is None:
            raise StayRefused(f"{_where(event)}: no stay {event.stay_id!r} to update")
        # An update of a stay we have not heard of (a feed switched on mid-stay) states the
        # stay as it is now: it is taken as such.
        stay = _new_stay(session, vault, event, department, result, stays)
    lookup = vault.lookup_key(event.cpr)
    if stay.cpr_lookup != lookup:  # a corrected CPR number for the same stay, or one under the previous key
        if stay.cpr_lookup in vault.lookup_keys(event.cpr):
            _move_patient(session, vault, event.cpr)  # what we know of the patient moves to the new key too
        stay.cpr_lookup, stay.cpr_encrypted = lookup, vault.encrypt(event.cpr)
    values: dict[str, object] = {}
    if department is not None:
        values["department"] = department
    if kind in (EventKind.ADMIT, EventKind.EMERGENCY):
        values.update(
            status=ADMITTED,
            kind="inpatient" if kind is EventKind.ADMIT else "emergency",
            admitted_at=event.admitted_at or event.at,
            discharged_at=None,
        )
    elif kind is EventKind.TRANSFER:
        if stay.status in (DISCHARGED, CANCELLED):
            values["status"] = ADMITTED
            values["discharged_at"] = None
    elif kind is EventKind.LEAVE_START:
        values["status"] = ON_LEAVE
    elif kind is EventKind.LEAVE_END:
        values["status"] = ADMITTED
    elif kind is EventKind.DISCHARGE:
        values.update(status=DISCHARGED, discharged_at=event.discharged_at or event.at)
        values.update(_facts(event, stay))
    elif kind is EventKind.UPDATE:
        if event.discharged_at is not None:
            values["discharged_at"] = event.discharged_at
            if new:
                values["status"] = DISCHARGED
        values.update(_facts(event, stay))
    else:  # pragma: no cover - every kind is handled above
        raise StayRefused(f"{_where(event)}: cannot apply {kind}")
    if event.admitted_at is not None or (event.complete and kind is EventKind.DISCHARGE):
        values["admitted_at"] = event.admitted_at
    before = result.updated
    _set(stay, event, result, new, **values)
    if new or result.updated > before:
        stay.updated_at = now
    result.lines.append(f"{_where(event)}: {'added' if new else stay.status}")


def _facts(event: StayEvent, stay: Discharge) -> dict[str, object]:
    """The discharge's facts the event gives; what it leaves out stays as it was."""
    values: dict[str, object] = {}
    for name in ("destination", "municipality", "gp_phone", "responsibility_until"):
        value = getattr(event, name)
        if value is not None or event.complete:
            values[name] = value
    if event.responsibility_until is None and stay.responsibility_until is not None:
        # A feed that does not know of the department's extension (forlængelse) must not undo it.
        values.pop("responsibility_until", None)
    if event.target_group is not None:
        values["target_group"] = event.target_group
    elif event.destination is not None and (stay.target_group is None or event.complete):
        # The hospital's own feed names the destination: that says whether it is in the target group.
        values["target_group"] = event.destination in TARGET_DESTINATIONS
    return values


def _cancel(
    session: Session, vault: CprVault, event: StayEvent, result: StayResult, stays: dict[str, Discharge]
) -> None:
    undone = event.cancels
    if undone is EventKind.DEATH:
        patient = _patient(session, vault, event.cpr)
        if patient.deceased_at is not None:
            patient.deceased_at = None
            result.updated += 1
        result.lines.append(f"{_where(event)}: death cancelled")
        return
    stay = _known(stays, event, "cancel")
    if undone in (EventKind.ADMIT, EventKind.EMERGENCY):
        values: dict[str, object] = {"status": CANCELLED}
    elif undone is EventKind.DISCHARGE:
        values = {"status": ADMITTED, "discharged_at": None}
    elif undone is EventKind.LEAVE_START:
        values = {"status": ADMITTED}
    elif undone is EventKind.LEAVE_END:
        values = {"status": ON_LEAVE}
    else:
        raise StayRefused(
            f"{_where(event)}: cannot cancel {undone or 'an unnamed event'} (send the correction)"
        )
    _set(stay, event, result, False, **values)
    result.lines.append(f"{_where(event)}: {undone} cancelled")


def _merge(session: Session, vault: CprVault, event: StayEvent, result: StayResult) -> None:
    if not event.merged_cpr:
        raise StayRefused(f"{_where(event)}: a merge needs the identity merged away")
    new = vault.lookup_key(event.cpr)
    # During a key rotation the merged identity's stays may still be under the old key's lookup.
    old = vault.lookup_keys(event.merged_cpr)
    moved = session.scalars(select(Discharge).where(Discharge.cpr_lookup.in_(old))).all()
    for stay in moved:
        stay.cpr_lookup, stay.cpr_encrypted = new, vault.encrypt(event.cpr)
    merged = _patient(session, vault, event.merged_cpr)
    merged.merged_into = new
    survivor = _patient(session, vault, event.cpr)
    if merged.deceased_at and not survivor.deceased_at:
        survivor.deceased_at = merged.deceased_at
    result.updated += len(moved)
    result.lines.append(f"{_where(event)}: {len(moved)} stay(s) moved to the surviving identity")


def _move_patient(session: Session, vault: CprVault, cpr: str) -> None:
    lookups = vault.lookup_keys(cpr)
    patient = queries.patient_of(session, lookups)
    if patient is not None and patient.cpr_lookup != lookups[0]:
        patient.cpr_lookup = lookups[0]


def _patient(session: Session, vault: CprVault, cpr: str) -> Patient:
    lookups = vault.lookup_keys(cpr)
    patient = queries.patient_of(session, lookups)
    if patient is None:
        patient = Patient(cpr_lookup=lookups[0])
        session.add(patient)
        session.flush()
    elif patient.cpr_lookup != lookups[0]:  # still under the previous key: move it to the current one
        patient.cpr_lookup = lookups[0]
    return patient
