"""Retention: personal data kept only as long as needed; anonymous daily statistics kept for good.

Every night (and by `linje72 purge`) the scheduler
1. adds each ended call, once, to `contact_statistics` (counts, lengths, time to answer and
   follow-up time by day, department, period, route, outcome, caller kind, the patient's
   municipality and the department's agreement; no number, name or patient), and each closed
   follow-up to its call's row (the scheduler also does this every few minutes);
2. thins the calls that started more than the retention ago: the caller's number, the patient's
   pseudonym, CPR ciphertext and birth date, the link to the stay, the numbers and names rung;
   and deletes their voice messages (a message whose provider copy is not deleted yet loses its
   audio here, and its row once the scheduler has deleted that copy);
3. deletes the stays whose responsibility ended more than the retention ago, the patients with no
   stay left, and the patient look-ups, security events and feed messages older than that;
4. forgets the ids of the outage spool's drained records once no drain can meet them again
   (`app.services.spool.DRAINED_IDS_KEPT`, a fixed 31 days whatever the retention).

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
    FollowUp,
    Patient,
    PatientLookup,
    SecurityEvent,
    SpooledRecord,
    StayMessage,
    VoiceMessage,
)
from app.services.spool import DRAINED_IDS_KEPT
from routing.calendar import local_date

log = logging.getLogger("linje72.retention")

BATCH = 500
Scope = Callable[[], AbstractContextManager[Session]]


@dataclass
class PurgeReport:
    """What a purge removed (or, in a dry run, would remove): counts only."""

    counted: int = 0  # ended calls added to the statistics
    follow_ups_counted: int = 0  # closed follow-ups added to their calls' statistics
    contacts: int = 0  # calls whose personal data was removed
    voice_messages: int = 0  # callers' messages deleted (or their audio, until the provider's copy is gone)
    stays: int = 0
    patients: int = 0
    lookups: int = 0
    security_events: int = 0
    stay_messages: int = 0
    spooled_records: int = 0  # ids of drained spool records no drain can meet again
    audit_kept: int = 0  # audit events older than the retention: kept, the accountability record

    def lines(self) -> list[tuple[str, int]]:
        return [(LABELS[f.name], getattr(self, f.name)) for f in fields(self)]


LABELS = {
    "counted": "calls added to the statistics",
    "follow_ups_counted": "closed follow-ups added to the statistics",
    "contacts": "calls thinned (personal data removed)",
    "voice_messages": "voice messages deleted",
    "stays": "stays deleted",
    "patients": "patients deleted (no stay left)",
    "lookups": "patient look-ups deleted",
    "security_events": "security events deleted",
    "stay_messages": "feed messages deleted",
    "spooled_records": "drained spool records forgotten",
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
            report.follow_ups_counted = _count(
                session, FollowUp, and_(FollowUp.closed_at.is_not(None), FollowUp.counted_at.is_(None))
            )
            report.contacts = _count(session, Contact, _to_thin(cutoff, counted_only=False))
            report.voice_messages = _count(session, VoiceMessage, _voice_over(cutoff))
            report.stays = _count(session, Discharge, _stay_over(cutoff, window))
            report.patients = _count(
                session, Patient, _patient_over(cutoff, stays_left=_stays_kept(cutoff, window))
            )
            report.lookups = _count(session, PatientLookup, _lookup_over(cutoff))
            report.security_events = _count(session, SecurityEvent, SecurityEvent.at < cutoff)
            report.stay_messages = _count(session, StayMessage, StayMessage.received_at < cutoff)
            report.spooled_records = _count(session, SpooledRecord, _drained_over(now))
            report.audit_kept = _count(session, AuditEvent, AuditEvent.at < cutoff)
        return report
    report.counted, report.follow_ups_counted = count_statistics(scope, now, batch)
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
    report.spooled_records = _in_batches(scope, lambda s: forget_drained_records(s, now, batch), batch)
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


# day, department, period, route, outcome, caller kind, municipality, agreement
Bucket = tuple[date, str, str, str, str, str, str, str]
# The bands of time to answer (call start to acceptance), in seconds: each answered call is in one
# (`answered_30` for up to 30 s, …, `answered_later` beyond the last).
ANSWER_BANDS = (30, 60, 90, 120, 180)
BAND_COLUMNS = ("answered_30", "answered_60", "answered_90", "answered_120", "answered_180", "answered_later")
MEASURES = (
    "calls",
    "follow_ups",
    "attempts",
    "seconds",
    "answered",
    "answer_seconds",
    *BAND_COLUMNS,
    "follow_ups_closed",
    "follow_up_seconds",
)


def _uncounted() -> ColumnElement[bool]:
    return and_(Contact.counted_at.is_(None), Contact.ended_at.is_not(None))


def answer_band(seconds: int) -> str:
    """The statistics column of an answer after `seconds`."""
    for limit, column in zip(ANSWER_BANDS, BAND_COLUMNS, strict=False):
        if seconds <= limit:
            return column
    return BAND_COLUMNS[-1]


def _seconds(start: datetime, end: datetime) -> int:
    return max(0, round((end - start).total_seconds()))


def count_statistics(scope: Scope, now: datetime, batch: int = BATCH) -> tuple[int, int]:
    """Count every ended call and every closed follow-up not counted yet, a batch a transaction.

    The scheduler runs it every few minutes, so that the region's dashboard is never far
    behind; the nightly purge runs it first. Returns (calls, follow-ups) counted.
    """
    calls = _in_batches(scope, lambda s: count_calls(s, now, batch), batch)
    follow_ups = _in_batches(scope, lambda s: count_follow_ups(s, now, batch), batch)
    return calls, follow_ups


def count_calls(session: Session, now: datetime, batch: int = BATCH) -> int:
    """Add up to `batch` ended calls not counted yet to the daily statistics; return how many.

    The calls are marked in the same transaction as the counts grow, so each is counted once
    whatever stops a run; each call remembers its row (`statistic_id`), where a follow-up closed
    later is added. A follow-up already closed is counted with its call. Test calls are marked
    but not counted.
    """
    calls = session.scalars(
        select(Contact)
        .where(_uncounted())
        .options(
            selectinload(Contact.attempts),
            selectinload(Contact.department),
            selectinload(Contact.discharge),
        )
        .order_by(Contact.id)
        .limit(batch)
        .with_for_update(skip_locked=True, of=Contact)
    ).all()
    closed = _closed_follow_ups(session, [call.id for call in calls if call.follow_up])
    sums: dict[Bucket, Counter[str]] = {}
    members: dict[Bucket, list[Contact]] = {}
    for call in calls:
        call.counted_at = now
        if call.test_call:
            continue
        department = call.department
        bucket: Bucket = (
            local_date(call.started_at),
            department.code if department else "",
            call.period or "",
            call.route or "",
            call.outcome or "",
            call.caller_kind or "",
            (call.discharge.municipality or "") if call.discharge else "",
            (department.agreement or "") if department else "",
        )
        ended = call.ended_at or call.started_at
        counts = sums.setdefault(bucket, Counter())
        counts.update(
            calls=1,
            follow_ups=int(call.follow_up),
            attempts=len(call.attempts),
            seconds=_seconds(call.started_at, ended),
        )
        if call.answered_at is not None and call.outcome in ("connected", "forwarded"):
            waited = _seconds(call.started_at, call.answered_at)
            counts.update({"answered": 1, "answer_seconds": waited, answer_band(waited): 1})
        follow_up = closed.get(call.id)
        if follow_up is not None and follow_up.closed_at is not None:
            counts.update(
                follow_ups_closed=1, follow_up_seconds=_seconds(follow_up.opened_at, follow_up.closed_at)
            )
            follow_up.counted_at = now
        members.setdefault(bucket, []).append(call)
    rows = {bucket: _add(session, bucket, counts) for bucket, counts in sums.items()}
    session.flush()
    for bucket, row in rows.items():
        for call in members[bucket]:
            call.statistic_id = row.id
    session.flush()
    return len(calls)


def _closed_follow_ups(session: Session, contact_ids: list[int]) -> dict[int, FollowUp]:
    if not contact_ids:
        return {}
    found = session.scalars(
        select(FollowUp).where(
            FollowUp.contact_id.in_(contact_ids),
            FollowUp.closed_at.is_not(None),
            FollowUp.counted_at.is_(None),
        )
    )
    return {follow_up.contact_id: follow_up for follow_up in found}


def count_follow_ups(session: Session, now: datetime, batch: int = BATCH) -> int:
    """Add up to `batch` follow-ups closed since their call was counted; return how many."""
    found = session.scalars(
        select(FollowUp)
        .join(Contact, Contact.id == FollowUp.contact_id)
        .where(
            FollowUp.closed_at.is_not(None), FollowUp.counted_at.is_(None), Contact.counted_at.is_not(None)
        )
        .options(selectinload(FollowUp.contact))
        .order_by(FollowUp.id)
        .limit(batch)
        .with_for_update(skip_locked=True, of=FollowUp)
    ).all()
    for follow_up in found:
        count_follow_up_closed(session, follow_up, now)
    return len(found)


def count_follow_up_closed(session: Session, follow_up: FollowUp, now: datetime) -> bool:
    """Add a closed follow-up's time open to its call's statistics row, once; return whether it was.

    The follow-up worklist may call it as it closes one (in the same transaction), so that the
    dashboard sees it at once; otherwise `count_statistics` does. A follow-up whose call is not
    counted yet waits for its call (and is counted with it).
    """
    contact = follow_up.contact
    if follow_up.closed_at is None or follow_up.counted_at is not None or contact.counted_at is None:
        return False
    follow_up.counted_at = now
    if contact.statistic_id is not None:  # None: a test call, never in the statistics
        session.execute(
            update(ContactStatistic)
            .where(ContactStatistic.id == contact.statistic_id)
            .values(
                follow_ups_closed=ContactStatistic.follow_ups_closed + 1,
                follow_up_seconds=ContactStatistic.follow_up_seconds
                + _seconds(follow_up.opened_at, follow_up.closed_at),
            )
        )
    return True


def _add(session: Session, bucket: Bucket, counts: Counter[str]) -> ContactStatistic:
    day, department, period, route, outcome, caller_kind, municipality, agreement = bucket
    row = session.scalars(
        select(ContactStatistic)
        .where(
            ContactStatistic.day == day,
            ContactStatistic.department == department,
            ContactStatistic.period == period,
            ContactStatistic.route == route,
            ContactStatistic.outcome == outcome,
            ContactStatistic.caller_kind == caller_kind,
            ContactStatistic.municipality == municipality,
            ContactStatistic.agreement == agreement,
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
            municipality=municipality,
            agreement=agreement,
            **dict.fromkeys(MEASURES, 0),
        )
        session.add(row)
    for measure in MEASURES:
        setattr(row, measure, getattr(row, measure) + counts[measure])
    return row


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


# --- the outage spool's drained records ----------------------------------------------------


def _drained_over(now: datetime) -> ColumnElement[bool]:
    return SpooledRecord.spooled_at < now - DRAINED_IDS_KEPT


def forget_drained_records(session: Session, now: datetime, batch: int = BATCH) -> int:
    """Delete up to `batch` ids of drained spool records spooled more than DRAINED_IDS_KEPT before `now`.

    A drain drops a record older than app.services.spool.MAX_AGE (a day less) unwritten, so no
    drain looks for these ids again. They hold no personal data (record ids and the provider's
    call ids): kept only while a drain may meet their record, whatever the retention.
    """
    ids = session.scalars(
        select(SpooledRecord.record_id)
        .where(_drained_over(now))
        .order_by(SpooledRecord.record_id)
        .limit(batch)
    ).all()
    if ids:
        session.execute(delete(SpooledRecord).where(SpooledRecord.record_id.in_(ids)))
    return len(ids)
