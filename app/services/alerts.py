"""Warnings that reach people: each rota gap ahead told once to the department's alert numbers,
again when it is a day away, and the delivery of every SMS and call followed to the end.

The scheduler checks the days ahead every morning, and again whenever what can open or
close a gap changed (a publish, an override, a department's phones). What "the same
gap" is from one check to the next is `routing.alerts`. Messages are recorded first and
sent after the check's transaction, one at a time: a message the provider took but whose
answer was lost is sent again (at least once, never silently dropped). An SMS that fails
becomes a call to the same number, once.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import Alerts, Policy
from app.data import queries
from app.data.models import (
    Department,
    FollowUp,
    GapAlert,
    GapCheck,
    OutgoingMessage,
    PlannerPhone,
    RotaOverride,
    RotaVersion,
    Shift,
)
from app.messaging import Messenger, SendError, Sent, warning_twiml
from app.services.coverage import find_gaps
from app.values.times import local_minute
from app.values.warnings import (
    GapFacts,
    Kind,
    follow_up_spoken,
    override_link_text,
    sms_text,
    spoken_text,
)
from routing import Period, periods
from routing.alerts import KnownGap, plan_alerts
from routing.calendar import COPENHAGEN

log = logging.getLogger("linje72.alerts")
NEAR = timedelta(hours=24)  # "a day away": the reminder
QUIET_FROM = time(22)  # reminders wait from here until the morning's check, unless the gap comes first
GIVE_UP = timedelta(hours=1)  # a message the provider never took in this long is marked failed
SMS, VOICE = "sms", "voice"
QUEUED, NOT_SENT, FAILED = "queued", "not_sent", "failed"
SENDING_OFF = "not sent: sending is off (set TWILIO_ACCOUNT_SID and LINJE72_SMS_FROM)"
# The provider's statuses in the order they happen; a late callback never moves one back.
SMS_ORDER = {"queued": 0, "accepted": 0, "scheduled": 0, "sending": 1, "sent": 2}
CALL_ORDER = {"queued": 0, "initiated": 0, "ringing": 1, "in-progress": 2}
SMS_FINAL = frozenset({"delivered", "undelivered", "failed", "read", "canceled"})
CALL_FINAL = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
SMS_FAILED = frozenset({"undelivered", "failed"})


@dataclass(frozen=True)
class Alerting:
    """The warnings' settings, the Danish voice, and the provider (None: sending is off)."""

    settings: Alerts
    voice: str
    messenger: Callable[[], Messenger] | None = None

    @property
    def sending(self) -> bool:
        return self.messenger is not None and self.settings.sending is not None


@dataclass(frozen=True)
class CheckSummary:
    gaps: int
    new: int
    closed: int


# ---- what can open or close a gap, and when it was last looked at ----


def rota_marker(session: Session) -> str:
    """Return a fingerprint of everything that can open or close a gap: shifts, publishes, overrides,
    the departments' own phones and hours."""
    parts: list[object] = [
        session.scalar(select(func.max(RotaVersion.id))),
        session.scalar(select(func.max(Shift.id))),
        session.scalar(select(func.count()).select_from(Shift)),
        session.scalar(select(func.max(RotaOverride.id))),
        session.scalar(
            select(func.count()).select_from(RotaOverride).where(RotaOverride.ended_at.is_not(None))
        ),
    ]
    parts += session.execute(
        select(Department.id, Department.day_phone, Department.oncall_phone, Department.day_hours).order_by(
            Department.id
        )
    ).all()
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def last_check(session: Session) -> GapCheck | None:
    return session.scalars(select(GapCheck).order_by(GapCheck.checked_at.desc(), GapCheck.id.desc())).first()


def rota_changed(session: Session) -> bool:
    """Return whether anything that can open or close a gap changed since the last check."""
    previous = last_check(session)
    return previous is None or previous.marker != rota_marker(session)


# ---- the check ----


