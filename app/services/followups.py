"""Follow-up (opfølgning): the call-back tasks owed to callers nobody answered, worked from open to
closed, and what each contact led to.

A task is made with its contact's mark (`contacts.mark_for_follow_up`). It belongs to the contact's
department; one without a department (the caller or the patient was never identified) is the
administrators'. Department staff see their departments' tasks, administrators every task; the
region sees none (it follows the arrangement in counts). One person holds a task at a time; closing
records the result on the contact. The worklist is not a medical record: the advice belongs in the
patient's record in the EHR.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from app.data.models import Contact, Department, FollowUp, User, VoiceMessage
from app.values.cpr import CprVault
from app.values.followup import RESULTS

# Outcomes of a call someone took: the department may record what it led to.
TAKEN = ("connected", "forwarded")
OPEN, CLOSED, ALL = "open", "closed", "all"


class FollowUpNotFound(LookupError):
    """No such task among the departments the account may see (nor whether it exists)."""


class FollowUpRefused(ValueError):
    """A change to a task that cannot be made: why (`reason`, one of REFUSALS), and who holds it."""

    def __init__(self, reason: str, holder: str | None = None) -> None:
        self.reason = reason
        self.holder = holder
        self.message = REFUSALS[reason].format(holder=holder)
        super().__init__(self.message)


REFUSALS = {
    "closed": "the task is closed already",
    "taken": "{holder} has taken the task",
    "holder_only": "{holder} has taken the task; only they can give it back",
    "not_taken": "nobody has taken the task",
    "result": "choose what the call led to",
}


@dataclass(frozen=True)
class Task:
    """A call-back task as the worklist, its page and the API show it: the patient masked."""

    id: int
    contact_id: int
    opened_at: datetime
    department: str | None  # code; None: no department (the administrators' list)
    department_name: str | None
    caller_organisation: str | None
    caller_kind: str | None
    callback_number: str | None  # None: the number was withheld
    patient: str | None  # the birth date, e.g. 010140-xxxx; None: no patient given
    patient_ref: str | None  # the pseudonym, for the audit log
    has_cpr: bool
    message_seconds: int | None  # a stored voice message's length; None: no message
    claimed_by: str | None
    claimed_at: datetime | None
    closed_by: str | None
    closed_at: datetime | None
    result: str | None
    overdue: bool
    reminders: int

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


def masked_born(born: date | None) -> str | None:
    """The patient as staff see them unasked: the birth date only, as on the patients' pages."""
    return f"{born:%d%m%y}-xxxx" if born else None


def _visible(query: Select[FollowUp], codes: Collection[str] | None) -> Select[FollowUp]:
    """Only the departments given; None: every task, those without a department too."""
    if codes is None:
        return query
    return query.join(Department, FollowUp.department_id == Department.id).where(
        Department.code.in_(list(codes))
    )


def _loaded(query: Select[FollowUp]) -> Select[FollowUp]:
    return query.options(selectinload(FollowUp.contact), selectinload(FollowUp.department))


def _views(session: Session, rows: Sequence[FollowUp], now: datetime, overdue: timedelta) -> list[Task]:
    """Each task with its people and message, in three queries whatever the number of tasks."""
    contact_ids = [row.contact_id for row in rows]
    messages: dict[int, int] = {}
    if contact_ids:
        stored = select(VoiceMessage.contact_id, VoiceMessage.seconds).where(
            VoiceMessage.contact_id.in_(contact_ids), VoiceMessage.stored_at.is_not(None)
        )
        messages = dict(session.execute(stored).all())
    user_ids = {i for row in rows for i in (row.claimed_by_id, row.closed_by_id) if i is not None}
    emails: dict[int, str] = {}
    if user_ids:
        emails = dict(session.execute(select(User.id, User.email).where(User.id.in_(user_ids))).all())
    tasks = []
    for row in rows:
        contact = row.contact
        tasks.append(
            Task(
                id=row.id,
                contact_id=row.contact_id,
                opened_at=row.opened_at,
                department=row.department.code if row.department else None,
                department_name=row.department.name if row.department else None,
                caller_organisation=contact.caller_organisation,
                caller_kind=contact.caller_kind,
                callback_number=contact.caller_number if contact.caller_number.startswith("+") else None,
                patient=masked_born(contact.patient_born),
                patient_ref=contact.patient_ref,
                has_cpr=contact.patient_cpr_encrypted is not None,
                message_seconds=messages.get(row.contact_id),
                claimed_by=emails.get(row.claimed_by_id) if row.claimed_by_id else None,
                claimed_at=row.claimed_at,
                closed_by=emails.get(row.closed_by_id) if row.closed_by_id else None,
                closed_at=row.closed_at,
                result=contact.result,
                overdue=row.closed_at is None and now - row.opened_at >= overdue,
                reminders=(row.first_reminder_at is not None) + (row.second_reminder_at is not None),
            )
        )
    return tasks


@dataclass(frozen=True)
class Worklist:
    open: list[Task]  # overdue first, then the oldest first
    closed: list[Task]  # the newest closed first


