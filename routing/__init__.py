"""The pure routing decision: who to ring about a patient, in what order, and why.

Nothing in this package touches a database, Flask or the clock: every input,
`now` included, is passed in as a plain value.
"""

from routing.calendar import Calendar, DayHours, Period, local_date
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
from routing.rota import LONGEST_SHIFT, ROLES, Gap, Role, oncall_gaps, shift_problem

__all__ = [
    "Calendar",
    "CallerInfo",
    "DayHours",
    "Decision",
    "Gap",
    "LONGEST_SHIFT",
    "DepartmentInfo",
    "DischargeInfo",
    "Period",
    "ROLES",
    "Role",
    "Route",
    "ShiftInfo",
    "Target",
    "decide",
    "decide_for_department",
    "find_responsibility",
    "local_date",
    "oncall_gaps",
    "shift_problem",
]