def check_gaps(
    session: Session, policy: Policy, alerting: Alerting, now: datetime, reason: str
) -> CheckSummary:
    """Find the gaps of the days ahead, record each as an alert and tell the planners once (flush only)."""
    horizon = timedelta(days=alerting.settings.days)
    found = find_gaps(session, policy.calendar, now, horizon)
    previous = last_check(session)
    rows = {
        row.id: row
        for row in session.scalars(
            select(GapAlert).where(
                GapAlert.closed_at.is_(None), GapAlert.end_at > now, GapAlert.start_at < now + horizon
            )
        )
    }
    known = [KnownGap(row.id, row.department.code, row.start_at, row.end_at) for row in rows.values()]
    plan = plan_alerts(known, found, now, previous.horizon_end if previous else None)
    departments = queries.all_departments(session)

    for gap in plan.new:
        near = gap.start - now <= NEAR
        alert = GapAlert(
            department_id=departments[gap.department].id,
            start_at=gap.start,
            end_at=gap.end,
            found_at=now,
            near_alert_at=now if near else None,  # told now; a reminder would only repeat it
        )
        session.add(alert)
        session.flush()
        _tell(session, alerting, alert, Kind.GAP, gap.period, now)
    for alert_id, gap in plan.grown:
        alert = rows[alert_id]
        alert.start_at, alert.end_at = gap.start, gap.end
        if gap.start - now <= NEAR and alert.near_alert_at is None:
            alert.near_alert_at = now
        _tell(session, alerting, alert, Kind.GROWN, gap.period, now)
    for alert_id, gap in plan.kept:
        rows[alert_id].start_at, rows[alert_id].end_at = gap.start, gap.end
    for alert_id, gap in plan.split:
        source = rows[alert_id]
        session.add(
            GapAlert(
                department_id=source.department_id,
                start_at=gap.start,
                end_at=gap.end,
                found_at=source.found_at,
                near_alert_at=source.near_alert_at,
            )
        )
    for alert_id in plan.merged:
        rows[alert_id].closed_at = now
    for alert_id in plan.covered:
        alert = rows[alert_id]
        alert.closed_at = now
        log.info(
            "rota gap of %s from %s to %s is covered now",
            alert.department.code,
            local_minute(alert.start_at),
            local_minute(alert.end_at),
        )
        if _was_told(session, alert):
            _tell(session, alerting, alert, Kind.COVERED, _period(session, policy, alert), now)
    closed = len(plan.covered) + len(plan.merged)
    session.add(
        GapCheck(
            checked_at=now,
            reason=reason,
            marker=rota_marker(session),
            horizon_end=now + horizon,
            gaps=len(found),
            new=len(plan.new),
            closed=closed,
        )
    )
    session.flush()
    log.info(
        "gap check (%s): %d gap(s) in the next %d days, %d new, %d grown, %d closed",
        reason,
        len(found),
        alerting.settings.days,
        len(plan.new),
        len(plan.grown),
        closed,
    )
    return CheckSummary(len(found), len(plan.new), closed)


def remind_near(session: Session, policy: Policy, alerting: Alerting, now: datetime) -> int:
    """Tell the planners again of each open gap now less than a day away (flush only).

    At night a reminder waits for the morning's check, unless the gap starts before it.
    """
    until = now + NEAR
    local = now.astimezone(COPENHAGEN)
    morning = alerting.settings.morning
    if local.time() >= QUIET_FROM or local.time() < morning:
        day = local.date() + timedelta(days=1 if local.time() >= QUIET_FROM else 0)
        until = min(until, datetime.combine(day, morning, tzinfo=COPENHAGEN))
    due = session.scalars(
        select(GapAlert)
        .where(
            GapAlert.closed_at.is_(None),
            GapAlert.near_alert_at.is_(None),
            GapAlert.start_at <= until,
            GapAlert.end_at > now,
        )
        .order_by(GapAlert.start_at, GapAlert.id)
    ).all()
    for alert in due:
        alert.near_alert_at = now
        _tell(session, alerting, alert, Kind.NEAR, _period(session, policy, alert), now)
    session.flush()
    return len(due)


# ---- the messages ----


def _facts(alert: GapAlert, period: Period) -> GapFacts:
    return GapFacts(alert.department.code, alert.department.name, period, alert.start_at, alert.end_at)


