"""Receive a MedCom FHIR HospitalNotification: read it, apply its events to the stay, audit it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.data.models import StayMessage
from app.intake.fhir import (
    ELEMENTS,
    Issue,
    NotificationProblems,
    Received,
    read_notification,
    received_message,
)
from app.intake.stays import Source, StayEvent
from app.services import audit
from app.services.directory import sor_map
from app.services.stays import StayRefused, apply_events
from app.values.cpr import CprVault


@dataclass
class Notified:
    """What became of a notification: its events, or the issues that refused it (nothing stored then)."""

    received: Received | None
    events: list[StayEvent] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    # When the message was first applied: a repeat is answered as the first time was.
    applied_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return not self.issues


def receive_notification(
    session: Session, vault: CprVault, data: bytes, now: datetime, *, actor: str
) -> Notified:
    """Apply a HospitalNotification's events in the session's transaction (flush only), audited.

    Bad content is refused with its issues and changes nothing but the audit log.
    """
    raw = _json_or_none(data)
    problems = NotificationProblems()
    events = read_notification(raw if isinstance(raw, dict) else data, sor_map(session), problems)
    outcome = Notified(received_message(raw), events, problems.issues)
    name = outcome.received.message_id if outcome.received else "without a MessageHeader id"
    if outcome.ok:
        try:
            apply_events(session, vault, events, now)
        except StayRefused as exc:
            session.rollback()
            if exc.field in ELEMENTS:  # a fact the notification left out: name where it goes
                outcome.issues = [Issue(ELEMENTS[exc.field], "required", exc.reason)]
            else:
                outcome.issues = [Issue("Bundle", "business-rule", str(exc))]
    if not outcome.ok:
        audit.record(
            session,
            now,
            audit.CHANGE,
            actor=actor,
            target=f"HospitalNotification {name}"[:200],
            detail=f"refused: {outcome.issues[0].expression}: {outcome.issues[0].diagnostics}",
        )
        return outcome
    outcome.applied_at = session.scalars(
        select(StayMessage.received_at).where(
            StayMessage.source == Source.FHIR.value, StayMessage.message_id == outcome.events[0].message_id
        )
    ).first()
    audit.record(
        session,
        now,
        audit.CHANGE,
        actor=actor,
        target=f"stay {events[0].stay_id}"[:200],
        detail=f"HospitalNotification {name}: "
        + ", ".join(f"{event.kind.value} {event.department or ''}".strip() for event in events),
    )
    return outcome


def _json_or_none(data: bytes) -> object:
    try:
        return json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
