"""The pure routing decision: who to ring about a patient, in what order, and why.

Nothing in this package touches a database, Flask or the clock: every input,
`now` included, is passed in as a plain value.
"""

from routing.calendar import Calendar, DayHours, Period
from routing.decision import (
    CallerInfo,
    Decision,
    DepartmentInfo,
    DischargeInfo,
    Route,
    ShiftInfo,
    Target,
    decide,
    decide_for_department,
    find_responsibility,
)

__all__ = [
    "Calendar",
    "CallerInfo",
    "DayHours",
    "Decision",
    "DepartmentInfo",
    "DischargeInfo",
    "Period",
    "Route",
    "ShiftInfo",
    "Target",
    "decide",
    "decide_for_department",
    "find_responsibility",
]
