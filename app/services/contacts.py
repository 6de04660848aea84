"""Contacts: one record per call, opened at its first webhook and closed however it ends."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, func, insert, or_, select
from sqlalchemy.orm import Session, SessionTransaction, object_session, selectinload

from app import metrics
from app.data import queries
from app.data.models import Caller, Contact, Department, DialAttempt, FollowUp
from app.services.agreements import remember_wording
from app.values.phones import normalise_caller_id
from routing import Period, Route
from routing.agreement import DEFAULT_AGREEMENT

# A call whose end never reached us (a lost status callback) is closed after this long.
STALE_AFTER = timedelta(hours=2)


LOCKED = "linje72.locked_contacts"
# Twilio's DialCallStatus to the contact record's dial status. An answered call
# that was not accepted with 1 in the whisper is "rejected".
DIAL_STATUS = {
    "completed": "rejected",
    "answered": "rejected",
    "no-answer": "no-answer",
    "busy": "busy",
    "failed": "failed",
    "canceled": "no-answer",
}


def dial_status(provider_status: str) -> str:
    """Return the dial status the contact records for the provider's DialCallStatus."""
    return DIAL_STATUS.get(provider_status, "failed")


@event.listens_for(Session, "after_transaction_end")
def _locks_end_with_the_transaction(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(LOCKED, None)


def find_contact(session: Session, call_sid: str) -> Contact | None:
    """Return the call's contact, locked until the transaction ends.

    Locked because the status callback and a whisper of the same call may arrive at
    the same moment in different processes. One statement reads what the steps read of
    the call (its attempts, caller, department and agreement's wording: no lazy loads), and
    a contact this transaction has locked (or made, or found missing) already is returned
    without asking the database again.
    """
    held: dict[str, Contact | None] = session.info.setdefault(LOCKED, {})
    if call_sid in held:
        return held[call_sid]
    found = queries.call_state(session, call_sid)
    contact, words = found if found is not None else (None, None)
    if contact is not None and contact.agreement and words is not None:
        remember_wording(session, contact.agreement, *words)
    # None too: a call without a record gets one from this transaction or none (open_contact).
    held[call_sid] = contact
    return contact


def add_attempt(session: Session, contact: Contact, values: dict[str, Any]) -> DialAttempt:
    """Add a dial attempt to the call, inserted at once: its id goes into the answer's URLs.

    Only the attempt's row is written now (one statement, its id returned); the contact's
    own changes wait for the commit, so that the step writes the contact once.
    """
    if contact.id is None:  # a call opened by this step: written now with its attempt
        attempt = DialAttempt(**values)
        contact.attempts.append(attempt)
        session.flush()
        return attempt
    attempt = session.scalars(
        insert(DialAttempt).returning(DialAttempt), [{**values, "contact_id": contact.id}]
    ).one()
    contact.attempts.append(attempt)
    return attempt


def open_contact(
    session: Session,
    call_sid: str,
    from_number: str | None,
    now: datetime,
    period: Period,
    *,
    test_call: bool = False,
) -> Contact:
    """Start the record of a new call (added to the session, not flushed)."""
    number = normalise_caller_id(from_number)
    contact = Contact(
        call_sid=call_sid,
        started_at=now,
        updated_at=now,
        caller_number=number or (from_number or "")[:40],
        step="caller",
        period=period.value,
        targets=[],
        test_call=test_call,
        replies={},
    )
    # Written with the step's other changes when the transaction commits: one round trip,
    # and a simultaneous first webhook of the same call fails there, on the unique call id.
    session.add(contact)
    session.info.setdefault(LOCKED, {})[call_sid] = contact  # made by this transaction: held by it
    return contact


def route_so_far(contact: Contact) -> Route:
    """Return the call's route, or the one its step implies when none was decided yet."""
    if contact.route:
        return Route(contact.route)
    return Route.UNIDENTIFIED_CALLER if contact.step == "caller" else Route.INVALID_PATIENT


def recorded_reply(contact: Contact, fingerprint: str) -> str | None:
    """Return the answer already given to this request of the call, if it was made before."""
    return (contact.replies or {}).get(fingerprint)


def next_turn(contact: Contact) -> int:
    """Count one more answer on the caller's leg and return its number."""
    contact.turn = (contact.turn or 0) + 1
    return contact.turn


def record_reply(contact: Contact, fingerprint: str, answer: str) -> None:
    """Remember the answer to a request while the call lasts, so that a repeat gets the same."""
    if contact.ended_at is None:
        contact.replies = {**(contact.replies or {}), fingerprint: answer}


def close_contact(contact: Contact, now: datetime) -> None:
    """Close the record of a call that has ended; a caller who left before anyone accepted abandoned."""
    # Closing empties the replies: a repeated status callback finds them empty and an end time.
    first_close = contact.ended_at is None or bool(contact.replies)
    contact.replies = {}
    contact.ended_at = contact.ended_at or now
    contact.updated_at = now
    contact.step = "ended"
    for attempt in contact.attempts:
        if attempt.status is None:
            attempt.status = "no-answer"
            attempt.ended_at = now
    contact.route = route_so_far(contact).value
    if contact.outcome is None:
        contact.outcome = "abandoned"
        # The caller left while the chain rang: someone was meant to answer, so a call back is owed.
        if contact.attempts:
            mark_for_follow_up(contact, now)
    if first_close:
        _count_ended_call(contact)


def _count_ended_call(contact: Contact) -> None:
    """Count the call and its rings for /metrics once the closing commits (never a test call).

    The one place a call ends, whoever closes it (the status callback, the stale-call job).
    """
    session = object_session(contact)
    if session is None or contact.test_call:
        return
    metrics.count_on_commit(session, metrics.CALLS, contact.route or "", contact.outcome or "")
    for attempt in contact.attempts:
        metrics.count_on_commit(session, metrics.DIAL_ATTEMPTS, attempt.status or "")


def mark_for_follow_up(contact: Contact, now: datetime) -> FollowUp | None:
    """Nobody accepted the call: the department owes a call back, a task on its worklist (flush only).

    The one place that sets `Contact.follow_up`: the flag and the task come in the same
    transaction, once per contact however often it is asked. A test call owes nothing.
    """
    if contact.test_call:
        contact.follow_up = False
        return None
    contact.follow_up = True
    session = object_session(contact)
    if session is None:
        raise RuntimeError("a contact is marked for follow-up inside its session")
    session.flush()
    task = session.scalars(select(FollowUp).where(FollowUp.contact_id == contact.id)).first()
    if task is None:
        task = FollowUp(contact_id=contact.id, department_id=contact.department_id, opened_at=now)
        session.add(task)
        session.flush()
    return task


def close_stale_calls(session: Session, now: datetime) -> int:
    """Close calls whose end never reached us (a lost status callback), as the callback would."""
    stale = session.scalars(
        select(Contact)
        .where(Contact.ended_at.is_(None), Contact.updated_at < now - STALE_AFTER)
        .with_for_update()
    ).all()
    for contact in stale:
        close_contact(contact, now)
    return len(stale)


@dataclass(frozen=True)
class ContactFilter:
    """What the contact log shows: a period; one hospital, department, agreement, route, outcome or caller."""

    since: datetime | None = None
    until: datetime | None = None
    hospital: str = ""
    department: str = ""
    route: str = ""
    outcome: str = ""
    caller: str = ""  # part of the organisation, or of the number
    agreement: str = ""  # the code the call ran under; DEFAULT_AGREEMENT: the deployment's settings


# Counting every match of a wide filter over a year of calls costs more than it tells:
# beyond this the log says "more than".
COUNT_CAP = 10_000


def contact_log(
    session: Session,
    wanted: ContactFilter,
    visible: Collection[str] | None,
    *,
    limit: int = 50,
    offset: int = 0,
) -> tuple[Sequence[Contact], int]:
    """Return a page of contacts, newest first, and how many match (at most COUNT_CAP + 1)."""
    conditions = contact_conditions(session, wanted, visible)
    capped = select(Contact.id).where(*conditions).limit(COUNT_CAP + 1).subquery()
    total = session.scalar(select(func.count()).select_from(capped)) or 0
    rows = session.scalars(
        select(Contact)
        .where(*conditions)
        .options(selectinload(Contact.attempts), selectinload(Contact.department))
        .order_by(Contact.started_at.desc(), Contact.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return rows, total


def contact_conditions(session: Session, wanted: ContactFilter, visible: Collection[str] | None) -> list[Any]:
    """Return the filter as conditions on contacts: the log's, the API's list's and the export's.

    Department, hospital and caller filters are resolved to ids first (small tables), so
    that the contacts are read through their indexes.
    """
    conditions: list[Any] = []
    departments = select(Department.id)
    narrowed = False
    if visible is not None:
        departments, narrowed = departments.where(Department.code.in_(list(visible))), True
    if wanted.hospital:
        departments, narrowed = departments.where(Department.hospital == wanted.hospital), True
    if wanted.department:
        departments, narrowed = departments.where(Department.code == wanted.department), True
    if narrowed:
        conditions.append(Contact.department_id.in_(list(session.scalars(departments))))
    if wanted.since is not None:
        conditions.append(Contact.started_at >= wanted.since)
    if wanted.until is not None:
        conditions.append(Contact.started_at < wanted.until)
    if wanted.route:
        conditions.append(Contact.route == wanted.route)
    if wanted.outcome:
        conditions.append(Contact.outcome == wanted.outcome)
    if wanted.caller:
        callers = list(
            session.scalars(select(Caller.id).where(Caller.organisation.ilike(f"%{wanted.caller}%")))
        )
        number = normalise_caller_id(wanted.caller)
        conditions.append(
            or_(Contact.caller_id.in_(callers), Contact.caller_number == (number or wanted.caller))
        )
    if wanted.agreement == DEFAULT_AGREEMENT:
        conditions.append(Contact.agreement.is_(None))
    elif wanted.agreement:
        conditions.append(Contact.agreement == wanted.agreement)
    return conditions
