"""Reminders of call-back tasks nobody has taken: an SMS (or a call) to whoever answers first for the
department now, then to the backup; each once, none once the task is taken or closed.

Who answers is the department's chain as a call would ring it now (`directory.department_chain_at`),
so the rule lives in one place. The first reminder goes to the chain's first number (the rota's day
or on-call doctor, else the department's own phone); the second to the rota's backup now, or, with no
backup on the rota, the department's switchboard. A rota person's number takes an SMS (as the
override link does); the department's own phones, the switchboard and the fallback a call, unless the
department's alert numbers list the number and say otherwise. An SMS that fails becomes a call
(`alerts._replace_failed_sms`). Nothing in a reminder names the caller or the patient: the department
and a link to the task, which opens only after a login.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from app.config import FollowUps, Policy
from app.data.models import FollowUp, OutgoingMessage, PlannerPhone
from app.services.alerts import SMS, VOICE, Alerting, record_message
from app.services.directory import department_chain_at
from app.values.warnings import Kind, follow_up_sms, follow_up_spoken
from routing import Target

log = logging.getLogger("linje72.reminders")
# A task older than this gets no reminder (one the scheduler never saw while it was young, e.g. after
# an outage): it stands on the worklist as overdue, and a burst of old news helps nobody.
TOO_OLD = timedelta(hours=12)
# Rota people's own phones: a mobile, as the override link's SMS assumes.
ROTA_LABELS = frozenset({"day", "oncall", "backup"})


@dataclass(frozen=True)
class Reminded:
    first: int
    second: int


def task_link(alerting: Alerting, task_id: int) -> str:
    return f"{alerting.settings.public_url}/followup/{task_id}"


def remind(
    session: Session, policy: Policy, alerting: Alerting, settings: FollowUps, now: datetime
) -> Reminded:
    """Record the reminders due now (flush only); `deliver` sends them after the transaction."""
    due = session.scalars(
        select(FollowUp)
        .where(
            FollowUp.closed_at.is_(None),
            FollowUp.claimed_by_id.is_(None),
            FollowUp.department_id.is_not(None),
            FollowUp.opened_at > now - TOO_OLD,
            FollowUp.opened_at <= now - settings.first_reminder,
            or_(
                FollowUp.first_reminder_at.is_(None),
                (FollowUp.second_reminder_at.is_(None))
                & (FollowUp.opened_at <= now - settings.second_reminder),
            ),
        )
        .options(selectinload(FollowUp.department))
        .order_by(FollowUp.opened_at, FollowUp.id)
        .with_for_update(of=FollowUp, skip_locked=True)
    ).all()
    first = second = 0
    for task in due:
        department = task.department
        assert department is not None
        decision = department_chain_at(session, policy, department.code, now)
        targets = decision.targets if decision else ()
        if task.first_reminder_at is None:
            task.first_reminder_at = now
            first += _tell(session, alerting, task, Kind.FOLLOW_UP_FIRST, targets[:1], now)
        if task.second_reminder_at is None and now - task.opened_at >= settings.second_reminder:
            task.second_reminder_at = now
            backup = [t for t in targets if t.label == "backup"][:1] or [
                t for t in targets if t.label == "switchboard"
            ][:1]
            second += _tell(session, alerting, task, Kind.FOLLOW_UP_SECOND, backup, now)
    session.flush()
    return Reminded(first, second)


def _tell(
    session: Session,
    alerting: Alerting,
    task: FollowUp,
    kind: Kind,
    targets: list[Target] | tuple[Target, ...],
    now: datetime,
) -> int:
    department = task.department
    assert department is not None
    if not targets:
        log.error("follow-up %d of %s: no number to remind (%s)", task.id, department.code, kind.value)
        return 0
    target = targets[0]
    if _takes_sms(session, task.department_id, target):
        channel, body = SMS, follow_up_sms(department.name, task_link(alerting, task.id))
    else:
        channel, body = VOICE, follow_up_spoken(department.name)
    log.warning(
        "follow-up %d of %s open %s min and not taken: reminding %s by %s%s",
        task.id,
        department.code,
        int((now - task.opened_at).total_seconds() // 60),
        target.number,
        channel,
        "" if alerting.sending else " (sending is off: recorded only)",
    )
    record_message(session, alerting, channel, target.number, kind, body, None, now, follow_up_id=task.id)
    return 1


def _takes_sms(session: Session, department_id: int | None, target: Target) -> bool:
    """Whether a number takes an SMS: as the department's alert numbers mark it, else a rota person's."""
    listed = session.scalar(
        select(PlannerPhone.mobile).where(
            PlannerPhone.department_id == department_id, PlannerPhone.phone == target.number
        )
    )
    if listed is not None:
        return bool(listed)
    return target.label in ROTA_LABELS


def reminders_of(session: Session, task_id: int) -> list[OutgoingMessage]:
    """The reminders sent about one task, oldest first."""
    return list(
        session.scalars(
            select(OutgoingMessage)
            .where(OutgoingMessage.follow_up_id == task_id)
            .order_by(OutgoingMessage.id)
        )
    )