def _period(session: Session, policy: Policy, alert: GapAlert) -> Period:
    """The period a gap lies in (a gap never spans two: the definition of a gap cuts it there)."""
    info = queries.department_info(alert.department)
    calendar = info.calendar_on(queries.calendar_of(session, info.code, policy.calendar))
    return periods(calendar, alert.start_at, alert.end_at, info.day_hours)[0][2]


def coverage_link(settings: Alerts, code: str) -> str:
    return f"{settings.public_url}/coverage/{code}"


def _was_told(session: Session, alert: GapAlert) -> bool:
    return session.scalar(select(func.count()).where(OutgoingMessage.gap_alert_id == alert.id)) != 0


def _tell(
    session: Session, alerting: Alerting, alert: GapAlert, kind: Kind, period: Period, now: datetime
) -> list[OutgoingMessage]:
    """Record the warning for each of the department's alert numbers: SMS to mobiles, calls otherwise.

    That a gap is covered now goes only by SMS: good news is no reason to ring someone.
    """
    department = alert.department
    facts = _facts(alert, period)
    phones = session.scalars(
        select(PlannerPhone).where(PlannerPhone.department_id == department.id).order_by(PlannerPhone.id)
    ).all()
    log.warning(
        "rota gap (%s): nobody of %s answers first in %s time from %s to %s; telling %d number(s)%s",
        kind.value,
        department.code,
        period.value,
        local_minute(alert.start_at),
        local_minute(alert.end_at),
        len(phones),
        "" if alerting.sending else " (sending is off: recorded only)",
    )
    if not phones:
        log.error(
            "nobody hears of the gaps of %s: add an alert number (linje72 planner-phone add %s NUMBER)",
            department.code,
            department.code,
        )
    messages = []
    for phone in phones:
        if phone.mobile:
            body = sms_text(kind, facts, coverage_link(alerting.settings, department.code))
            channel = SMS
        elif kind is Kind.COVERED:
            continue
        else:
            body, channel = spoken_text(kind, facts), VOICE
        messages.append(_record(session, alerting, channel, phone.phone, kind, body, alert.id, now))
    return messages


def _record(
    session: Session,
    alerting: Alerting,
    channel: str,
    to: str,
    kind: Kind,
    body: str,
    alert_id: int | None,
    now: datetime,
    replaces: OutgoingMessage | None = None,
    *,
    follow_up_id: int | None = None,
) -> OutgoingMessage:
    message = OutgoingMessage(
        created_at=now,
        channel=channel,
        to_number=to,
        purpose=kind.value,
        body=body,
        status=QUEUED if alerting.sending else NOT_SENT,
        status_at=now,
        error=None if alerting.sending else SENDING_OFF,
        gap_alert_id=alert_id,
        replaces_id=replaces.id if replaces else None,
        follow_up_id=follow_up_id,
    )
    session.add(message)
    session.flush()
    return message


# Other warnings (the follow-up reminders) are recorded the same way, and sent by `deliver`.
record_message = _record


def queue_override_link(
    session: Session,
    alerting: Alerting,
    *,
    to: str,
    department: str,
    start: datetime,
    end: datetime,
    link: str,
    now: datetime,
) -> OutgoingMessage:
    """Record an SMS to a doctor with a link to the override form for a stretch (sent by `deliver`).

    The link carries no power of its own: it opens the form only after a login.
    """
    body = override_link_text(department, start, end, link)
    return _record(session, alerting, SMS, to, Kind.OVERRIDE_LINK, body, None, now)


def pending(session: Session, now: datetime) -> list[int]:
    """Return the messages waiting to go to the provider, oldest first; give up on the too old."""
    rows = session.scalars(
        select(OutgoingMessage)
        .where(OutgoingMessage.status == QUEUED, OutgoingMessage.provider_sid.is_(None))
        .order_by(OutgoingMessage.id)
    ).all()
    waiting = []
    for message in rows:
        if now - message.created_at > GIVE_UP:
            message.status, message.status_at = FAILED, now
            message.error = f"never taken by the provider: {message.error or 'not sent'}"[:200]
            log.error(
                "gave up %s to %s (message %d): %s",
                message.channel,
                message.to_number,
                message.id,
                message.error,
            )
        else:
            waiting.append(message.id)
    session.flush()
    return waiting


