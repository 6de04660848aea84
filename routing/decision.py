"""Decide where a call about a patient goes (routing-policy.md, steps 4 and 5)."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from routing.agreement import Agreement
from routing.calendar import Calendar, DayHours, Period
from routing.rota import Role

TARGET_DESTINATIONS = frozenset({"temporary_stay", "nursing_home", "home_nursing", "residential"})
DESTINATIONS = TARGET_DESTINATIONS | {"other"}
MINIMUM_STAY = timedelta(hours=24)
# Lines answered by staff who may answer with a menu of their own: put through after an
# announcement, without a key (their attempt is `answered`, the call `forwarded`).
STAFFED_LABELS = frozenset({"switchboard", "gp", "after_hours", "fallback"})
# Who calls, by kind of caller (app.values.callers): nursing staff, whom an agreement with
# nurse-first puts through to the department's nurses first, and doctors, who always get the
# doctors. Any other kind (or none known) gets the doctors too.
NURSING_CALLERS = frozenset(
    {"home_nursing", "nursing_home", "temporary_stay", "residential", "acute_nursing"}
)
DOCTOR_CALLERS = frozenset({"gp", "nursing_home_doctor", "acute_1813"})


class Route(enum.StrEnum):
    """Why a call went where it went (the contact export's `route`)."""

    RESPONSIBILITY = "responsibility"
    INPATIENT = "inpatient"  # admitted or on leave now: the admitting department's chain
    NO_RESPONSIBILITY = "no_responsibility"
    UNIDENTIFIED_CALLER = "unidentified_caller"
    INVALID_PATIENT = "invalid_patient"

    @property
    def department_holds(self) -> bool:
        """A department holds the patient now: its chain is rung, and it calls back."""
        return self in (Route.RESPONSIBILITY, Route.INPATIENT)


@dataclass(frozen=True)
class CallerInfo:
    organisation: str
    kind: str
    language: str = "da"


@dataclass(frozen=True)
class DepartmentInfo:
    code: str
    name: str
    hospital: str
    day_phone: str
    switchboard_phone: str
    oncall_phone: str | None = None
    day_hours: DayHours | None = None
    psychiatric: bool = False  # takes part only where its agreement includes psychiatry
    # The department whose on-call chain it takes in on-call time (a shared on-call pool), by code.
    oncall_pool: str | None = None
    # Its own calendar on top of its agreement's: extra closed days (month, day) and half days
    # (month, day, closing time), e.g. a ward closed on 2 January.
    closed_days: frozenset[tuple[int, int]] = frozenset()
    half_days: frozenset[tuple[int, int, time]] = frozenset()

    def calendar_on(self, base: Calendar) -> Calendar:
        """Return the calendar the department runs on: `base` (its agreement's or the deployment's)
        with the department's own closed days and half days added."""
        return base.with_extra(self.closed_days, self.half_days)


@dataclass(frozen=True)
class DischargeInfo:
    """One stay of the patient in hospital, as the hospitals reported it, and its discharge
    (udskrivning) once it has happened (`discharged_at` None: still admitted, or on leave)."""

    id: str
    department_code: str
    discharged_at: datetime | None
    destination: str | None
    admitted_at: datetime | None = None
    gp_phone: str | None = None
    responsibility_until: datetime | None = None
    kind: str = "inpatient"  # or emergency: an emergency visit neither opens nor ends a window
    target_group: bool | None = None  # None: as the destination says
    ended_at: datetime | None = None  # the department ended the responsibility early
    municipality: str | None = None  # the patient's home municipality, where the feed gives it

    @property
    def opens(self) -> bool:
        """Whether its discharge is to the arrangement's target group."""
        if self.target_group is not None:
            return self.target_group
        return self.destination in TARGET_DESTINATIONS

    def in_hospital(self, now: datetime) -> bool:
        """Admitted (or on leave, which is still an admission) at `now`."""
        if self.kind != "inpatient" or self.admitted_at is None or _utc(self.admitted_at) > _utc(now):
            return False
        return self.discharged_at is None or _utc(now) < _utc(self.discharged_at)


@dataclass(frozen=True)
class ShiftInfo:
    role: Role
    start: datetime
    end: datetime
    phone: str
    name: str = ""

    def covers(self, moment: datetime) -> bool:
        return _utc(self.start) <= _utc(moment) < _utc(self.end)


@dataclass(frozen=True)
class Target:
    """One number to ring, with why it is in the chain (for people, not for logic)."""

    number: str
    label: str
    name: str = ""
    pool: str = ""  # the on-call pool's department code, when the entry is the pool's


@dataclass(frozen=True)
class Responsibility:
    """The active window: which discharge opened it and when it ends."""

    discharge: DischargeInfo
    until: datetime


@dataclass(frozen=True)
class Decision:
    route: Route
    period: Period
    targets: tuple[Target, ...]
    department_code: str | None = None
    responsibility: Responsibility | None = None
    newest_discharge: DischargeInfo | None = None


def _utc(moment: datetime) -> datetime:
    """Return `moment` in UTC, so that comparing and adding work in elapsed time.

    Python compares, subtracts and adds aware datetimes that share a tzinfo
    (such as two Europe/Copenhagen times) by their wall-clock readings, which is
    one hour off across a daylight-saving change; in UTC they are exact.
    """
    return moment.astimezone(UTC)


def newest_discharge(
    discharges: Iterable[DischargeInfo], now: datetime, counts: Callable[[DischargeInfo], bool] | None = None
) -> DischargeInfo | None:
    """Return the most recent inpatient discharge that has happened by `now` (an emergency visit
    decides nothing, unless `counts` says so: an agreement covering nursing-home residents' short
    emergency stays)."""
    past = [
        d
        for d in discharges
        if (d.kind == "inpatient" or (counts is not None and counts(d)))
        and d.discharged_at is not None
        and _utc(d.discharged_at) <= _utc(now)
    ]
    return max(past, key=lambda d: _utc(d.discharged_at), default=None)  # type: ignore[arg-type]


def admitted_now(stays: Iterable[DischargeInfo], now: datetime) -> DischargeInfo | None:
    """Return the stay the patient is in hospital on at `now` (the latest admission), if any."""
    inside = [s for s in stays if s.in_hospital(now)]
    return max(inside, key=lambda s: _utc(s.admitted_at), default=None)  # type: ignore[arg-type]


def find_responsibility(
    discharges: Sequence[DischargeInfo],
    now: datetime,
    window: timedelta,
    *,
    agreement: Agreement | None = None,
    department: DepartmentInfo | None = None,
    born: date | None = None,
) -> Responsibility | None:
    """Return the active responsibility window at `now`, if any.

    The most recent inpatient discharge decides; a stay known to be shorter than the
    agreement's short stay (24 hours) or a discharge outside the target group opens
    none; an admission after the discharge (the patient is back in hospital, or was and
    left again) ends it, and so does the department ending it early. Under an
    `agreement` (the deciding department's), its window, age and residency limits,
    short-stay rule and psychiatry rule apply.
    """
    if admitted_now(discharges, now) is not None:
        return None
    counts = (
        _nursing_home_short_stay if agreement is not None and agreement.nursing_home_short_stays else None
    )
    newest = newest_discharge(discharges, now, counts)
    if newest is None or newest.discharged_at is None or not newest.opens:
        return None
    discharged_at = _utc(newest.discharged_at)
    short_stay = agreement.short_stay if agreement is not None else MINIMUM_STAY
    if newest.admitted_at is not None and discharged_at - _utc(newest.admitted_at) < short_stay:
        if counts is None or not counts(newest):
            return None
    if agreement is not None:
        if department is not None and department.psychiatric and not agreement.psychiatry:
            return None
        if not agreement.covers_patient(born, newest.municipality, discharged_at):
            return None
        window = agreement.window
    # Elapsed time: added in UTC, so the clock across a daylight-saving change
    # shows one hour more or less, as the policy says.
    until = discharged_at + window
    if newest.responsibility_until is not None and _utc(newest.responsibility_until) > until:
        until = _utc(newest.responsibility_until)
    if newest.ended_at is not None and _utc(newest.ended_at) < until:
        until = _utc(newest.ended_at)
    if not discharged_at <= _utc(now) < until:
        return None
    return Responsibility(newest, until)


def _nursing_home_short_stay(stay: DischargeInfo) -> bool:
    """A nursing-home resident's short or emergency stay (Zealand's exception)."""
    return stay.destination == "nursing_home"


def nurses_first(agreement: Agreement | None, caller_kind: str | None) -> bool:
    """Whether the department's nurses are rung before its doctors: nursing staff calling, under an
    agreement that says so."""
    return agreement is not None and agreement.nurse_first and caller_kind in NURSING_CALLERS


def department_chain(
    department: DepartmentInfo,
    shifts: Iterable[ShiftInfo],
    period: Period,
    fallback_number: str,
    now: datetime,
    *,
    nurses: bool = False,
    pool: DepartmentInfo | None = None,
    pool_shifts: Iterable[ShiftInfo] = (),
) -> list[Target]:
    """Return the department's chain at `now` for the period (policy step 4).

    With `nurses`, its `nurse` shifts covering now come first (nurse-first, for nursing callers);
    otherwise no nurse is rung. With a `pool` (the department it takes its on-call chain from), on-call
    time rings the pool's on-call doctors, its on-call phone and its backups, then the department's
    own switchboard and the fallback; day time is the department's own.
    """
    covering = _covering(shifts, now)
    chain = [Target(s.phone, Role.NURSE.value, s.name) for s in covering if nurses and s.role == Role.NURSE]
    if period is Period.DAY:
        chain += [Target(s.phone, Role.DAY.value, s.name) for s in covering if s.role == Role.DAY]
        chain.append(Target(department.day_phone, "department_day"))
        chain += [Target(s.phone, Role.BACKUP.value, s.name) for s in covering if s.role == Role.BACKUP]
    else:
        answering, mine, code = (
            (pool, _covering(pool_shifts, now), pool.code) if pool else (department, covering, "")
        )
        chain += [Target(s.phone, Role.ONCALL.value, s.name, code) for s in mine if s.role == Role.ONCALL]
        if answering.oncall_phone:
            chain.append(Target(answering.oncall_phone, "department_oncall", pool=code))
        chain += [Target(s.phone, Role.BACKUP.value, s.name, code) for s in mine if s.role == Role.BACKUP]
    chain.append(Target(department.switchboard_phone, "switchboard"))
    chain.append(Target(fallback_number, "fallback"))
    return chain


def _covering(shifts: Iterable[ShiftInfo], now: datetime) -> list[ShiftInfo]:
    return sorted((s for s in shifts if s.covers(now)), key=lambda s: _utc(s.start))


def pool_of(department: DepartmentInfo, departments: Mapping[str, DepartmentInfo]) -> DepartmentInfo | None:
    """The department's on-call pool, when it has one and it is known."""
    if not department.oncall_pool or department.oncall_pool == department.code:
        return None
    return departments.get(department.oncall_pool)


def without_repeats(targets: Iterable[Target], caller_number: str | None = None) -> tuple[Target, ...]:
    """Keep each number's first place in the chain: nobody is rung twice, nor the caller itself."""
    seen: set[str] = {caller_number} if caller_number else set()
    kept = []
    for target in targets:
        if target.number not in seen:
            seen.add(target.number)
            kept.append(target)
    return tuple(kept)


def decide(
    *,
    discharges: Sequence[DischargeInfo],
    departments: dict[str, DepartmentInfo],
    shifts: Sequence[ShiftInfo],
    calendar: Calendar,
    now: datetime,
    window: timedelta,
    fallback_number: str,
    after_hours_number: str,
    caller_number: str | None = None,
    deceased_at: datetime | None = None,
    agreements: Mapping[str, Agreement] | None = None,
    born: date | None = None,
    caller_kind: str | None = None,
    pool_shifts: Sequence[ShiftInfo] = (),
) -> Decision:
    """Return who a call about this patient rings at `now`, in order, and why.

    `agreements` gives, by department code, the agreement a department runs under: the
    deciding department's window, rules, calendar and numbers then replace the defaults
    passed in (`calendar`, `window`, `fallback_number`, `after_hours_number`). `born` is
    the patient's birth date (for an agreement's age limit).

    While the patient is admitted (or on leave) the admitting department's chain is rung
    (route inpatient); after a death nobody holds the patient. `departments` needs the
    department of the stay that decides, and its on-call pool's department when it has one;
    `shifts` are that department's shifts (others are ignored by the caller's query, not
    here) and `pool_shifts` its pool's. `caller_kind` is the kind of caller (nurse-first:
    nursing staff get the department's nurses first where the agreement says so). The
    line never rings the caller back to itself (the patient's GP or the after-hours
    service calling): the caller's own number is left out of the chain.
    """
    if deceased_at is None or _utc(deceased_at) > _utc(now):
        inside = admitted_now(discharges, now)
        admitting = departments.get(inside.department_code) if inside else None
        if inside is not None and admitting is not None:
            rules = (agreements or {}).get(admitting.code)
            own = admitting.calendar_on(rules.calendar if rules else calendar)
            period = own.period(now, admitting.day_hours)
            fallback = rules.fallback_number if rules else fallback_number
            chain = department_chain(
                admitting,
                shifts,
                period,
                fallback,
                now,
                nurses=nurses_first(rules, caller_kind),
                pool=pool_of(admitting, departments),
                pool_shifts=pool_shifts,
            )
            return Decision(
                route=Route.INPATIENT,
                period=period,
                targets=without_repeats(chain, caller_number),
                department_code=admitting.code,
                newest_discharge=inside,
            )
    newest = newest_discharge(discharges, now, _counted_by(agreements))
    department = departments.get(newest.department_code) if newest else None
    rules = (agreements or {}).get(department.code) if department else None
    if rules is not None:
        calendar, fallback_number, after_hours_number = (
            rules.calendar,
            rules.fallback_number,
            rules.after_hours_number,
        )
    # The department's own closed and half days decide its period; GP hours stay the agreement's.
    own = department.calendar_on(calendar) if department else calendar
    period = own.period(now, department.day_hours if department else None)
    alive = deceased_at is None or _utc(deceased_at) > _utc(now)
    responsibility = (
        find_responsibility(discharges, now, window, agreement=rules, department=department, born=born)
        if alive
        else None
    )
    if responsibility is not None and department is not None:
        chain = department_chain(
            department,
            shifts,
            period,
            fallback_number,
            now,
            nurses=nurses_first(rules, caller_kind),
            pool=pool_of(department, departments),
            pool_shifts=pool_shifts,
        )
        return Decision(
            route=Route.RESPONSIBILITY,
            period=period,
            targets=without_repeats(chain, caller_number),
            department_code=department.code,
            responsibility=responsibility,
            newest_discharge=newest,
        )
    if newest is not None and newest.gp_phone and calendar.is_gp_hours(now):
        first = Target(newest.gp_phone, "gp")
    else:
        first = Target(after_hours_number, "after_hours")
    return Decision(
        route=Route.NO_RESPONSIBILITY,
        period=period,
        targets=without_repeats([first, Target(fallback_number, "fallback")], caller_number),
        department_code=department.code if department else None,
        newest_discharge=newest,
    )


def _counted_by(agreements: Mapping[str, Agreement] | None) -> Callable[[DischargeInfo], bool] | None:
    """Which emergency stays count as discharges: under an agreement with the nursing-home exception,
    a nursing-home resident's."""
    if not agreements:
        return None

    def counts(stay: DischargeInfo) -> bool:
        rules = agreements.get(stay.department_code)
        return rules is not None and rules.nursing_home_short_stays and _nursing_home_short_stay(stay)

    return counts


def decide_for_department(
    *,
    department: DepartmentInfo,
    shifts: Sequence[ShiftInfo],
    calendar: Calendar,
    now: datetime,
    fallback_number: str,
    pool: DepartmentInfo | None = None,
    pool_shifts: Sequence[ShiftInfo] = (),
    nurses: bool = False,
) -> Decision:
    """Return the chain a call with an active responsibility for `department` rings at `now`
    (a doctor's call: no nurse, unless `nurses`: a nursing caller's under a nurse-first agreement;
    in on-call time its `pool`'s chain, when it has one)."""
    period = department.calendar_on(calendar).period(now, department.day_hours)
    chain = department_chain(
        department, shifts, period, fallback_number, now, nurses=nurses, pool=pool, pool_shifts=pool_shifts
    )
    return Decision(
        route=Route.RESPONSIBILITY,
        period=period,
        targets=without_repeats(chain),
        department_code=department.code,
    )
