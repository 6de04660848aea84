"""The department's patients: whom it holds now, and what it does about a stay (mark, extend, end).

One service for the console's patients page and the API. The state of a stay is the
routing's own rule (`routing.decision.find_responsibility`) applied to all of the
patient's stays, so what the page says is what a call would do. Actions change the
stored stay; the entry points record them in the audit log with the `detail` returned.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from app.data import queries
from app.data.models import Department, Discharge, Patient
from app.values.cpr import CprError, CprVault, check_feed_cpr, masked
from app.values.times import local_minute
from routing.decision import DischargeInfo, admitted_now, find_responsibility, newest_discharge

# Why a department ends its responsibility early.
END_REASONS = ("readmitted", "died", "handed_over")
# An extension further than this after the discharge is a typing error (a year 2062), not a plan.
LONGEST_EXTENSION = timedelta(days=30)
MAX_REASON = 200


class ResponsibilityRefused(ValueError):
    """An action that cannot be done: `field` names the value at fault (never with a CPR number)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class StayNotFound(LookupError):
    """No such stay among the departments the caller may see (nor whether it exists elsewhere)."""


class State(enum.StrEnum):
    """Where a stay stands now, as a call would find it."""

    ACTIVE = "active"  # the department holds the responsibility now: calls ring its chain
    ADMITTED = "admitted"  # in hospital now (or on leave): calls ring the admitting department
    TO_MARK = "to_mark"  # reported without a target group (a HospitalNotification): opens nothing yet
    NOT_TARGET = "not_target"  # discharged outside the target group
    ENDED = "ended"  # the department ended it early
    OVER = "over"  # the window has passed, or a later stay, admission or death decides now
    CANCELLED = "cancelled"  # the hospital withdrew the stay


@dataclass(frozen=True)
class StayView:
    """One stay as the department sees it: the birth date only, never the CPR number."""

    id: int  # our own id: the console's address of the stay (opaque, not the hospital's)
    external_id: str  # the hospital's id of the stay
    department: str
    department_name: str
    born: str  # "010140-xxxx"
    state: State
    status: str
    admitted_at: datetime | None
    discharged_at: datetime | None
    destination: str | None
    municipality: str | None
    gp_phone: str | None
    target_group: bool | None
    opens: bool  # in the target group as the routing decides: marked, or by the hospital's destination
    until: datetime | None  # the window's end (extension and early end applied) when it opens one
    responsibility_until: datetime | None
    ended_at: datetime | None
    ended_reason: str | None
    source: str

    def left(self, now: datetime) -> timedelta | None:
        """Time left of an active responsibility."""
        if self.state is not State.ACTIVE or self.until is None:
            return None
        return self.until - now


@dataclass(frozen=True)
class PatientList:
    """A department's patients now: under responsibility, to mark, in hospital."""

    active: list[StayView]
    to_mark: list[StayView]
    admitted: list[StayView]


@dataclass(frozen=True)
class Change:
    """What an action did: the stay after it, whether anything changed, and the audit's words."""

    stay: StayView
    changed: bool
    detail: str


def active_patients(
    session: Session, vault: CprVault, codes: Collection[str] | None, now: datetime, window: timedelta
) -> PatientList:
    """Return the departments' patients under responsibility now, to mark, and admitted now.

    `codes` None means every department. Three queries whatever the number of patients.
    """
    since = now - window
    discharged = and_(
        Discharge.status == "discharged",
        Discharge.discharged_at <= now,
        or_(Discharge.discharged_at > since, Discharge.responsibility_until > now),
    )
    inside = Discharge.status.in_(("admitted", "on_leave"))
    query = select(Discharge).where(Discharge.kind == "inpatient", or_(discharged, inside))
    if codes is not None:
        query = query.join(Department).where(Department.code.in_(list(codes)))
    candidates = session.scalars(query).all()
    views = _views(session, vault, candidates, now, window)
    order: dict[State, list[StayView]] = {State.ACTIVE: [], State.TO_MARK: [], State.ADMITTED: []}
    for view in views:
        if view.state in order:
            order[view.state].append(view)
    far = now + timedelta(days=3650)
    return PatientList(
        active=sorted(order[State.ACTIVE], key=lambda v: (v.until or far, v.id)),
        to_mark=sorted(order[State.TO_MARK], key=lambda v: (v.discharged_at or now, v.id)),
        admitted=sorted(order[State.ADMITTED], key=lambda v: (v.admitted_at or now, v.id)),
    )


def find_by_cpr(
    session: Session,
    vault: CprVault,
    text: str,
    codes: Collection[str] | None,
    now: datetime,
    window: timedelta,
) -> list[StayView]:
    """Return the patient's stays in the departments given, newest first; a replacement number works too.

    Raises ResponsibilityRefused (field `cpr`) for text that is no CPR number; the message never
    repeats it.
    """
    try:
        number = check_feed_cpr(text)
    except CprError as exc:
        raise ResponsibilityRefused("cpr", str(exc)) from None
    query = select(Discharge).where(
        # Both keys' lookups while a key rotation is under way.
        Discharge.cpr_lookup.in_(vault.lookup_keys(number)),
        Discharge.status != "cancelled",
    )
    if codes is not None:
        query = query.join(Department).where(Department.code.in_(list(codes)))
    views = _views(session, vault, session.scalars(query).all(), now, window)
    return sorted(views, key=lambda v: (v.discharged_at or v.admitted_at or now, v.id), reverse=True)


