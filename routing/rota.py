"""The rules of a rota (vagtplan): shift roles, how long a shift may last, what a planner must see."""

from __future__ import annotations

import enum
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Role(enum.StrEnum):
    """What a shift on the rota answers for."""

    DAY = "day"  # dagtid: rung first in day time
    ONCALL = "oncall"  # vagthavende læge: rung first in on-call time
    BACKUP = "backup"  # bagvagt: rung after the department's own phone
    # sygeplejerske: rung before the doctors when a nursing caller calls under an agreement
    # that says so (nurse-first); never closes a gap, and never rung for a doctor.
    NURSE = "nurse"


ROLES = tuple(role.value for role in Role)

# A weekend on call runs from Friday afternoon to Monday morning; a week is plenty.
# The bound also lets "who covers now" read only the last week of a rota's history,
# so it holds wherever a shift is written, not only in the file import.
LONGEST_SHIFT = timedelta(days=7)


def shift_problem(start: datetime, end: datetime) -> str | None:
    """Return what is wrong with a shift's times (for the `end` column), or None."""
    if end.astimezone(UTC) <= start.astimezone(UTC):
        return "must be after start"
    if end.astimezone(UTC) - start.astimezone(UTC) > LONGEST_SHIFT:
        return f"a shift may last at most {LONGEST_SHIFT.days} days"
    return None


# Weekend readiness shifts run longer and are normal; anything past a day is shown to be sure.
LONG_SHIFT = timedelta(hours=24)


class Planned(Protocol):
    """A shift as a file gives it (a record read, not yet stored)."""

    @property
    def department(self) -> str: ...
    @property
    def role(self) -> Role: ...
    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime: ...
    @property
    def name(self) -> str: ...
    @property
    def phone(self) -> str: ...


@dataclass(frozen=True)
class Finding:
    """Something about one planned shift: an `error` blocks publishing, a `warning` must be
    acknowledged, a `note` is only shown. `other` is the shift it clashes with, if any."""

    index: int
    severity: str
    column: str
    message: str
    other: int | None = None


def check_rota(shifts: Sequence[Planned]) -> list[Finding]:
    """Return what a planner must see about these shifts besides each row's own values."""
    findings: list[Finding] = []
    for index, shift in enumerate(shifts):
        if _utc(shift.end) - _utc(shift.start) > LONG_SHIFT:
            hours = (_utc(shift.end) - _utc(shift.start)) / timedelta(hours=1)
            findings.append(
                Finding(index, "warning", "end", f"a shift of {hours:g} hours (more than 24): is that right?")
            )
    by_person: dict[str, list[int]] = defaultdict(list)
    by_role: dict[tuple[str, Role], list[int]] = defaultdict(list)
    for index, shift in enumerate(shifts):
        by_person[shift.phone].append(index)
        by_role[(shift.department, shift.role)].append(index)
    for indexes in by_person.values():
        for index, other in _overlapping(shifts, indexes):
            findings.append(
                Finding(index, "error", "phone", "the same person is already on the rota at that time", other)
            )
    for (_, role), indexes in by_role.items():
        for index, other in _overlapping(shifts, indexes):
            if shifts[index].phone != shifts[other].phone:
                message = f"two people in the role {role} at once: both are rung, earliest start first"
                findings.append(Finding(index, "note", "start", message, other))
    return sorted(findings, key=lambda f: (f.index, f.severity))


def _overlapping(shifts: Sequence[Planned], indexes: list[int]) -> list[tuple[int, int]]:
    """Return (later, earlier) pairs among `indexes` whose times overlap: each later shift once,
    against the earlier one that reaches furthest."""
    times = {i: (_utc(shifts[i].start), _utc(shifts[i].end)) for i in indexes}
    ordered = sorted(indexes, key=lambda i: (times[i][0], i))
    pairs = []
    reach: tuple[datetime, int] | None = None
    for index in ordered:
        start, end = times[index]
        if reach is not None and start < reach[0]:
            pairs.append((index, reach[1]))
        if reach is None or end > reach[0]:
            reach = (end, index)
    return pairs


# A shift as the preview compares them: role, start, end, name, phone.
ShiftKey = tuple[str, datetime, datetime, str, str]


@dataclass(frozen=True)
class RotaDiff:
    """What publishing changes for one department: shifts added, removed, and changed
    (the same role and times with another person, or the same person with other times)."""

    added: list[ShiftKey]
    removed: list[ShiftKey]
    changed: list[tuple[ShiftKey, ShiftKey]]
    unchanged: int

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def diff_rota(old: Sequence[ShiftKey], new: Sequence[ShiftKey]) -> RotaDiff:
    """Compare the published shifts of a period with those that would replace them."""
    remaining = Counter(old)
    new_left = []
    for key in new:
        if remaining[key]:
            remaining[key] -= 1
        else:
            new_left.append(key)
    unchanged = len(new) - len(new_left)
    old_left = list(remaining.elements())
    changed: list[tuple[ShiftKey, ShiftKey]] = []
    # First the same role and times with another person, then the same person at other times.
    for group, fits in (
        (lambda k: k[:3], lambda o, n: True),
        (lambda k: (k[0], k[4]), lambda o, n: o[1] < n[2] and n[1] < o[2]),
    ):
        waiting: dict[object, list[ShiftKey]] = defaultdict(list)
        for key in old_left:
            waiting[group(key)].append(key)
        still_new = []
        for key in new_left:
            candidates = waiting.get(group(key), [])
            partner = next((o for o in candidates if fits(o, key)), None)
            if partner is None:
                still_new.append(key)
            else:
                candidates.remove(partner)
                changed.append((partner, key))
        new_left = still_new
        old_left = [key for keys in waiting.values() for key in keys]
    return RotaDiff(
        added=sorted(new_left, key=_by_time),
        removed=sorted(old_left, key=_by_time),
        changed=sorted(changed, key=lambda pair: _by_time(pair[1])),
        unchanged=unchanged,
    )


def _by_time(key: ShiftKey) -> tuple[datetime, str]:
    return (_utc(key[1]), key[0])


def _utc(moment: datetime) -> datetime:
    # Read and stored times come in UTC already: nearly every call needs no conversion.
    return moment if moment.tzinfo is UTC else moment.astimezone(UTC)
