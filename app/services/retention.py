"""Retention: personal data kept only as long as needed; anonymous daily statistics kept for good.

Every night (and by `linje72 purge`) the scheduler
1. adds each ended call, once, to `contact_statistics` (counts and lengths by day, department,
   period, route, outcome and caller kind; no number, name or patient);
2. thins the calls that started more than the retention ago: the caller's number, the patient's
   pseudonym, CPR ciphertext and birth date, the link to the stay, the numbers and names rung;
   and deletes their voice messages (a message whose provider copy is not deleted yet loses its
   audio here, and its row once the scheduler has deleted that copy);
3. deletes the stays whose responsibility ended more than the retention ago, the patients with no
   stay left, and the patient look-ups, security events and feed messages older than that.

A call still in progress is never touched, nor a stay such a call points at. Each step works in
batches, each its own short transaction, so the call path never waits long for a lock, and a
run stopped half-way is finished by the next one. The audit log is kept (see README, "Retention").
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from app.data.models import (
    AuditEvent,
    Contact,
    ContactStatistic,
    DialAttempt,
    Discharge,
    Patient,
    PatientLookup,
    SecurityEvent,
    StayMessage,
    VoiceMessage,
)
from routing.calendar import local_date

log = logging.getLogger("linje72.retention")

BATCH = 500
Scope = Callable[[], AbstractContextManager[Session]]


@dataclass
class PurgeReport:
    """What a purge removed (or, in a dry run, would remove): counts only."""

    counted: int = 0  # ended calls added to the statistics
    contacts: int = 0  # calls whose personal data was removed
    voice_messages: int = 0  # callers' messages deleted (or their audio, until the provider's copy is gone)
    stays: int = 0
    patients: int = 0
    lookups: int = 0
    security_events: int = 0
    stay_messages: int = 0
    audit_kept: int = 0  # audit events older than the retention: kept, the accountability record

    def lines(self) -> list[tuple[str, int]]:
        return [(LABELS[f.name], getattr(self, f.name)) for f in fields(self)]


LABELS = {
    "counted": "calls added to the statistics",
    "contacts": "calls thinned (personal data removed)",
    "voice_messages": "voice messages deleted",
    "stays": "stays deleted",
    "patients": "patients deleted (no stay left)",
    "lookups": "patient look-ups deleted",
    "security_events": "security events deleted",
    "stay_messages": "feed messages deleted",
    "audit_kept": "audit events older than the retention (kept)",
}


def purge(
    scope: Scope,
    now: datetime,
    retention: timedelta,
    window: timedelta,
    *,
    dry_run: bool = False,
    batch: int = BATCH,
) -> PurgeReport:
    """Count ended calls into the statistics, then remove what is older than `retention`.

    `scope()` opens one write transaction; each batch gets its own. `window` is the
    responsibility window (a stay's responsibility ends that long after its discharge unless
    the hospital said otherwise). With `dry_run` nothing is written: the report says what would go.
    """
    cutoff = now - retention
    report = PurgeReport()
    if dry_run:
        with scope() as session:
            report.counted = _count(session, Contact, _uncounted())
            report.contacts = _count(session, Contact, _to_thin(cutoff, counted_only=False))
            report.voice_messages = _count(session, VoiceMessage, _voice_over(cutoff))
            report.stays = _count(session, Discharge, _stay_over(cutoff, window))
            report.patients = _count(
                session, Patient, _patient_over(cutoff, stays_left=_stays_kept(cutoff, window))
            )
            report.lookups = _count(session, PatientLookup, _lookup_over(cutoff))
            report.security_events = _count(session, SecurityEvent, SecurityEvent.at < cutoff)
            report.stay_messages = _count(session, StayMessage, StayMessage.received_at < cutoff)
            report.audit_kept = _count(session, AuditEvent, AuditEvent.at < cutoff)
        return report
    report.counted = _in_batches(scope, lambda s: count_calls(s, now, batch), batch)
    report.contacts = _in_batches(scope, lambda s: thin_contacts(s, cutoff, now, batch), batch)
    report.voice_messages = _in_batches(scope, lambda s: delete_voice_messages(s, cutoff, batch), batch)
    report.stays = _in_batches(scope, lambda s: delete_stays(s, cutoff, window, batch), batch)
    report.patients = _in_batches(scope, lambda s: _delete(s, Patient, _patient_over(cutoff), batch), batch)
    report.lookups = _in_batches(
        scope, lambda s: _delete(s, PatientLookup, _lookup_over(cutoff), batch), batch
    )
    report.security_events = _in_batches(
        scope, lambda s: _delete(s, SecurityEvent, SecurityEvent.at < cutoff, batch), batch
    )
    report.stay_messages = _in_batches(
        scope, lambda s: _delete(s, StayMessage, StayMessage.received_at < cutoff, batch), batch
    )
    with scope() as session:
        report.audit_kept = _count(session, AuditEvent, AuditEvent.at < cutoff)
    log.info("purge: %s", ", ".join(f"{getattr(report, f.name)} {f.name}" for f in fields(report)))
    return report


def _in_batches(scope: Scope, step: Callable[[Session], int], batch: int) -> int:
    """Run `step` in one transaction after another until a batch comes back short."""
    total = 0
    while True:
        with scope() as session:
            done = step(session)
        total += done
        if done < batch:
            return total


def _count(session: Session, model: Any, condition: ColumnElement[bool]) -> int:
    return session.scalar(select(func.count()).select_from(model).where(condition)) or 0


def _delete(session: Session, model: Any, condition: ColumnElement[bool], batch: int) -> int:
    ids = session.scalars(select(model.id).where(condition).order_by(model.id).limit(batch)).all()
    if ids:
        session.execute(delete(model).where(model.id.in_(ids)))
    return len(ids)


# --- statistics ----------------------------------------------------------------


Bucket = tuple[date, str, str, str, str, str]


def _uncounted() -> ColumnElement[bool]:
    return and_(Contact.counted_at.is_(None), Contact.ended_at.is_not(None))


def count_calls(session: Session, now: datetime, batch: int = BATCH) -> int:
    """Add up to `batch` ended calls not counted yet to the daily statistics; return how many.

    The calls are marked in the same transaction as the counts grow, so each is counted once
    whatever stops a run. Test calls are marked but not counted.
    """
    calls = session.scalars(
        select(Contact)
        .where(_uncounted())
        .options(selectinload(Contact.attempts), selectinload(Contact.department))
        .order_by(Contact.id)
        .limit(batch)
        .with_for_update(skip_locked=True, of=Contact)
    ).all()
    sums: dict[Bucket, Counter[str]] = {}
    for call in calls:
        call.counted_at = now
        if call.test_call:
            continue
        bucket: Bucket = (
            local_date(call.started_at),
            call.department.code if call.department else "",
            call.period or "",
            call.route or "",
            call.outcome or "",
            call.caller_kind or "",
        )
        ended = call.ended_at or call.started_at
        sums.setdefault(bucket, Counter()).update(
            calls=1,
            follow_ups=int(call.follow_up),
            attempts=len(call.attempts),
            seconds=max(0, round((ended - call.started_at).total_seconds())),
        )
    for bucket, counts in sums.items():
        _add(session, bucket, counts)
    session.flush()
    return len(calls)


def _add(session: Session, bucket: Bucket, counts: Counter[str]) -> None:
    day, department, period, route, outcome, caller_kind = bucket
    row = session.scalars(
        select(ContactStatistic)
        .where(
            ContactStatistic.day == day,
            ContactStatistic.department == department,
            ContactStatistic.period == period,
            ContactStatistic.route == route,
            ContactStatistic.outcome == outcome,
            ContactStatistic.caller_kind == caller_kind,
        )
        .with_for_update()
    ).first()
    if row is None:
        row = ContactStatistic(
            day=day,
            department=department,
            period=period,
            route=route,
            outcome=outcome,
            caller_kind=caller_kind,
            calls=0,
            follow_ups=0,
            attempts=0,
            seconds=0,
        )
        session.add(row)
    row.calls += counts["calls"]
    row.follow_ups += counts["follow_ups"]
    row.attempts += counts["attempts"]
    row.seconds += counts["seconds"]


# --- calls ----------------------------------------------------------------------


def _to_thin(cutoff: datetime, *, counted_only: bool = True) -> ColumnElement[bool]:
    condition = and_(Contact.purged_at.is_(None), Contact.ended_at.is_not(None), Contact.started_at < cutoff)
    return and_(condition, Contact.counted_at.is_not(None)) if counted_only else condition


def thin_contacts(session: Session, cutoff: datetime, now: datetime, batch: int = BATCH) -> int:
    """Remove the personal data of up to `batch` counted, ended calls started before `cutoff`.

    What stays is what the statistics are made of (times, department, period, route, outcome,
    caller kind and registered unit, follow-up, the roles rung and their answers) and the
    call's id at the provider.
    """
    ids = session.scalars(select(Contact.id).where(_to_thin(cutoff)).order_by(Contact.id).limit(batch)).all()
    if not ids:
        return 0
    session.execute(
        update(Contact)
        .where(Contact.id.in_(ids))
        .values(
            caller_number="",
            patient_ref=None,
            patient_cpr_encrypted=None,
            patient_born=None,
            discharge_id=None,
            targets=[],
            connected_to=None,
            replies={},
            purged_at=now,
        )
    )
    session.execute(update(DialAttempt).where(DialAttempt.contact_id.in_(ids)).values(number="", name=""))
    return len(ids)


def _voice_over(cutoff: datetime) -> ColumnElement[bool]:
    """A message of an ended call started before `cutoff`, with audio or a row still to delete."""
    old_calls = select(Contact.id).where(Contact.ended_at.is_not(None), Contact.started_at < cutoff)
    return and_(
        VoiceMessage.contact_id.in_(old_calls),
        or_(VoiceMessage.audio_encrypted.is_not(None), VoiceMessage.provider_deleted_at.is_not(None)),
    )


def delete_voice_messages(session: Session, cutoff: datetime, batch: int = BATCH) -> int:
    """Delete up to `batch` voice messages of calls started before `cutoff`; return how many.

    A message whose copy at the provider is not deleted yet keeps its row without audio, so that the
    scheduler still deletes that copy; the next purge deletes the row.
    """
    rows = session.execute(
        select(VoiceMessage.id, VoiceMessage.provider_deleted_at)
        .where(_voice_over(cutoff))
        .order_by(VoiceMessage.id)
        .limit(batch)
    ).all()
    gone = [row_id for row_id, deleted_at in rows if deleted_at is not None]
    waiting = [row_id for row_id, deleted_at in rows if deleted_at is None]
    if gone:
        session.execute(delete(VoiceMessage).where(VoiceMessage.id.in_(gone)))
    if waiting:
        session.execute(update(VoiceMessage).where(VoiceMessage.id.in_(waiting)).values(audio_encrypted=None))
    return len(rows)


# --- stays and patients --------------------------------------------------------


def _stay_ended_before(cutoff: datetime, window: timedelta) -> ColumnElement[bool]:
    """A stay whose responsibility ended before `cutoff` (as routing.decision reckons its end)."""
    discharged = and_(
        Discharge.status == "discharged",
        or_(
            Discharge.ended_at < cutoff,
            and_(
                Discharge.discharged_at < cutoff - window,
                or_(Discharge.responsibility_until.is_(None), Discharge.responsibility_until < cutoff),
            ),
        ),
    )
    # Admitted, on leave or cancelled: no news of it for longer than the retention (a stay in
    # hospital that long with no message at all is a lost discharge far more often than a real one).
    quiet = and_(
        Discharge.status != "discharged",
        func.coalesce(Discharge.updated_at, Discharge.admitted_at, Discharge.discharged_at) < cutoff,
    )
    return or_(discharged, quiet)


def _stay_over(cutoff: datetime, window: timedelta) -> ColumnElement[bool]:
    in_an_open_call = exists().where(Contact.discharge_id == Discharge.id, Contact.ended_at.is_(None))
    return and_(_stay_ended_before(cutoff, window), ~in_an_open_call)


def _stays_kept(cutoff: datetime, window: timedelta) -> ColumnElement[bool]:
    return ~_stay_over(cutoff, window)


def delete_stays(session: Session, cutoff: datetime, window: timedelta, batch: int = BATCH) -> int:
    """Delete up to `batch` stays whose responsibility ended before `cutoff`; ended calls let go of them."""
    ids = session.scalars(
        select(Discharge.id).where(_stay_over(cutoff, window)).order_by(Discharge.id).limit(batch)
    ).all()
    if not ids:
        return 0
    session.execute(update(Contact).where(Contact.discharge_id.in_(ids)).values(discharge_id=None))
    session.execute(delete(Discharge).where(Discharge.id.in_(ids)))
    return len(ids)


def _patient_over(cutoff: datetime, stays_left: ColumnElement[bool] | None = None) -> ColumnElement[bool]:
    """A patient with no stay left (or, in a dry run, none left once the stays due go), unless a
    death within the retention is all we know of them."""
    stay = Discharge.cpr_lookup == Patient.cpr_lookup
    has_stay = exists().where(stay if stays_left is None else and_(stay, stays_left))
    return and_(~has_stay, or_(Patient.deceased_at.is_(None), Patient.deceased_at < cutoff))


def _lookup_over(cutoff: datetime) -> ColumnElement[bool]:
    return PatientLookup.at < cutoff