def worklist(
    session: Session,
    codes: Collection[str] | None,
    now: datetime,
    overdue: timedelta,
    *,
    closed_days: int = 7,
) -> Worklist:
    """Return the open tasks of the departments given, and those closed in the last `closed_days`."""
    open_rows = session.scalars(
        _loaded(_visible(select(FollowUp), codes))
        .where(FollowUp.closed_at.is_(None))
        .order_by(FollowUp.opened_at, FollowUp.id)
    ).all()
    closed_rows = session.scalars(
        _loaded(_visible(select(FollowUp), codes))
        .where(FollowUp.closed_at >= now - timedelta(days=closed_days))
        .order_by(FollowUp.closed_at.desc(), FollowUp.id.desc())
        .limit(200)
    ).all()
    opened = _views(session, open_rows, now, overdue)
    # Overdue first (the oldest of them first), then the rest, oldest first.
    opened.sort(key=lambda task: (not task.overdue, task.opened_at, task.id))
    return Worklist(opened, _views(session, closed_rows, now, overdue))


def find_task(session: Session, codes: Collection[str] | None, task_id: int) -> FollowUp:
    """Return the task, locked for a change; FollowUpNotFound when it is not among `codes`."""
    row = session.scalars(
        _loaded(select(FollowUp).where(FollowUp.id == task_id)).with_for_update(of=FollowUp)
    ).first()
    if row is None or (codes is not None and (row.department is None or row.department.code not in codes)):
        raise FollowUpNotFound("no such task")
    return row


def view_task(session: Session, row: FollowUp, now: datetime, overdue: timedelta) -> Task:
    return _views(session, [row], now, overdue)[0]


def full_cpr(vault: CprVault, row: FollowUp) -> str | None:
    """Return the patient's CPR number, for an explicit and audited "show"; None when none is kept."""
    blob = row.contact.patient_cpr_encrypted
    return vault.decrypt(blob) if blob is not None else None


def _holder(session: Session, row: FollowUp) -> str:
    user = session.get(User, row.claimed_by_id) if row.claimed_by_id else None
    return user.email if user else "someone"


def claim(session: Session, row: FollowUp, user: User, now: datetime) -> bool:
    """Take the task: nobody else works it now (flush only). Returns False when the user held it already.

    Raises FollowUpRefused when it is closed or someone else holds it.
    """
    if row.closed_at is not None:
        raise FollowUpRefused("closed")
    if row.claimed_by_id == user.id:
        return False
    if row.claimed_by_id is not None:
        raise FollowUpRefused("taken", _holder(session, row))
    row.claimed_by_id, row.claimed_at = user.id, now
    session.flush()
    return True


def release(session: Session, row: FollowUp, user: User, *, admin: bool = False) -> None:
    """Give the task back to the worklist (flush only); only its holder or an administrator may."""
    if row.closed_at is not None:
        raise FollowUpRefused("closed")
    if row.claimed_by_id is None:
        raise FollowUpRefused("not_taken")
    if row.claimed_by_id != user.id and not admin:
        raise FollowUpRefused("holder_only", _holder(session, row))
    row.claimed_by_id, row.claimed_at = None, None
    session.flush()


def _result(text: str) -> str:
    result = (text or "").strip()
    if result not in RESULTS:
        raise FollowUpRefused("result")
    return result


def close(session: Session, row: FollowUp, user: User, result: str, now: datetime) -> None:
    """Close the task with what the call back led to (flush only); an untaken task is taken by the closer.

    Raises FollowUpRefused for an unknown result, a closed task, or one someone else holds.
    """
    chosen = _result(result)
    if row.closed_at is not None:
        raise FollowUpRefused("closed")
    if row.claimed_by_id is not None and row.claimed_by_id != user.id:
        raise FollowUpRefused("taken", _holder(session, row))
    if row.claimed_by_id is None:
        row.claimed_by_id, row.claimed_at = user.id, now
    row.closed_by_id, row.closed_at = user.id, now
    row.contact.result = chosen
    session.flush()


def find_taken_contact(session: Session, codes: Collection[str] | None, contact_id: int) -> Contact:
    """Return a call someone took, of the departments given; FollowUpNotFound otherwise."""
    contact = session.get(Contact, contact_id, with_for_update=True)
    if (
        contact is None
        or contact.outcome not in TAKEN
        or contact.test_call
        or (codes is not None and (contact.department is None or contact.department.code not in codes))
    ):
        raise FollowUpNotFound("no such call")
    return contact


def record_result(contact: Contact, result: str) -> bool:
    """Record what a taken call led to (flush by the caller); return whether it changed."""
    chosen = _result(result)
    changed = contact.result != chosen
    contact.result = chosen
    return changed


def tasks_page(
    session: Session,
    codes: Collection[str] | None,
    now: datetime,
    overdue: timedelta,
    *,
    department: str = "",
    status: str = ALL,
    since: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Task], int]:
    """Return a page of tasks, oldest first, and how many match: for the API."""
    query = _visible(select(FollowUp), codes)
    conditions = []
    if department:
        chosen = aliased(Department)
        query = query.join(chosen, FollowUp.department_id == chosen.id)
        conditions.append(chosen.code == department)
    if status == OPEN:
        conditions.append(FollowUp.closed_at.is_(None))
    elif status == CLOSED:
        conditions.append(FollowUp.closed_at.is_not(None))
    if since is not None:
        conditions.append(or_(FollowUp.opened_at >= since, and_(FollowUp.closed_at >= since)))
    total = session.scalar(select(func.count()).select_from(query.where(*conditions).subquery())) or 0
    rows = session.scalars(
        _loaded(query.where(*conditions))
        .order_by(FollowUp.opened_at, FollowUp.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return _views(session, rows, now, overdue), total
