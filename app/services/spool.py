"""A database outage loses nothing: calls answered without the database are spooled, then drained.

While the database cannot be reached, a webhook answers with the fallback number and keeps
what it knew of the call in the machine's spool (app.data.spool). Once the database answers
again, `drain` writes each call's records into its contact: into the one the call began
before the outage, or a new one for a call that never reached the database. A record is
drained in the same transaction as its contact, and its id is kept (`SpooledRecord`), so
that draining it again changes nothing: a crash between the commit and the spool's removal,
or between two calls, leaves a spool that is safely drained again. The ids are kept for
`DRAINED_IDS_KEPT` (the nightly purge forgets older ones), and a record older than `MAX_AGE`
is held aside instead of drained: kept, never written by itself, until a person drains it.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from app.config import RETENTION_DAYS, Policy
from app.data import spool
from app.data.models import Caller, Contact, DialAttempt, SpooledRecord
from app.data.spool import SpoolRecord, new_record_id, spool_depth
from app.services import contacts
from app.services.directory import identify_caller
from app.values.callers import unit_code
from app.values.cpr import CprError, CprVault, parse
from app.values.phones import normalise_caller_id
from routing import local_date

__all__ = [
    "DRAINED_IDS_KEPT",
    "MAX_AGE",
    "DrainReport",
    "SpoolStatus",
    "drain",
    "keep",
    "spool_depth",
    "status",
]

FORWARDED = "forwarded"  # a step of the caller's leg answered with the fallback number
ENDED = "ended"  # the status callback: the call is over
OUTAGE_ERROR = "database unavailable"
log = logging.getLogger("linje72.spool")
# Errors after which the drain stops: the database went away again; the rest waits.
UNREACHABLE = (OperationalError, InterfaceError, PoolTimeout)
Scope = Callable[[], AbstractContextManager[Session]]

# How long a record may wait in a spool to be drained; an older one is held aside (logged): kept
# on disk, written only when a person asks (`linje72 spool drain --held`), never lost. Without
# a limit the drained records' ids (`spooled_records`) would have to be kept for ever: a record
# drained before whose removal from the spool was lost (a crash after the commit, a copy of the
# spool put back, a machine back after a month) cannot be told from a new one once its id is
# forgotten, and would be written twice (a second fallback attempt, or the caller's number
# written back into a call the retention has thinned). 30 days is the shortest retention allowed
# (LINJE72_RETENTION_DAYS); a record that waited that long has shown on /metrics
# (linje72_spool_depth) and in `linje72 spool status` for a month: an abandoned machine, not an
# outage, and a person decides.
MAX_AGE = timedelta(days=RETENTION_DAYS[0])
# The ids are kept a day longer than a record may be drained: every machine drains by its own
# clock and the purge forgets by the scheduler's, and a drain may be under way as the purge runs.
DRAINED_IDS_KEPT = MAX_AGE + timedelta(days=1)

# Set when this process spooled a record (or found some at start): the next webhook that
# reaches the database starts a drain. A flag, so that asking costs nothing.
_waiting = threading.Event()


def mark_waiting() -> None:
    _waiting.set()


def take_waiting() -> bool:
    """Return whether records may wait to be drained, and clear the flag."""
    if not _waiting.is_set():
        return False
    _waiting.clear()
    return True


def keep(
    instance_path: str | Path,
    vault: CprVault,
    now: datetime,
    *,
    kind: str,
    call_sid: str,
    step: str,
    from_number: str | None = None,
    digits: str = "",
    forwarded_to: str | None = None,
    attempt: int | None = None,
    dial_status: str | None = None,
    call_status: str | None = None,
    duration: int | None = None,
    test_call: bool = False,
) -> SpoolRecord:
    """Spool what a webhook answered without the database; the keys only encrypted."""
    keys = base64.b64encode(vault.encrypt(digits)).decode() if digits else None
    record = SpoolRecord(
        id=new_record_id(),
        call_sid=call_sid,
        at=now.isoformat(),
        kind=kind,
        step=step,
        from_number=(from_number or "")[:40] or None,
        keys=keys,
        forwarded_to=forwarded_to,
        attempt=attempt,
        dial_status=dial_status,
        call_status=call_status,
        duration=duration,
        test_call=test_call,
    )
    spool.append(instance_path, record)
    mark_waiting()
    return record


@dataclass
class DrainReport:
    """What a drain did: records written now, records found drained before, calls, calls left."""

    records: int = 0
    repeated: int = 0
    calls: int = 0
    left: int = 0
    busy: bool = False  # another process was draining the spool
    held: int = 0  # records older than MAX_AGE, set aside unwritten (kept for a person)


@dataclass(frozen=True)
class SpoolStatus:
    depth: int
    oldest: datetime | None
    calls: int
    held: int = 0
    held_calls: int = 0


def status(instance_path: str | Path) -> SpoolStatus:
    """Return how many records wait, for how many calls, and when the oldest was written; and how
    many are held aside, for how many calls."""
    records = spool.pending(instance_path)
    held = spool.pending(instance_path, held=True)
    oldest = records[0].moment if records else None
    return SpoolStatus(
        len(records), oldest, len({r.call_sid for r in records}), len(held), len({r.call_sid for r in held})
    )


def drain(
    instance_path: str | Path,
    scope: Scope,
    policy: Policy,
    vault: CprVault,
    now: datetime,
    *,
    include_held: bool = False,
) -> DrainReport:
    """Write the spooled calls into the database, one transaction a call; safe to repeat or interrupt.

    Stops at the first sign that the database went away again (the rest stays spooled);
    a call whose records cannot be written for another reason is logged and left spooled.
    Records spooled more than MAX_AGE before `now` are held aside and logged, not written; with
    `include_held` (a person who checked the calls are not in the database yet) the held ones are
    written too, whatever their age.
    """
    report = DrainReport()
    with spool.draining(instance_path) as mine:
        if not mine:
            report.busy = True
            return report
        by_call: dict[str, list[SpoolRecord]] = {}
        expired: list[SpoolRecord] = []
        for record in spool.pending(instance_path):
            if now - record.moment > MAX_AGE and not include_held:
                expired.append(record)
            else:
                by_call.setdefault(record.call_sid, []).append(record)
        if include_held:
            for record in spool.pending(instance_path, held=True):
                by_call.setdefault(record.call_sid, []).append(record)
        if expired:
            _hold(instance_path, expired)
            report.held = len(expired)
        for call_sid, records in by_call.items():
            try:
                written = _drain_call(scope, policy, vault, now, call_sid, records)
            except UNREACHABLE:
                mark_waiting()  # the database went away again: the next webhook it answers tries again
                raise
            except Exception:
                log.exception("could not write the spooled records of call %s; they stay spooled", call_sid)
                report.left += 1
                continue
            spool.remove(instance_path, [record.id for record in records])
            report.calls += 1
            report.records += written
            report.repeated += len(records) - written
    if report.records:
        log.info("drained %d spooled records of %d calls", report.records, report.calls)
    return report


def _hold(instance_path: str | Path, records: list[SpoolRecord]) -> None:
    for call_sid in dict.fromkeys(record.call_sid for record in records):
        of_call = [record for record in records if record.call_sid == call_sid]
        log.error(
            "held %d spooled records of call %s aside, spooled from %s: a record older than %d days is "
            "not written by itself (its id may be forgotten: it could be written twice); check the "
            "call is not in the contact log and run `linje72 spool drain --held`",
            len(of_call),
            call_sid,
            of_call[0].at,
            MAX_AGE.days,
        )
    spool.hold(instance_path, [record.id for record in records])


def _drain_call(
    scope: Scope, policy: Policy, vault: CprVault, now: datetime, call_sid: str, records: list[SpoolRecord]
) -> int:
    """Write one call's records not drained before; return how many.

    Tried once more when another process made the call's contact meanwhile, or when the
    connection had died with the server (the first use of a pool after a restart): the
    pool is renewed by then.
    """
    for retry in (False, True):
        try:
            with scope() as session:
                ids = [record.id for record in records]
                done = set(
                    session.scalars(select(SpooledRecord.record_id).where(SpooledRecord.record_id.in_(ids)))
                )
                fresh = [record for record in records if record.id not in done]
                if fresh:
                    merge_call(session, policy, vault, call_sid, fresh)
                    session.add_all(
                        SpooledRecord(record_id=r.id, call_sid=call_sid, spooled_at=r.moment, drained_at=now)
                        for r in fresh
                    )
                    session.flush()
                return len(fresh)
        except (IntegrityError, DBAPIError) as exc:
            if retry or not (isinstance(exc, IntegrityError) or exc.connection_invalidated):
                raise
    raise AssertionError("unreachable")


def merge_call(
    session: Session, policy: Policy, vault: CprVault, call_sid: str, records: Sequence[SpoolRecord]
) -> Contact:
    """Write a call's spooled records into its contact, made here if the call never reached the database."""
    contact = contacts.find_contact(session, call_sid) or _open(session, policy, call_sid, records)
    for record in records:
        if record.kind == FORWARDED:
            _forwarded(session, vault, contact, record)
        elif record.kind == ENDED:
            contacts.close_contact(contact, record.moment)
    return contact


