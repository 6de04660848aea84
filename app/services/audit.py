"""The audit log: who did or saw what, when, from where. Append-only."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.data.models import AuditEvent, Contact, Discharge, FollowUp, User
from app.services.export import spreadsheet_safe
from app.values.cpr import CprError, CprVault, check_feed_cpr, redact
from app.values.times import local_iso

# What is recorded (the `action` column).
LOGIN = "login"
LOGIN_FAILED = "login_failed"
LOGOUT = "logout"
VIEW = "view"  # a page that shows personal data (staff numbers, callers, patients by pseudonym)
EXPORT = "export"
CHANGE = "change"


def record(
    session: Session,
    now: datetime,
    action: str,
    *,
    user: User | None = None,
    actor: str = "",
    target: str = "",
    detail: str = "",
    address: str = "",
) -> AuditEvent:
    """Append one event (flush only). Nothing in it may hold a CPR number: it is redacted anyway."""
    event = AuditEvent(
        at=now,
        user_id=user.id if user else None,
        actor=(user.email if user else actor)[:254],
        action=action,
        target=redact(target)[:200],
        detail=redact(detail)[:500],
        address=address[:64],
    )
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class AuditFilter:
    since: datetime | None = None
    until: datetime | None = None
    actor: str = ""
    action: str = ""


def search(
    session: Session, wanted: AuditFilter, *, limit: int = 200, offset: int = 0
) -> tuple[Sequence[AuditEvent], int]:
    """Return the newest events that match, and how many match in all."""
    conditions = []
    if wanted.since is not None:
        conditions.append(AuditEvent.at >= wanted.since)
    if wanted.until is not None:
        conditions.append(AuditEvent.at < wanted.until)
    if wanted.actor:
        conditions.append(AuditEvent.actor.ilike(f"%{wanted.actor}%"))
    if wanted.action:
        conditions.append(AuditEvent.action == wanted.action)
    total = session.scalar(select(func.count(AuditEvent.id)).where(*conditions)) or 0
    rows = session.scalars(
        select(AuditEvent)
        .where(*conditions)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return rows, total


CSV_COLUMNS = ("at", "actor", "action", "target", "detail", "address")


def write_csv(out: TextIO, events: Sequence[AuditEvent]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for event in events:
        writer.writerow(
            [
                spreadsheet_safe(str(value))
                for value in (
                    local_iso(event.at),
                    event.actor,
                    event.action,
                    event.target,
                    event.detail,
                    event.address,
                )
            ]
        )


def events_about(session: Session, target: str, *, limit: int = 50) -> Sequence[AuditEvent]:
    """Return the changes recorded about one target (a stay's mark, extensions, end), newest first."""
    return session.scalars(
        select(AuditEvent)
        .where(AuditEvent.target == target, AuditEvent.action == CHANGE)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    ).all()


# ---- who saw a patient's data ----


def about_patient(ref: str | None) -> str:
    """The words an event about a patient carries, so that the per-patient search finds it: the
    pseudonym (P-…, as in exports), never the CPR number."""
    return f"patient {ref}" if ref else ""


class PatientSearchRefused(ValueError):
    """The text given is no CPR number; the message never repeats it."""


def patient_events(
    session: Session, vault: CprVault, text: str, *, limit: int = 500
) -> tuple[str, Sequence[AuditEvent]]:
    """Return the patient's pseudonym and every event about the patient, newest first: who saw or
    changed their data, when, from where.

    Found by the pseudonym events carry (`about_patient`), and by the patient's stays and call-back
    tasks as targets, so that events recorded before they carried it are found too. Raises
    PatientSearchRefused for text that is no CPR number.
    """
    try:
        number = check_feed_cpr(text)
    except CprError as exc:
        raise PatientSearchRefused(str(exc)) from None
    ref = vault.pseudonym(number)
    stays = session.scalars(select(Discharge.id).where(Discharge.cpr_lookup.in_(vault.lookup_keys(number))))
    tasks = session.scalars(
        select(FollowUp.id).join(Contact, FollowUp.contact_id == Contact.id).where(Contact.patient_ref == ref)
    )
    targets = [f"stay {i}" for i in stays] + [f"follow-up {i}" for i in tasks]
    conditions = [
        AuditEvent.detail.contains(ref, autoescape=True),
        AuditEvent.target.contains(ref, autoescape=True),
    ]
    if targets:
        conditions.append(AuditEvent.target.in_(targets))
    rows = session.scalars(
        select(AuditEvent)
        .where(or_(*conditions))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    ).all()
    return ref, rows