@dataclass(frozen=True)
class Outgoing:
    """A recorded message as the provider gets it: read in one transaction, sent outside any."""

    id: int
    channel: str
    to: str
    body: str


def to_send(session: Session, message_id: int) -> Outgoing | None:
    """Return the message if it still waits for the provider."""
    message = session.get(OutgoingMessage, message_id)
    if message is None or message.status != QUEUED or message.provider_sid is not None:
        return None
    return Outgoing(message.id, message.channel, message.to_number, message.body)


def hand_over(alerting: Alerting, outgoing: Outgoing) -> Sent | SendError:
    """Give one message to the provider: no database here, so no lock is held while it answers."""
    sending = alerting.settings.sending
    if alerting.messenger is None or sending is None:
        return SendError(SENDING_OFF, permanent=True)
    messenger = alerting.messenger()
    try:
        if outgoing.channel == SMS:
            return messenger.send_sms(
                outgoing.to, sending.sms_from, outgoing.body, f"{alerting.settings.public_url}/sms/status"
            )
        return messenger.call(
            outgoing.to,
            sending.call_from,
            warning_twiml(outgoing.body, alerting.voice),
            f"{alerting.settings.public_url}/sms/call-status",
        )
    except SendError as exc:
        return exc


def record_handover(
    session: Session,
    policy: Policy,
    alerting: Alerting,
    message_id: int,
    result: Sent | SendError,
    now: datetime,
) -> list[int]:
    """Record what the provider answered (flush only); return the ids of replacement calls to send.

    A refused SMS becomes a call to the same number; a provider that could not be reached
    leaves the message queued for the next try.
    """
    message = session.get(OutgoingMessage, message_id)
    if message is None or message.status != QUEUED or message.provider_sid is not None:
        return []
    if isinstance(result, Sent):
        message.provider_sid, message.status, message.status_at, message.error = (
            result.sid,
            result.status,
            now,
            None,
        )
        session.flush()
        log.info("sent %s %s to %s (%s)", message.purpose, message.channel, message.to_number, result.sid)
        return []
    message.error = str(result)[:200]
    if not result.permanent:
        log.warning("could not send %s to %s yet: %s", message.channel, message.to_number, result)
        session.flush()
        return []
    message.status, message.status_at = FAILED, now
    log.error("the provider refused the %s to %s: %s", message.channel, message.to_number, result)
    replacement = _replace_failed_sms(session, policy, alerting, message, now)
    session.flush()
    return [replacement.id] if replacement else []


def deliver(
    message_ids: Sequence[int],
    policy: Policy,
    alerting: Alerting,
    now: datetime,
    transaction: Callable[[], AbstractContextManager[Session]],
) -> int:
    """Send the messages one by one, each recorded in a short transaction of its own; return how many
    the provider took. Replacement calls for refused SMS are sent in the same run."""
    queue, taken = list(message_ids), 0
    while queue:
        message_id = queue.pop(0)
        with transaction() as session:
            outgoing = to_send(session, message_id)
        if outgoing is None:
            continue
        result = hand_over(alerting, outgoing)
        taken += isinstance(result, Sent)
        with transaction() as session:
            queue += record_handover(session, policy, alerting, message_id, result, now)
    return taken


def _replace_failed_sms(
    session: Session, policy: Policy, alerting: Alerting, message: OutgoingMessage, now: datetime
) -> OutgoingMessage | None:
    """Record a call that reads the warning a failed SMS carried (once per SMS)."""
    if message.channel != SMS or message.purpose == Kind.COVERED:
        return None
    if message.gap_alert_id is None and message.follow_up_id is None:
        return None
    already = session.scalar(select(func.count()).where(OutgoingMessage.replaces_id == message.id))
    if already:
        return None
    if message.follow_up_id is not None:
        return _replace_failed_reminder(session, alerting, message, now)
    alert = session.get(GapAlert, message.gap_alert_id)
    if alert is None or alert.closed_at is not None or alert.end_at <= now:
        log.info("SMS %d failed, but its gap is covered or over: no call", message.id)
        return None
    text = spoken_text(Kind(message.purpose), _facts(alert, _period(session, policy, alert)))
    log.warning("SMS to %s failed (%s): calling the number instead", message.to_number, message.status)
    return _record(
        session, alerting, VOICE, message.to_number, Kind(message.purpose), text, alert.id, now, message
    )