def _open(session: Session, policy: Policy, call_sid: str, records: Sequence[SpoolRecord]) -> Contact:
    """Open the contact of a call that never reached the database, as its first webhook would have."""
    first = records[0]
    started = first.moment
    for record in records:
        if record.kind == ENDED and record.duration is not None:
            started = min(started, record.moment - timedelta(seconds=record.duration))
    contact = contacts.open_contact(
        session,
        call_sid,
        first.from_number,
        started,
        policy.calendar.period(started),
        test_call=first.test_call,
    )
    number = normalise_caller_id(first.from_number)
    caller = identify_caller(session, phone=number) if number else None
    if caller is not None:
        _identify(contact, caller)
    return contact


def _identify(contact: Contact, caller: Caller) -> None:
    contact.caller = caller
    contact.caller_organisation = caller.organisation
    contact.caller_kind = caller.kind
    contact.language = caller.language or "da"
    contact.step = "patient"


def _forwarded(session: Session, vault: CprVault, contact: Contact, record: SpoolRecord) -> None:
    """The caller heard the technical error and was put through to the fallback number."""
    keys = _keys(vault, record)
    if keys and record.step == "caller" and contact.caller is None:
        code = unit_code(keys)
        caller = identify_caller(session, code=code) if code else None
        if caller is not None:
            _identify(contact, caller)
    if keys and record.step == "patient" and contact.patient_ref is None:
        try:
            number, born = parse(keys.rstrip("#"), local_date(record.moment))
        except CprError:
            pass
        else:
            contact.patient_ref = vault.pseudonym(number)
            contact.patient_born = born
    contact.error = f"{OUTAGE_ERROR} in step {record.step}: forwarded to the fallback number"[:200]
    contact.updated_at = max(contact.updated_at, record.moment)
    if contact.outcome not in (None, "abandoned"):
        return  # the call was already over when the outage answered it
    for attempt in contact.attempts:
        if record.attempt == attempt.id and record.dial_status:
            # How the ring ended, as the provider told the webhook that could not record it
            # (a status callback that reached the database first closed it as unanswered).
            attempt.status = contacts.dial_status(record.dial_status)
            attempt.ended_at = record.moment
        elif attempt.status is None:
            attempt.status = "failed"
            attempt.ended_at = record.moment
    contact.route = contacts.route_so_far(contact).value
    if record.forwarded_to:
        # The provider put the caller through to the staffed fallback line, as the fail-safe does.
        contact.attempts.append(
            DialAttempt(
                position=len(contact.attempts),
                number=record.forwarded_to,
                label="fallback",
                name="",
                started_at=record.moment,
                ended_at=contact.ended_at,
                status="answered",
            )
        )
        contact.outcome = "forwarded"
        contact.connected_to = record.forwarded_to
        contact.follow_up = False
    contact.step = "ended"
    session.flush()


def _keys(vault: CprVault, record: SpoolRecord) -> str:
    if not record.keys:
        return ""
    return vault.decrypt(base64.b64decode(record.keys))
