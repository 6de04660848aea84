"""The misuse limits (routing-policy.md, "Misuse"): lockouts, look-up limits, security events.

The read-back tells a caller whether a department holds a patient's responsibility, so
the line bounds how often a number may guess unit codes and how many patients an
identified caller may look up. Each limit is configuration; what happened is recorded
as a security event for the administrators, never with a CPR number.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import metrics
from app.config import Limits
from app.data.models import Contact, PatientLookup, SecurityEvent

UNIT_CODE_FAILED = "unit_code_failed"
LOCKED_OUT = "locked_out"
LOCKED_OUT_CALL = "locked_out_call"
LOOKUP_LIMIT = "lookup_limit"


def record_event(
    session: Session, kind: str, now: datetime, contact: Contact | None = None, detail: str = ""
) -> SecurityEvent:
    """Record a security event about a call (flush only)."""
    event = SecurityEvent(
        at=now,
        kind=kind,
        caller_number=(contact.caller_number or None) if contact else None,
        caller_id=contact.caller_id if contact else None,
        call_sid=contact.call_sid if contact else None,
        detail=detail[:200],
    )
    session.add(event)
    session.flush()
    metrics.count_on_commit(session, metrics.SECURITY_EVENTS, kind)
    return event


def is_locked_out(session: Session, number: str | None, limits: Limits, now: datetime) -> bool:
    """Return whether this caller number is locked out of the unit code (never a withheld number)."""
    if not number:
        return False
    since = now - limits.lockout
    found = session.scalar(
        select(SecurityEvent.id)
        .where(
            SecurityEvent.caller_number == number, SecurityEvent.kind == LOCKED_OUT, SecurityEvent.at > since
        )
        .limit(1)
    )
    return found is not None


def unit_code_failed(
    session: Session, contact: Contact, number: str | None, limits: Limits, now: datetime
) -> bool:
    """Record a failed unit code; return True when the number is now locked out.

    A withheld number shares no identity with other withheld calls: it is never counted
    or locked as a group, and each such call keeps only its own three tries.
    """
    if not number:
        return False
    record_event(session, UNIT_CODE_FAILED, now, contact)
    # Failures before the number's last lockout were paid for by it: they count no more.
    since = now - limits.failure_window
    last_lockout = session.scalar(
        select(func.max(SecurityEvent.at)).where(
            SecurityEvent.caller_number == number, SecurityEvent.kind == LOCKED_OUT, SecurityEvent.at > since
        )
    )
    failures = session.scalar(
        select(func.count(SecurityEvent.id)).where(
            SecurityEvent.caller_number == number,
            SecurityEvent.kind == UNIT_CODE_FAILED,
            SecurityEvent.at > (last_lockout or since),
        )
    )
    if (failures or 0) < limits.lockout_failures:
        return False
    record_event(
        session, LOCKED_OUT, now, contact, f"{failures} failed unit codes within {limits.failure_window}"
    )
    return True


def lookups_exhausted(session: Session, caller_id: int | None, limits: Limits, now: datetime) -> bool:
    """Return whether an identified caller has used its patient look-ups for the hour."""
    if caller_id is None:
        return False
    used = session.scalar(
        select(func.count(PatientLookup.id)).where(
            PatientLookup.caller_id == caller_id, PatientLookup.at > now - limits.lookup_window
        )
    )
    return (used or 0) >= limits.lookups_per_hour


def record_lookup(session: Session, contact: Contact, matched: bool, now: datetime) -> None:
    """Count one patient read back on the call, by pseudonym only."""
    assert contact.patient_ref is not None
    session.add(
        PatientLookup(
            at=now,
            contact_id=contact.id,
            caller_id=contact.caller_id,
            patient_ref=contact.patient_ref,
            matched=matched,
        )
    )


def recent_events(session: Session, since: datetime) -> Sequence[SecurityEvent]:
    """Return the security events since `since`, oldest first."""
    return session.scalars(
        select(SecurityEvent).where(SecurityEvent.at >= since).order_by(SecurityEvent.at)
    ).all()
