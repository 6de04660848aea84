"""The rules of a rota (vagtplan): shift roles, how long a shift may last, and gaps in cover."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from routing.calendar import Calendar, DayHours, Period


class Role(enum.StrEnum):
    """What a shift on the rota answers for."""

    DAY = "day"  # dagtid: rung first in day time
    ONCALL = "oncall"  # vagthavende læge: rung first in on-call time
    BACKUP = "backup"  # bagvagt: rung after the department's own phone


ROLES = tuple(role.value for role in Role)

# A weekend on call runs from Friday afternoon to Monday morning; a week is plenty.
# The bound also lets "who covers now" read only the last week of a rota's history,
# so it holds wherever a shift is written, not only in the file import.
LONGEST_SHIFT = timedelta(days=7)

# Coverage is checked in steps as fine as rotas are planned.
COVERAGE_STEP = timedelta(minutes=15)


def shift_problem(start: datetime, end: datetime) -> str | None:
    """Return what is wrong with a shift's times (for the `end` column), or None."""
    if end.astimezone(UTC) <= start.astimezone(UTC):
        return "must be after start"
    if end.astimezone(UTC) - start.astimezone(UTC) > LONGEST_SHIFT:
        return f"a shift may last at most {LONGEST_SHIFT.days} days"
    return None


@dataclass(frozen=True)
class Gap:
    """A stretch of on-call time that no shift covers."""

    department: str
    start: datetime
    end: datetime


def oncall_gaps(
    department: str,
    calendar: Calendar,
    intervals: Sequence[tuple[datetime, datetime]],
    start: datetime,
    end: datetime,
    day_hours: DayHours | None = None,
) -> list[Gap]:
    """Return the stretches of on-call time in [start, end) that no interval covers."""
    gaps: list[Gap] = []
    open_since: datetime | None = None
    moment = start
    while moment < end:
        uncovered = calendar.period(moment, day_hours) is Period.ONCALL and not any(
            s <= moment < e for s, e in intervals
        )
        if uncovered and open_since is None:
            open_since = moment
        elif not uncovered and open_since is not None:
            gaps.append(Gap(department, open_since, moment))
            open_since = None
        moment += COVERAGE_STEP
    if open_since is not None:
        gaps.append(Gap(department, open_since, end))
    return gaps
