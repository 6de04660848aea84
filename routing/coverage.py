"""Who covers a department's time: overrides on top of the rota, the periods, and the gaps.

Pure: the shifts, the overrides, the calendar and the stretch of time are passed in.
One definition of a gap serves "who answers now", the planner's coverage picture, the
checks before a rota is published and the scheduler's warnings: a minute of on-call
time (vagttid) that neither an `oncall` shift nor the department's on-call phone
covers, or a minute of day time that neither a `day` shift nor the day phone covers.
A department that takes its on-call chain from a pool (a shared on-call pool) is covered in
on-call time by the pool's `oncall` shifts and the pool's on-call phone: a night the pool
leaves uncovered is a gap of every department that uses it. A `nurse` shift never covers.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from routing.calendar import Calendar, DayHours, Period
from routing.decision import DepartmentInfo, ShiftInfo
from routing.rota import Role

# The role that answers first in each period.
FIRST_ROLE = {Period.DAY: Role.DAY, Period.ONCALL: Role.ONCALL}


def _utc(moment: datetime) -> datetime:
    # Stored times come back in UTC already: most calls need no conversion at all.
    return moment if moment.tzinfo is UTC else moment.astimezone(UTC)


@dataclass(frozen=True)
class Override:
    """Someone covering instead of a rota person (or in a gap) for a stretch of time.

    With `replaces_phone`, every shift of that person inside [start, end) is taken by
    `name`/`phone` in the same role and place in the chain; without it, the override
    adds cover in `role` (e.g. to close a gap). It is kept apart from the rota, so a new
    upload of the rota does not undo it.
    """

    id: int
    department: str
    role: Role
    start: datetime
    end: datetime
    name: str
    phone: str
    replaces_phone: str | None = None
    replaces_name: str = ""

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return _utc(self.start) < _utc(end) and _utc(start) < _utc(self.end)


@dataclass(frozen=True)
class Cover:
    """A stretch of time one person covers in a role: a piece of a shift, or of an override.

    `rank` is the start of the shift the piece came from: an override takes the place
    in the chain of the person it replaces (layered duty is rung earliest start first).
    """

    role: Role
    start: datetime
    end: datetime
    name: str
    phone: str
    rank: datetime
    override: int | None = None  # the override's id when the piece is one

    def covers(self, moment: datetime) -> bool:
        return _utc(self.start) <= _utc(moment) < _utc(self.end)

    def shift(self) -> ShiftInfo:
        """The piece as the routing decision reads a shift (ordered by its rank)."""
        return ShiftInfo(role=self.role, start=self.rank, end=self.end, phone=self.phone, name=self.name)


def apply_overrides(shifts: Iterable[ShiftInfo], overrides: Sequence[Override]) -> list[Cover]:
    """Return who covers what once the overrides are laid over the rota's shifts."""
    covers: list[Cover] = []
    replaced = {override.replaces_phone for override in overrides if override.replaces_phone}
    for shift in shifts:
        start, end = _utc(shift.start), _utc(shift.end)
        if shift.phone not in replaced:  # nearly every shift: no override touches it
            covers.append(Cover(shift.role, start, end, shift.name, shift.phone, start))
            continue
        pieces = [(start, end)]
        for override in overrides:
            if override.replaces_phone is None or override.replaces_phone != shift.phone:
                continue
            o_start, o_end = _utc(override.start), _utc(override.end)
            kept = []
            for start, end in pieces:
                if o_end <= start or end <= o_start:
                    kept.append((start, end))
                    continue
                if start < o_start:
                    kept.append((start, o_start))
                if o_end < end:
                    kept.append((o_end, end))
                covers.append(
                    Cover(
                        shift.role,
                        max(start, o_start),
                        min(end, o_end),
                        override.name,
                        override.phone,
                        _utc(shift.start),
                        override.id,
                    )
                )
            pieces = kept
        covers += [
            Cover(shift.role, start, end, shift.name, shift.phone, _utc(shift.start)) for start, end in pieces
        ]
    for override in overrides:
        if override.replaces_phone is None:
            start = _utc(override.start)
            covers.append(
                Cover(
                    override.role,
                    start,
                    _utc(override.end),
                    override.name,
                    override.phone,
                    start,
                    override.id,
                )
            )
    return sorted(covers, key=lambda c: (c.rank, c.start))


def shifts_at(
    shifts: Iterable[ShiftInfo], overrides: Sequence[Override], moment: datetime
) -> list[ShiftInfo]:
    """Return the shifts the routing decision should read at `moment`, overrides applied."""
    return [cover.shift() for cover in apply_overrides(shifts, overrides) if cover.covers(moment)]


def periods(
    calendar: Calendar, start: datetime, end: datetime, day_hours: DayHours | None = None
) -> list[tuple[datetime, datetime, Period]]:
    """Return [start, end) cut into day and on-call stretches (UTC), by wall-clock time in Copenhagen."""
    start, end = _utc(start), _utc(end)
    cuts: list[tuple[datetime, datetime, Period]] = []
    day = calendar.local(start).date() - timedelta(days=1)
    last = calendar.local(end).date()
    while day <= last:
        span = calendar.day_span(day, day_hours)
        if span is not None:
            opens, closes = _at(calendar, day, span.start), _at(calendar, day, span.end)
            cuts.append((opens, closes, Period.DAY))
        day += timedelta(days=1)
    stretches: list[tuple[datetime, datetime, Period]] = []
    moment = start
    for opens, closes in ((o, c) for o, c, _ in cuts):
        if closes <= moment or opens >= end:
            continue
        if moment < opens:
            stretches.append((moment, opens, Period.ONCALL))
        stretches.append((max(moment, opens), min(closes, end), Period.DAY))
        moment = min(closes, end)
    if moment < end:
        stretches.append((moment, end, Period.ONCALL))
    return stretches