def find_stay(
    session: Session,
    codes: Collection[str] | None,
    *,
    stay_id: int | None = None,
    external_id: str | None = None,
) -> Discharge:
    """Return the stay by our id or the hospital's; StayNotFound when it is not among `codes`."""
    if stay_id is not None:
        stay = session.get(Discharge, stay_id)
    else:
        stay = session.scalars(select(Discharge).where(Discharge.external_id == (external_id or ""))).first()
    if stay is None or (codes is not None and stay.department.code not in codes):
        raise StayNotFound("no such stay")
    return stay


def view_stay(
    session: Session, vault: CprVault, stay: Discharge, now: datetime, window: timedelta
) -> StayView:
    """Return the stay as the department sees it now."""
    return _views(session, vault, [stay], now, window)[0]


def full_cpr(vault: CprVault, stay: Discharge) -> str:
    """Return the stay's CPR number, for an explicit and audited "show"."""
    return vault.decrypt(stay.cpr_encrypted)


def patient_ref(vault: CprVault, stay: Discharge) -> str:
    """Return the stay's patient as the audit log and exports name them: the pseudonym (P-…)."""
    return vault.pseudonym(vault.decrypt(stay.cpr_encrypted))


def mark_target_group(
    session: Session, vault: CprVault, stay: Discharge, now: datetime, window: timedelta
) -> Change:
    """Mark a discharge as to the target group, so that it opens the window (flush only)."""
    view = view_stay(session, vault, stay, now, window)
    _discharged(view)
    if stay.target_group is True:
        return Change(view, False, "already in the target group")
    if stay.admitted_at is not None and stay.discharged_at is not None:
        if stay.discharged_at - stay.admitted_at < timedelta(hours=24):
            raise ResponsibilityRefused("stay", "a stay under 24 hours opens no window")
    stay.target_group = True
    stay.updated_at = now
    session.flush()
    after = view_stay(session, vault, stay, now, window)
    return Change(after, True, f"marked as in the target group; {_until_words(after)}")


def extend(
    session: Session,
    vault: CprVault,
    stay: Discharge,
    until: datetime,
    reason: str,
    now: datetime,
    window: timedelta,
) -> Change:
    """Extend the responsibility (forlængelse) to `until`, later than its current end (flush only)."""
    view = view_stay(session, vault, stay, now, window)
    _deciding(session, view, stay, now, "extend")
    reason = _reason(reason)
    current = view.until
    assert current is not None and view.discharged_at is not None
    if until <= current:
        raise ResponsibilityRefused("until", f"must be after the current end, {local_minute(current)}")
    if until <= now:
        raise ResponsibilityRefused("until", "must be in the future")
    if until > view.discharged_at + LONGEST_EXTENSION:
        raise ResponsibilityRefused(
            "until",
            f"at most {LONGEST_EXTENSION.days} days after the discharge ({local_minute(view.discharged_at)})",
        )
    stay.responsibility_until = until
    stay.updated_at = now
    session.flush()
    after = view_stay(session, vault, stay, now, window)
    return Change(after, True, f"extended from {local_minute(current)} to {local_minute(until)}: {reason}")


def end(
    session: Session,
    vault: CprVault,
    stay: Discharge,
    reason: str,
    at: datetime | None,
    now: datetime,
    window: timedelta,
) -> Change:
    """End the responsibility early (readmitted, died, handed over), now or at `at` (flush only)."""
    if reason not in END_REASONS:
        raise ResponsibilityRefused("reason", f"must be one of {', '.join(END_REASONS)}")
    view = view_stay(session, vault, stay, now, window)
    _deciding(session, view, stay, now, "end")
    moment = at or now
    assert view.until is not None and view.discharged_at is not None
    if moment < view.discharged_at:
        raise ResponsibilityRefused("at", f"must not be before the discharge, {_at(view.discharged_at)}")
    if moment >= view.until:
        raise ResponsibilityRefused("at", f"must be before the responsibility's end, {_at(view.until)}")
    stay.ended_at = moment
    stay.ended_reason = reason
    stay.updated_at = now
    session.flush()
    after = view_stay(session, vault, stay, now, window)
    return Change(after, True, f"ended at {local_minute(moment)}: {reason}")


# ---- the state of a stay, by the routing's own rule ----


def _views(
    session: Session, vault: CprVault, stays: Sequence[Discharge], now: datetime, window: timedelta
) -> list[StayView]:
    """The stays' views, with every stay of their patients and any death in two more queries."""
    lookups = sorted({stay.cpr_lookup for stay in stays})
    if not lookups:
        return []
    everything: dict[str, list[DischargeInfo]] = defaultdict(list)
    died: dict[str, datetime | None] = {}
    for start in range(0, len(lookups), 1000):
        chunk = lookups[start : start + 1000]
        for row in session.scalars(
            select(Discharge).where(Discharge.cpr_lookup.in_(chunk), Discharge.status != "cancelled")
        ):
            everything[row.cpr_lookup].append(queries.discharge_info(row))
        for patient in session.scalars(select(Patient).where(Patient.cpr_lookup.in_(chunk))):
            died[patient.cpr_lookup] = patient.deceased_at
    return [
        _view(vault, stay, everything[stay.cpr_lookup], died.get(stay.cpr_lookup), now, window)
        for stay in stays
    ]


