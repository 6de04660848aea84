"""The pure routing decision: who to ring about a patient, in what order, and why.

Nothing in this package touches a database, Flask or the clock: every input,
`now` included, is passed in as a plain value.
"""

from routing.agreement import Agreement
from routing.calendar import Calendar, DayHours, Period, local_date
from routing.coverage import (
    Cover,
    Gap,
    Override,
    Stretch,
    apply_overrides,
    can_have_gaps,
    coverage,
    gaps,
    periods,
    shifts_at,
)
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
from routing.rota import (
    LONG_SHIFT,
    LONGEST_SHIFT,
    ROLES,
    Finding,
    Role,
    RotaDiff,
    ShiftKey,
    check_rota,
    diff_rota,
    shift_problem,
)

__all__ = [
    "Agreement",
    "apply_overrides",
    "can_have_gaps",
    "Calendar",
    "CallerInfo",
    "check_rota",
    "Cover",
    "coverage",
    "DayHours",
    "decide",
    "decide_for_department",
    "Decision",
    "DepartmentInfo",
    "diff_rota",
    "DischargeInfo",
    "find_responsibility",
    "Finding",
    "Gap",
    "gaps",
    "local_date",
    "LONG_SHIFT",
    "LONGEST_SHIFT",
    "Override",
    "Period",
    "periods",
    "Role",
    "ROLES",
    "RotaDiff",
    "Route",
    "shift_problem",
    "ShiftInfo",
    "ShiftKey",
    "shifts_at",
    "Stretch",
    "Target",
]