def _at(calendar: Calendar, day: date, clock: time) -> datetime:
    # Day hours never fall in the night's daylight-saving hour, so the wall-clock time exists.
    return datetime.combine(day, clock, tzinfo=calendar.zone).astimezone(UTC)


@dataclass(frozen=True)
class Stretch:
    """A stretch of a department's time and who answers first in it."""

    start: datetime
    end: datetime
    period: Period
    people: tuple[Cover, ...]  # the persons of the period's first role, in ring order
    phone: str | None  # the department's own phone for the period (or its pool's), when it has one
    pool: str | None = None  # the on-call pool's department code, when the pool answers the stretch

    @property
    def gap(self) -> bool:
        return not self.people and not self.phone

    @property
    def override(self) -> bool:
        return any(person.override is not None for person in self.people)


class _Index:
    """Covers by role, sorted by start, so that a period finds the few that reach it by bisection."""

    def __init__(self, covers: Sequence[Cover]) -> None:
        self.by_role: dict[Role, list[Cover]] = {}
        for cover in sorted(covers, key=lambda c: c.start):
            self.by_role.setdefault(cover.role, []).append(cover)
        self.starts = {role: [c.start for c in mine] for role, mine in self.by_role.items()}
        self.longest = max((c.end - c.start for c in covers), default=timedelta(0))

    def reaching(self, role: Role, start: datetime, end: datetime) -> list[Cover]:
        """The covers of `role` that overlap [start, end), in ring order."""
        candidates = self.by_role.get(role, [])
        lo = bisect_left(self.starts.get(role, []), start - self.longest)
        hi = bisect_left(self.starts.get(role, []), end)
        return sorted((c for c in candidates[lo:hi] if c.end > start), key=lambda c: (c.rank, c.start))


def coverage(
    department: DepartmentInfo,
    calendar: Calendar,
    covers: Sequence[Cover],
    start: datetime,
    end: datetime,
    *,
    pool: DepartmentInfo | None = None,
    pool_covers: Sequence[Cover] = (),
) -> list[Stretch]:
    """Return [start, end) as stretches of one period and one set of first answerers each.

    `covers` are as `apply_overrides` gives them (in UTC); with a `pool` (the department whose
    on-call chain this one takes), on-call time is covered by `pool_covers` and the pool's
    on-call phone instead. A year of a department's rota has a thousand covers and seven hundred
    periods: each period looks only at the covers that can reach it, found by bisection.
    """
    own = _Index(covers)
    pooled = _Index(pool_covers) if pool is not None else own
    stretches: list[Stretch] = []
    for p_start, p_end, period in periods(department.calendar_on(calendar), start, end, department.day_hours):
        from_pool = pool is not None and period is Period.ONCALL
        mine = (pooled if from_pool else own).reaching(FIRST_ROLE[period], p_start, p_end)
        cuts = sorted({p_start, p_end} | {t for c in mine for t in (c.start, c.end) if p_start < t < p_end})
        phone = department.day_phone if period is Period.DAY else (pool or department).oncall_phone
        for s, e in zip(cuts, cuts[1:], strict=False):
            people = tuple(c for c in mine if c.start <= s and e <= c.end)
            stretch = Stretch(s, e, period, people, phone or None, pool.code if from_pool and pool else None)
            if stretches and _same(stretches[-1], stretch):
                stretches[-1] = replace(stretches[-1], end=e)
            else:
                stretches.append(stretch)
    return stretches


def _same(before: Stretch, after: Stretch) -> bool:
    return (
        before.end == after.start
        and before.period == after.period
        and before.phone == after.phone
        and before.pool == after.pool
        and [(p.name, p.phone, p.override) for p in before.people]
        == [(p.name, p.phone, p.override) for p in after.people]
    )


def can_have_gaps(department: DepartmentInfo, pool: DepartmentInfo | None = None) -> bool:
    """Whether any time of the department can be a gap: its own phone answers every minute of a
    period it has one for, so a department with both phones never has one (in on-call time the
    phone is its pool's, when it takes its on-call from one)."""
    return not department.day_phone or not (pool or department).oncall_phone


@dataclass(frozen=True)
class Gap:
    """A stretch of a department's time in which nobody of its own answers first."""

    department: str
    start: datetime
    end: datetime
    period: Period
    pool: str | None = None  # the on-call pool whose gap it is, when the pool answers the stretch


def gaps(department: str, stretches: Iterable[Stretch]) -> list[Gap]:
    """Return the uncovered stretches, neighbours joined."""
    found: list[Gap] = []
    for stretch in stretches:
        if not stretch.gap:
            continue
        if found and found[-1].end == stretch.start and found[-1].period == stretch.period:
            found[-1] = replace(found[-1], end=stretch.end)
        else:
            found.append(Gap(department, stretch.start, stretch.end, stretch.period, stretch.pool))
    return found