def _view(
    vault: CprVault,
    stay: Discharge,
    others: Sequence[DischargeInfo],
    deceased_at: datetime | None,
    now: datetime,
    window: timedelta,
) -> StayView:
    info = queries.discharge_info(stay)
    until = _window_end(info, window)
    return StayView(
        id=stay.id,
        external_id=stay.external_id,
        department=stay.department.code,
        department_name=stay.department.name,
        born=masked(vault.decrypt(stay.cpr_encrypted)),
        state=_state(stay, info, others, deceased_at, until, now, window),
        status=stay.status,
        admitted_at=stay.admitted_at,
        discharged_at=stay.discharged_at,
        destination=stay.destination,
        municipality=stay.municipality,
        gp_phone=stay.gp_phone,
        target_group=stay.target_group,
        opens=info.opens,
        until=until,
        responsibility_until=stay.responsibility_until,
        ended_at=stay.ended_at,
        ended_reason=stay.ended_reason,
        source=stay.source,
    )


def _window_end(info: DischargeInfo, window: timedelta) -> datetime | None:
    """The end of the window this discharge opens (extension and early end applied), if it opens one.

    The routing's rule, asked about the stay alone at the moment of its discharge.
    """
    if info.discharged_at is None or info.kind != "inpatient":
        return None
    opened = find_responsibility([info], info.discharged_at, window)
    return opened.until if opened is not None else None


def _state(
    stay: Discharge,
    info: DischargeInfo,
    others: Sequence[DischargeInfo],
    deceased_at: datetime | None,
    until: datetime | None,
    now: datetime,
    window: timedelta,
) -> State:
    if stay.status == "cancelled":
        return State.CANCELLED
    if info.in_hospital(now):
        return State.ADMITTED
    alive = deceased_at is None or deceased_at > now
    holding = find_responsibility(others, now, window) if alive else None
    if holding is not None and holding.discharge.id == stay.external_id:
        return State.ACTIVE
    if stay.ended_at is not None and stay.ended_at <= now:
        return State.ENDED
    if not info.opens:
        deciding = alive and _decides(info, others, now)
        recent = info.discharged_at is not None and now < info.discharged_at + window
        if stay.target_group is None and deciding and recent:
            return State.TO_MARK
        return State.NOT_TARGET
    return State.OVER


def _decides(info: DischargeInfo, others: Sequence[DischargeInfo], now: datetime) -> bool:
    """Whether this discharge is the one a call would look at (no later one, not back in hospital)."""
    newest = newest_discharge(others, now)
    return admitted_now(others, now) is None and newest is not None and newest.id == info.id


def _discharged(view: StayView) -> None:
    if view.status != "discharged" or view.discharged_at is None:
        raise ResponsibilityRefused("stay", "the patient has not been discharged from this stay")


def _deciding(session: Session, view: StayView, stay: Discharge, now: datetime, what: str) -> None:
    """Refuse to extend or end anything but the responsibility a call would find now."""
    _discharged(view)
    if view.state is State.ENDED:
        raise ResponsibilityRefused("stay", f"the responsibility was already ended ({view.ended_reason})")
    if view.state in (State.TO_MARK, State.NOT_TARGET):
        raise ResponsibilityRefused("stay", "not in the target group: mark it first")
    # A window that ran out may be extended again while this stay is still the one a call finds.
    reopened = what == "extend" and view.state is State.OVER and _latest(session, stay, now)
    if view.state is not State.ACTIVE and not reopened:
        raise ResponsibilityRefused("stay", "no responsibility of this stay is active now")


def _latest(session: Session, stay: Discharge, now: datetime) -> bool:
    """Whether the stay whose window ran out is still the patient's latest, alive and not readmitted."""
    rows = queries.discharges_of(session, stay.cpr_lookup)
    infos = [queries.discharge_info(row) for row in rows]
    patient = queries.patient_of(session, stay.cpr_lookup)
    if patient is not None and patient.deceased_at is not None and patient.deceased_at <= now:
        return False
    return _decides(queries.discharge_info(stay), infos, now)


def _reason(text: str) -> str:
    reason = " ".join((text or "").split())
    if not reason:
        raise ResponsibilityRefused("reason", "required: why the patient needs the department longer")
    if len(reason) > MAX_REASON:
        raise ResponsibilityRefused("reason", f"longer than {MAX_REASON} characters")
    return reason


def _at(moment: datetime) -> str:
    return local_minute(moment)


def _until_words(view: StayView) -> str:
    if view.state is State.ACTIVE and view.until is not None:
        return f"responsibility until {local_minute(view.until)}"
    return f"no window open now ({view.state})"