def _replace_failed_reminder(
    session: Session, alerting: Alerting, message: OutgoingMessage, now: datetime
) -> OutgoingMessage | None:
    """Record a call that reads a follow-up reminder whose SMS failed, unless the task was taken since."""
    task = session.get(FollowUp, message.follow_up_id)
    if (
        task is None
        or task.closed_at is not None
        or task.claimed_by_id is not None
        or task.department is None
    ):
        log.info("SMS %d failed, but its task is taken or closed: no call", message.id)
        return None
    log.warning(
        "reminder SMS to %s failed (%s): calling the number instead", message.to_number, message.status
    )
    text = follow_up_spoken(task.department.name)
    kind = Kind(message.purpose)
    return _record(
        session, alerting, VOICE, message.to_number, kind, text, None, now, message, follow_up_id=task.id
    )


# ---- delivery: the provider's status callbacks ----


def record_status(
    session: Session,
    policy: Policy,
    alerting: Alerting,
    sid: str,
    status: str,
    error_code: str,
    now: datetime,
) -> list[int]:
    """Record a status the provider reports for one of our messages or calls (flush only).

    A repeated or late callback changes nothing. Returns the ids of replacement calls to
    send (an SMS that ended failed or undelivered).
    """
    message = session.scalars(
        select(OutgoingMessage).where(OutgoingMessage.provider_sid == sid).with_for_update()
    ).first()
    if message is None:
        log.info("status %s for %s, which is none of ours", status, sid)
        return []
    order, final = (SMS_ORDER, SMS_FINAL) if message.channel == SMS else (CALL_ORDER, CALL_FINAL)
    if status not in order and status not in final:
        log.warning("unknown status %r for %s: ignored", status[:20], sid)
        return []
    if message.status in final or (status in order and order[status] <= order.get(message.status, -1)):
        return []
    message.status, message.status_at = status, now
    if error_code:
        message.error = f"provider error {error_code[:20]}"
    session.flush()
    log.info("%s %d to %s: %s", message.channel, message.id, message.to_number, status)
    if message.channel == SMS and status in SMS_FAILED:
        replacement = _replace_failed_sms(session, policy, alerting, message, now)
        return [replacement.id] if replacement else []
    return []


# ---- what the console shows ----


@dataclass(frozen=True)
class DepartmentAlerts:
    """One department's alert numbers, its open and recent gap alerts, and the messages sent."""

    code: str
    name: str
    phones: list[PlannerPhone]
    alerts: list[GapAlert]
    messages: list[OutgoingMessage]


def department_alerts(
    session: Session, codes: Collection[str] | None, now: datetime, *, days: int = 30
) -> list[DepartmentAlerts]:
    """Return each visible department's alert numbers, its gap alerts and messages of the last `days`."""
    query = select(Department).order_by(Department.code)
    if codes is not None:
        query = query.where(Department.code.in_(list(codes)))
    departments = session.scalars(query).all()
    since = now - timedelta(days=days)
    found = []
    for department in departments:
        alerts = session.scalars(
            select(GapAlert)
            .where(GapAlert.department_id == department.id, GapAlert.end_at > since)
            .order_by(GapAlert.start_at.desc(), GapAlert.id.desc())
            .limit(100)
        ).all()
        messages: Sequence[OutgoingMessage] = []
        if alerts:
            messages = session.scalars(
                select(OutgoingMessage)
                .where(OutgoingMessage.gap_alert_id.in_([a.id for a in alerts]))
                .order_by(OutgoingMessage.created_at.desc(), OutgoingMessage.id.desc())
            ).all()
        phones = session.scalars(
            select(PlannerPhone)
            .where(PlannerPhone.department_id == department.id)
            .order_by(PlannerPhone.phone)
        ).all()
        found.append(
            DepartmentAlerts(department.code, department.name, list(phones), list(alerts), list(messages))
        )
    return found
