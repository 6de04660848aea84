"""The routing decision (routing-policy.md: the responsibility window and steps 4 and 5).

Plain values only: no database, no Flask, no clock. Moments are written either in
Copenhagen wall-clock time (`local`) or in UTC (`utc`); the rules must not depend on
which of the two a caller passes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from routing import (
    Calendar,
    DayHours,
    Decision,
    DepartmentInfo,
    DischargeInfo,
    Period,
    Route,
    ShiftInfo,
    decide,
    decide_for_department,
    find_responsibility,
)

CPH = ZoneInfo("Europe/Copenhagen")
CALENDAR = Calendar()
WINDOW = timedelta(hours=72)
FALLBACK = "+4538640000"
AFTER_HOURS = "1813"
GP = "+4544112233"

DAY_PHONE = "+4535451000"
ONCALL_PHONE = "+4535452000"
SWITCHBOARD = "+4535453545"

DEPARTMENT = DepartmentInfo(
    code="RH-KARD",
    name="Kardiologisk Afdeling",
    hospital="Rigshospitalet",
    day_phone=DAY_PHONE,
    switchboard_phone=SWITCHBOARD,
    oncall_phone=ONCALL_PHONE,
)
NO_ONCALL_PHONE = DepartmentInfo(
    code="BOH-MED",
    name="Medicinsk Afdeling",
    hospital="Bornholms Hospital",
    day_phone="+4556951000",
    switchboard_phone="+4556951165",
)
LATE_DAY_HOURS = DepartmentInfo(
    code="HGH-GER",
    name="Geriatrisk Afdeling",
    hospital="Herlev og Gentofte Hospital",
    day_phone="+4538681000",
    switchboard_phone="+4538682000",
    oncall_phone="+4538683000",
    day_hours=DayHours(time(8), time(15, 30)),
)

# Monday 23 November 2026, an ordinary working day in winter time (UTC+1).
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=CPH)


def local(year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=CPH)


def utc(year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def as_local(moment: datetime) -> datetime:
    return moment.astimezone(CPH)


def as_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


REPRESENTATIONS = [pytest.param(as_local, id="copenhagen-time"), pytest.param(as_utc, id="utc")]


def discharge(
    discharged_at: datetime,
    *,
    id: str = "D1",
    destination: str = "home_nursing",
    admitted_at: datetime | None = None,
    gp_phone: str | None = None,
    responsibility_until: datetime | None = None,
    department: DepartmentInfo = DEPARTMENT,
) -> DischargeInfo:
    return DischargeInfo(
        id=id,
        department_code=department.code,
        discharged_at=discharged_at,
        destination=destination,
        admitted_at=admitted_at,
        gp_phone=gp_phone,
        responsibility_until=responsibility_until,
    )


def shift(role: str, start: datetime, end: datetime, phone: str, name: str = "") -> ShiftInfo:
    return ShiftInfo(role=role, start=start, end=end, phone=phone, name=name)


def run(
    discharges: Sequence[DischargeInfo],
    now: datetime,
    *,
    shifts: Sequence[ShiftInfo] = (),
    departments: Sequence[DepartmentInfo] = (DEPARTMENT, NO_ONCALL_PHONE, LATE_DAY_HOURS),
    window: timedelta = WINDOW,
    deceased_at: datetime | None = None,
) -> Decision:
    return decide(
        discharges=discharges,
        departments={d.code: d for d in departments},
        shifts=shifts,
        calendar=CALENDAR,
        now=now,
        window=window,
        fallback_number=FALLBACK,
        after_hours_number=AFTER_HOURS,
        deceased_at=deceased_at,
    )


def numbers(decision: Decision) -> list[str]:
    return [t.number for t in decision.targets]


def labels(decision: Decision) -> list[str]:
    return [t.label for t in decision.targets]


# --- The responsibility window ------------------------------------------------------------------

DISCHARGED = local(2026, 11, 20, 12, 0)  # Friday, no daylight-saving change in the next week


@pytest.mark.parametrize("represent", REPRESENTATIONS)
@pytest.mark.parametrize(
    ("elapsed", "active"),
    [
        pytest.param(timedelta(0), True, id="at-discharge"),
        pytest.param(timedelta(hours=1), True, id="1h"),
        pytest.param(timedelta(hours=71, minutes=50), True, id="71h50m"),
        pytest.param(timedelta(hours=71, minutes=59, seconds=59), True, id="71h59m59s"),
        pytest.param(timedelta(hours=72), False, id="72h-exactly-ends"),
        pytest.param(timedelta(hours=72, minutes=10), False, id="72h10m"),
        pytest.param(timedelta(days=30), False, id="30-days"),
        pytest.param(timedelta(minutes=-1), False, id="before-discharge"),
    ],
)
def test_responsibility_lasts_72_hours_after_discharge(
    elapsed: timedelta, active: bool, represent: Callable[[datetime], datetime]
) -> None:
    found = find_responsibility([discharge(represent(DISCHARGED))], represent(DISCHARGED + elapsed), WINDOW)
    assert (found is not None) is active


# Discharged Friday 23 October 2026 12:00 summer time (10:00 UTC). 72 elapsed hours
# later is Monday 26 October 10:00 UTC, which the clock, back on winter time since
# Sunday, shows as 11:00: the window ends an hour earlier by the clock.
# Discharged Friday 27 March 2026 12:00 winter time (11:00 UTC): 72 hours later is
# Monday 30 March 11:00 UTC, 13:00 on the summer clock: an hour later by the clock.
WINDOW_ACROSS_DST = [
    pytest.param(local(2026, 10, 23, 12), local(2026, 10, 26, 10, 50), True, id="october-71h50m-10:50"),
    pytest.param(local(2026, 10, 23, 12), local(2026, 10, 26, 10, 59, 59), True, id="october-10:59:59"),
    pytest.param(local(2026, 10, 23, 12), local(2026, 10, 26, 11, 0), False, id="october-72h-11:00"),
    pytest.param(local(2026, 10, 23, 12), local(2026, 10, 26, 11, 10), False, id="october-72h10m-11:10"),
    pytest.param(local(2026, 10, 23, 12), local(2026, 10, 26, 11, 50), False, id="october-72h50m-11:50"),
    pytest.param(local(2026, 3, 27, 12), local(2026, 3, 30, 11, 50), True, id="march-70h50m-11:50"),
    pytest.param(local(2026, 3, 27, 12), local(2026, 3, 30, 12, 10), True, id="march-71h10m-12:10"),
    pytest.param(local(2026, 3, 27, 12), local(2026, 3, 30, 12, 50), True, id="march-71h50m-12:50"),
    pytest.param(local(2026, 3, 27, 12), local(2026, 3, 30, 13, 0), False, id="march-72h-13:00"),
    pytest.param(local(2026, 3, 27, 12), local(2026, 3, 30, 13, 10), False, id="march-72h10m-13:10"),
]


@pytest.mark.parametrize("represent", REPRESENTATIONS)
@pytest.mark.parametrize(("discharged_at", "now", "active"), WINDOW_ACROSS_DST)
def test_window_is_elapsed_time_across_daylight_saving_change(
    discharged_at: datetime, now: datetime, active: bool, represent: Callable[[datetime], datetime]
) -> None:
    found = find_responsibility([discharge(represent(discharged_at))], represent(now), WINDOW)
    assert (found is not None) is active


@pytest.mark.parametrize("represent", REPRESENTATIONS)
@pytest.mark.parametrize(
    ("discharged_at", "ends"),
    [
        pytest.param(local(2026, 10, 23, 12), utc(2026, 10, 26, 10), id="october"),
        pytest.param(local(2026, 3, 27, 12), utc(2026, 3, 30, 11), id="march"),
        pytest.param(local(2026, 11, 20, 12), utc(2026, 11, 23, 11), id="no-change"),
    ],
)
def test_window_end_is_72_elapsed_hours_after_discharge(
    discharged_at: datetime, ends: datetime, represent: Callable[[datetime], datetime]
) -> None:
    found = find_responsibility([discharge(represent(discharged_at))], represent(discharged_at), WINDOW)
    assert found is not None
    assert found.until == ends


def test_extension_to_a_later_time_keeps_the_responsibility_active() -> None:
    extended_to = DISCHARGED + timedelta(hours=120)
    record = discharge(DISCHARGED, responsibility_until=extended_to)
    found = find_responsibility([record], DISCHARGED + timedelta(hours=100), WINDOW)
    assert found is not None
    assert found.until == extended_to
    assert found.discharge is record
    assert find_responsibility([record], DISCHARGED + timedelta(hours=119, minutes=59), WINDOW) is not None
    assert find_responsibility([record], extended_to, WINDOW) is None


def test_an_earlier_responsibility_until_does_not_shorten_the_window() -> None:
    record = discharge(DISCHARGED, responsibility_until=DISCHARGED + timedelta(hours=48))
    found = find_responsibility([record], DISCHARGED + timedelta(hours=60), WINDOW)
    assert found is not None
    assert found.until == DISCHARGED + timedelta(hours=72)


@pytest.mark.parametrize(
    ("elapsed", "window", "active"),
    [
        pytest.param(timedelta(hours=80), timedelta(hours=96), True, id="96h-window-at-80h"),
        pytest.param(timedelta(hours=95, minutes=50), timedelta(hours=96), True, id="96h-window-at-95h50m"),
        pytest.param(timedelta(hours=96, minutes=10), timedelta(hours=96), False, id="96h-window-at-96h10m"),
        pytest.param(timedelta(hours=80), timedelta(hours=72), False, id="72h-window-at-80h"),
    ],
)
def test_window_length_is_configuration(elapsed: timedelta, window: timedelta, active: bool) -> None:
    found = find_responsibility([discharge(DISCHARGED)], DISCHARGED + elapsed, window)
    assert (found is not None) is active


@pytest.mark.parametrize(
    ("destination", "opens"),
    [
        pytest.param("temporary_stay", True, id="temporary-stay"),
        pytest.param("nursing_home", True, id="nursing-home"),
        pytest.param("home_nursing", True, id="home-nursing"),
        pytest.param("residential", True, id="residential"),
        pytest.param("other", False, id="other"),
    ],
)
def test_only_target_destinations_open_a_responsibility(destination: str, opens: bool) -> None:
    record = discharge(DISCHARGED, destination=destination)
    found = find_responsibility([record], DISCHARGED + timedelta(hours=1), WINDOW)
    assert (found is not None) is opens


@pytest.mark.parametrize("represent", REPRESENTATIONS)
@pytest.mark.parametrize(
    ("admitted_at", "discharged_at", "opens"),
    [
        pytest.param(None, DISCHARGED, True, id="admission-unknown"),
        pytest.param(DISCHARGED - timedelta(hours=23, minutes=59), DISCHARGED, False, id="23h59m"),
        pytest.param(DISCHARGED - timedelta(hours=24), DISCHARGED, True, id="exactly-24h"),
        pytest.param(DISCHARGED - timedelta(days=5), DISCHARGED, True, id="5-days"),
        # 24 hours by the clock, 23 elapsed: the clock sprang forward in the night.
        pytest.param(local(2026, 3, 28, 12), local(2026, 3, 29, 12), False, id="march-clock-24h-is-23h"),
        # 23h30m by the clock, 24h30m elapsed: the clock fell back in the night.
        pytest.param(local(2026, 10, 24, 12, 30), local(2026, 10, 25, 12), True, id="october-clock-23h30m"),
    ],
)
def test_a_stay_under_24_hours_opens_no_responsibility(
    admitted_at: datetime | None,
    discharged_at: datetime,
    opens: bool,
    represent: Callable[[datetime], datetime],
) -> None:
    record = discharge(
        represent(discharged_at), admitted_at=represent(admitted_at) if admitted_at is not None else None
    )
    found = find_responsibility([record], represent(discharged_at + timedelta(hours=1)), WINDOW)
    assert (found is not None) is opens


NOW = local(2026, 11, 25, 10, 0)
OLD_EXTENDED = discharge(
    NOW - timedelta(days=6), id="old-extended", responsibility_until=NOW + timedelta(days=1)
)
OLD_EXPIRED = discharge(NOW - timedelta(days=10), id="old-expired")
NEW_ACTIVE = discharge(NOW - timedelta(hours=10), id="new-active")
NEW_EXPIRED = discharge(NOW - timedelta(hours=80), id="new-expired")
NEW_OTHER = discharge(NOW - timedelta(hours=10), id="new-other", destination="other")
NEW_SHORT = discharge(NOW - timedelta(hours=10), id="new-short", admitted_at=NOW - timedelta(hours=20))


@pytest.mark.parametrize(
    "reverse", [pytest.param(False, id="oldest-first"), pytest.param(True, id="newest-first")]
)
@pytest.mark.parametrize(
    ("records", "expected_id"),
    [
        pytest.param([OLD_EXPIRED, NEW_ACTIVE], "new-active", id="newest-active-older-expired"),
        pytest.param([OLD_EXTENDED, NEW_EXPIRED], None, id="newest-expired-older-still-extended"),
        pytest.param([OLD_EXTENDED, NEW_OTHER], None, id="newest-other-older-still-extended"),
        pytest.param([OLD_EXTENDED, NEW_SHORT], None, id="newest-short-stay-older-still-extended"),
        pytest.param([OLD_EXPIRED, OLD_EXTENDED], "old-extended", id="both-old-newer-extended"),
    ],
)
def test_the_most_recent_discharge_decides(
    records: list[DischargeInfo], expected_id: str | None, reverse: bool
) -> None:
    found = find_responsibility(list(reversed(records)) if reverse else records, NOW, WINDOW)
    assert (found.discharge.id if found else None) == expected_id


def test_a_discharge_after_now_is_not_yet_the_newest() -> None:
    later = discharge(NOW + timedelta(hours=1), id="later", destination="other")
    found = find_responsibility([NEW_ACTIVE, later], NOW, WINDOW)
    assert found is not None
    assert found.discharge.id == "new-active"


@pytest.mark.parametrize(
    ("readmission", "route"),
    [
        pytest.param(
            discharge(NOW + timedelta(days=2), id="readmitted", admitted_at=NOW - timedelta(hours=2)),
            Route.INPATIENT,  # in hospital now: the admitting department holds the patient
            id="still-in-hospital",
        ),
        pytest.param(
            discharge(
                NOW - timedelta(hours=1),
                id="readmitted",
                admitted_at=NOW - timedelta(hours=5),
                destination="other",
            ),
            Route.NO_RESPONSIBILITY,
            id="readmitted-and-sent-home-without-services",
        ),
    ],
)
def test_a_newer_admission_ends_an_older_window(readmission: DischargeInfo, route: Route) -> None:
    older = discharge(NOW - timedelta(hours=20), id="older")
    assert find_responsibility([older], NOW, WINDOW) is not None
    assert find_responsibility([older, readmission], NOW, WINDOW) is None
    decision = run([older, readmission], NOW)
    assert decision.route is route


def test_a_readmission_that_opens_its_own_window_takes_over() -> None:
    older = discharge(NOW - timedelta(hours=60), id="older", department=NO_ONCALL_PHONE)
    newer = discharge(NOW - timedelta(hours=2), id="newer", admitted_at=NOW - timedelta(hours=40))
    decision = run([older, newer], NOW)
    assert decision.route is Route.RESPONSIBILITY
    assert decision.department_code == DEPARTMENT.code
    assert decision.responsibility is not None
    assert decision.responsibility.discharge.id == "newer"


# --- Chains with an active responsibility (step 4) --------------------------------------------


def test_day_chain_runs_day_shifts_day_phone_backups_switchboard_fallback() -> None:
    shifts = [
        shift("backup", local(2026, 11, 23, 7), local(2026, 11, 23, 16), "+4520000003", "Backup"),
        shift("day", local(2026, 11, 23, 9), local(2026, 11, 23, 15), "+4520000002", "Later day"),
        shift("oncall", local(2026, 11, 23, 8), local(2026, 11, 23, 16), "+4520000009", "Oncall"),
        shift("day", local(2026, 11, 23, 8), local(2026, 11, 23, 15), "+4520000005", "Earlier day"),
    ]
    decision = run([discharge(MONDAY_10 - timedelta(hours=5))], MONDAY_10, shifts=shifts)
    assert decision.route is Route.RESPONSIBILITY
    assert decision.period is Period.DAY
    assert decision.department_code == DEPARTMENT.code
    assert numbers(decision) == [
        "+4520000005",
        "+4520000002",
        DAY_PHONE,
        "+4520000003",
        SWITCHBOARD,
        FALLBACK,
    ]
    assert labels(decision) == ["day", "day", "department_day", "backup", "switchboard", "fallback"]
    assert [t.name for t in decision.targets[:2]] == ["Earlier day", "Later day"]


MONDAY_20 = local(2026, 11, 23, 20, 0)
EVENING_SHIFTS = [
    shift("backup", local(2026, 11, 23, 15), local(2026, 11, 24, 8), "+4520000003"),
    shift("oncall", local(2026, 11, 23, 16), local(2026, 11, 24, 8), "+4520000002"),
    shift("day", local(2026, 11, 23, 8), local(2026, 11, 23, 22), "+4520000009"),
    shift("oncall", local(2026, 11, 23, 15), local(2026, 11, 24, 8), "+4520000004"),
]


def test_oncall_chain_runs_oncall_shifts_oncall_phone_backups_switchboard_fallback() -> None:
    decision = run([discharge(MONDAY_20 - timedelta(hours=5))], MONDAY_20, shifts=EVENING_SHIFTS)
    assert decision.period is Period.ONCALL
    assert numbers(decision) == [
        "+4520000004",
        "+4520000002",
        ONCALL_PHONE,
        "+4520000003",
        SWITCHBOARD,
        FALLBACK,
    ]
    assert labels(decision) == ["oncall", "oncall", "department_oncall", "backup", "switchboard", "fallback"]


def test_oncall_chain_without_oncall_phone_goes_from_shifts_to_backups() -> None:
    record = discharge(MONDAY_20 - timedelta(hours=5), department=NO_ONCALL_PHONE)
    decision = run([record], MONDAY_20, shifts=EVENING_SHIFTS)
    assert decision.department_code == NO_ONCALL_PHONE.code
    assert numbers(decision) == [
        "+4520000004",
        "+4520000002",
        "+4520000003",
        NO_ONCALL_PHONE.switchboard_phone,
        FALLBACK,
    ]
    assert NO_ONCALL_PHONE.day_phone not in numbers(decision)


def test_oncall_chain_without_any_shift_is_oncall_phone_switchboard_fallback() -> None:
    decision = run([discharge(MONDAY_20 - timedelta(hours=5))], MONDAY_20)
    assert numbers(decision) == [ONCALL_PHONE, SWITCHBOARD, FALLBACK]


@pytest.mark.parametrize(
    ("now", "covered"),
    [
        pytest.param(local(2026, 11, 23, 7, 59, 59), False, id="before-start"),
        pytest.param(local(2026, 11, 23, 8, 0), True, id="start-inclusive"),
        pytest.param(local(2026, 11, 23, 11, 59, 59), True, id="last-second"),
        pytest.param(local(2026, 11, 23, 12, 0), False, id="end-exclusive"),
    ],
)
def test_shifts_not_covering_now_are_left_out(now: datetime, covered: bool) -> None:
    morning = shift("day", local(2026, 11, 23, 8), local(2026, 11, 23, 12), "+4520000001")
    assert morning.covers(now) is covered
    decision = decide_for_department(
        department=DEPARTMENT, shifts=[morning], calendar=CALENDAR, now=now, fallback_number=FALLBACK
    )
    assert ("+4520000001" in numbers(decision)) is covered


@pytest.mark.parametrize(
    ("shifts", "department", "now", "expected"),
    [
        pytest.param(
            [shift("day", local(2026, 11, 23, 8), local(2026, 11, 23, 15), DAY_PHONE, "Doctor")],
            DEPARTMENT,
            MONDAY_10,
            [(DAY_PHONE, "day"), (SWITCHBOARD, "switchboard"), (FALLBACK, "fallback")],
            id="rota-phone-equals-day-phone",
        ),
        pytest.param(
            [
                shift("day", local(2026, 11, 23, 8), local(2026, 11, 23, 15), "+4520000001"),
                shift("backup", local(2026, 11, 23, 8), local(2026, 11, 23, 15), "+4520000001"),
            ],
            DEPARTMENT,
            MONDAY_10,
            [
                ("+4520000001", "day"),
                (DAY_PHONE, "department_day"),
                (SWITCHBOARD, "switchboard"),
                (FALLBACK, "fallback"),
            ],
            id="backup-equals-day-shift",
        ),
        pytest.param(
            [],
            DepartmentInfo("X", "X", "X", day_phone="+4530000001", switchboard_phone=FALLBACK),
            MONDAY_10,
            [("+4530000001", "department_day"), (FALLBACK, "switchboard")],
            id="switchboard-equals-fallback",
        ),
        pytest.param(
            [shift("backup", local(2026, 11, 23, 16), local(2026, 11, 24, 8), ONCALL_PHONE)],
            DEPARTMENT,
            MONDAY_20,
            [(ONCALL_PHONE, "department_oncall"), (SWITCHBOARD, "switchboard"), (FALLBACK, "fallback")],
            id="backup-equals-oncall-phone",
        ),
    ],
)
def test_each_number_is_dialled_once_in_its_first_place(
    shifts: list[ShiftInfo], department: DepartmentInfo, now: datetime, expected: list[tuple[str, str]]
) -> None:
    decision = decide_for_department(
        department=department, shifts=shifts, calendar=CALENDAR, now=now, fallback_number=FALLBACK
    )
    assert [(t.number, t.label) for t in decision.targets] == expected


@pytest.mark.parametrize(
    ("start", "end", "hours"),
    [
        pytest.param(local(2026, 3, 28, 23), local(2026, 3, 29, 7), 7, id="spring-forward-29-march"),
        pytest.param(local(2026, 10, 24, 23), local(2026, 10, 25, 7), 9, id="fall-back-25-october"),
        pytest.param(local(2026, 11, 22, 23), local(2026, 11, 23, 7), 8, id="ordinary-night"),
    ],
)
def test_night_shift_covers_its_elapsed_hours_across_daylight_saving(
    start: datetime, end: datetime, hours: int
) -> None:
    night = shift("oncall", start, end, "+4520000001")
    # Every minute of an 18-hour span of real time around the night, counted in UTC.
    first = datetime(start.year, start.month, start.day, 18, tzinfo=UTC)
    covered = sum(night.covers(first + timedelta(minutes=m)) for m in range(18 * 60))
    assert covered == hours * 60


@pytest.mark.parametrize(
    "now",
    [
        pytest.param(utc(2026, 3, 29, 0, 30), id="march-01:30-winter-time"),
        pytest.param(utc(2026, 3, 29, 1, 30), id="march-03:30-summer-time"),
        pytest.param(utc(2026, 3, 29, 4, 59, 59), id="march-06:59:59-summer-time"),
        pytest.param(utc(2026, 10, 25, 0, 30), id="october-first-02:30-summer-time"),
        pytest.param(utc(2026, 10, 25, 1, 30), id="october-second-02:30-winter-time"),
        pytest.param(utc(2026, 10, 25, 5, 59, 59), id="october-06:59:59-winter-time"),
    ],
)
def test_night_oncall_shift_is_picked_through_the_daylight_saving_change(now: datetime) -> None:
    nights = [
        shift("oncall", local(2026, 3, 28, 23), local(2026, 3, 29, 7), "+4520000001", "March night"),
        shift("oncall", local(2026, 10, 24, 23), local(2026, 10, 25, 7), "+4520000001", "October night"),
        shift("oncall", local(2026, 3, 29, 7), local(2026, 3, 29, 15), "+4520000002", "March Sunday"),
        shift("oncall", local(2026, 10, 25, 7), local(2026, 10, 25, 15), "+4520000002", "October Sunday"),
    ]
    decision = decide_for_department(
        department=DEPARTMENT, shifts=nights, calendar=CALENDAR, now=now, fallback_number=FALLBACK
    )
    assert decision.period is Period.ONCALL
    assert numbers(decision) == ["+4520000001", ONCALL_PHONE, SWITCHBOARD, FALLBACK]


@pytest.mark.parametrize(
    "now",
    [
        pytest.param(utc(2026, 3, 29, 5, 0), id="march-07:00-summer-time"),
        pytest.param(utc(2026, 10, 25, 6, 0), id="october-07:00-winter-time"),
    ],
)
def test_morning_shift_takes_over_at_07_local_after_the_change(now: datetime) -> None:
    nights = [
        shift("oncall", local(2026, 3, 28, 23), local(2026, 3, 29, 7), "+4520000001"),
        shift("oncall", local(2026, 10, 24, 23), local(2026, 10, 25, 7), "+4520000001"),
        shift("oncall", local(2026, 3, 29, 7), local(2026, 3, 29, 15), "+4520000002"),
        shift("oncall", local(2026, 10, 25, 7), local(2026, 10, 25, 15), "+4520000002"),
    ]
    decision = decide_for_department(
        department=DEPARTMENT, shifts=nights, calendar=CALENDAR, now=now, fallback_number=FALLBACK
    )
    assert numbers(decision)[0] == "+4520000002"
    assert "+4520000001" not in numbers(decision)


# --- Periods in the decision -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "department", "period", "first_label"),
    [
        pytest.param(
            local(2026, 11, 23, 15, 15), LATE_DAY_HOURS, Period.DAY, "department_day", id="own-hours-15:15"
        ),
        pytest.param(
            local(2026, 11, 23, 15, 15), DEPARTMENT, Period.ONCALL, "department_oncall", id="default-15:15"
        ),
        pytest.param(
            local(2026, 11, 23, 15, 30), LATE_DAY_HOURS, Period.ONCALL, "department_oncall", id="own-15:30"
        ),
        pytest.param(
            local(2026, 11, 23, 16, 0), DEPARTMENT, Period.ONCALL, "department_oncall", id="weekday-16:00"
        ),
        pytest.param(
            local(2026, 11, 21, 10, 0), DEPARTMENT, Period.ONCALL, "department_oncall", id="saturday-10:00"
        ),
        pytest.param(
            local(2026, 4, 6, 10, 0), DEPARTMENT, Period.ONCALL, "department_oncall", id="easter-monday"
        ),
        pytest.param(
            local(2026, 12, 24, 10, 0), DEPARTMENT, Period.ONCALL, "department_oncall", id="christmas-eve"
        ),
        pytest.param(local(2026, 5, 1, 10, 0), DEPARTMENT, Period.DAY, "department_day", id="1-may-2026"),
    ],
)
def test_decision_period_uses_the_departments_own_day_hours(
    now: datetime, department: DepartmentInfo, period: Period, first_label: str
) -> None:
    decision = run([discharge(now - timedelta(hours=3), department=department)], now)
    assert decision.route is Route.RESPONSIBILITY
    assert decision.period is period
    assert decision.targets[0].label == first_label
    by_department = decide_for_department(
        department=department, shifts=[], calendar=CALENDAR, now=now, fallback_number=FALLBACK
    )
    assert by_department.period is period


def test_decision_period_uses_department_hours_without_active_responsibility() -> None:
    now = local(2026, 11, 23, 15, 15)
    expired = discharge(now - timedelta(days=5), department=LATE_DAY_HOURS)
    decision = run([expired], now)
    assert decision.route is Route.NO_RESPONSIBILITY
    assert decision.department_code == LATE_DAY_HOURS.code
    assert decision.period is Period.DAY


# --- No active responsibility (step 5) ---------------------------------------------------------


EXPIRED_AGO = timedelta(days=5)


@pytest.mark.parametrize(
    ("now", "gp_phone", "expected"),
    [
        pytest.param(local(2026, 11, 23, 10, 0), GP, [(GP, "gp")], id="gp-hours-gp-known"),
        pytest.param(local(2026, 11, 23, 15, 30), GP, [(GP, "gp")], id="gp-hours-15:30-after-day-time"),
        pytest.param(local(2026, 11, 23, 15, 59, 59), GP, [(GP, "gp")], id="gp-hours-15:59:59"),
        pytest.param(local(2026, 11, 23, 16, 0), GP, [(AFTER_HOURS, "after_hours")], id="gp-closed-16:00"),
        pytest.param(local(2026, 11, 23, 7, 59), GP, [(AFTER_HOURS, "after_hours")], id="gp-closed-07:59"),
        pytest.param(local(2026, 11, 23, 10, 0), None, [(AFTER_HOURS, "after_hours")], id="gp-hours-no-gp"),
        pytest.param(local(2026, 11, 21, 10, 0), GP, [(AFTER_HOURS, "after_hours")], id="saturday-gp-known"),
        pytest.param(
            local(2026, 12, 24, 10, 0), GP, [(AFTER_HOURS, "after_hours")], id="christmas-eve-gp-known"
        ),
    ],
)
def test_without_responsibility_the_call_goes_to_gp_or_after_hours_then_fallback(
    now: datetime, gp_phone: str | None, expected: list[tuple[str, str]]
) -> None:
    decision = run([discharge(now - EXPIRED_AGO, gp_phone=gp_phone)], now)
    assert decision.route is Route.NO_RESPONSIBILITY
    assert decision.responsibility is None
    assert decision.department_code == DEPARTMENT.code
    assert [(t.number, t.label) for t in decision.targets] == [*expected, (FALLBACK, "fallback")]


def test_only_the_newest_discharge_names_the_gp() -> None:
    older = discharge(MONDAY_10 - timedelta(days=20), id="older", gp_phone=GP)
    newer = discharge(MONDAY_10 - timedelta(days=5), id="newer", gp_phone=None)
    assert numbers(run([older, newer], MONDAY_10)) == [AFTER_HOURS, FALLBACK]
    newest_with_gp = discharge(MONDAY_10 - timedelta(days=5), id="newer", gp_phone="+4544556677")
    assert numbers(run([older, newest_with_gp], MONDAY_10)) == ["+4544556677", FALLBACK]


def test_destination_other_routes_to_the_gp_in_gp_hours() -> None:
    decision = run([discharge(MONDAY_10 - timedelta(hours=2), destination="other", gp_phone=GP)], MONDAY_10)
    assert decision.route is Route.NO_RESPONSIBILITY
    assert numbers(decision) == [GP, FALLBACK]


@pytest.mark.parametrize(
    ("now", "period"),
    [
        pytest.param(MONDAY_10, Period.DAY, id="weekday-10:00"),
        pytest.param(MONDAY_20, Period.ONCALL, id="weekday-20:00"),
    ],
)
def test_a_patient_without_discharges_has_no_responsibility(now: datetime, period: Period) -> None:
    decision = run([], now)
    assert decision.route is Route.NO_RESPONSIBILITY
    assert decision.department_code is None
    assert decision.newest_discharge is None
    assert decision.responsibility is None
    assert decision.period is period
    assert [(t.number, t.label) for t in decision.targets] == [
        (AFTER_HOURS, "after_hours"),
        (FALLBACK, "fallback"),
    ]


def test_after_hours_number_equal_to_fallback_is_dialled_once() -> None:
    decision = decide(
        discharges=[],
        departments={},
        shifts=[],
        calendar=CALENDAR,
        now=MONDAY_20,
        window=WINDOW,
        fallback_number=FALLBACK,
        after_hours_number=FALLBACK,
    )
    assert numbers(decision) == [FALLBACK]


def test_decide_dials_each_number_once_with_an_active_responsibility() -> None:
    same_as_fallback = DepartmentInfo(
        "RH-AKUT", "Akutafdelingen", "Rigshospitalet", day_phone="+4535457000", switchboard_phone=FALLBACK
    )
    shifts = [shift("day", local(2026, 11, 23, 8), local(2026, 11, 23, 15), "+4535457000", "Doctor")]
    record = discharge(MONDAY_10 - timedelta(hours=5), department=same_as_fallback)
    decision = run([record], MONDAY_10, shifts=shifts, departments=[same_as_fallback])
    assert decision.route is Route.RESPONSIBILITY
    assert [(t.number, t.label) for t in decision.targets] == [
        ("+4535457000", "day"),
        (FALLBACK, "switchboard"),
    ]


# --- The stay's whole life: admitted, on leave, emergency visits, the target group, the end, a death --


def stay(
    admitted: timedelta,
    discharged: timedelta | None = None,
    *,
    id: str = "S1",
    kind: str = "inpatient",
    department: DepartmentInfo = DEPARTMENT,
    destination: str | None = None,
    target_group: bool | None = None,
    ended: timedelta | None = None,
) -> DischargeInfo:
    """A stay admitted (and discharged) that long before NOW (negative: after)."""
    return DischargeInfo(
        id=id,
        department_code=department.code,
        discharged_at=NOW - discharged if discharged is not None else None,
        destination=destination,
        admitted_at=NOW - admitted,
        kind=kind,
        target_group=target_group,
        ended_at=NOW - ended if ended is not None else None,
    )


H = timedelta(hours=1)
DISCHARGED_TO_NURSING = stay(100 * H, 30 * H, id="old", destination="nursing_home")


@pytest.mark.parametrize(
    ("stays", "route", "department"),
    [
        pytest.param([stay(5 * H)], Route.INPATIENT, "RH-KARD", id="admitted-now"),
        pytest.param(
            [DISCHARGED_TO_NURSING, stay(5 * H, department=NO_ONCALL_PHONE, id="new")],
            Route.INPATIENT,
            "BOH-MED",
            id="readmitted-elsewhere:-the-admitting-department",
        ),
        pytest.param(
            [
                DISCHARGED_TO_NURSING,
                stay(5 * H, 2 * H, kind="emergency", id="er", department=NO_ONCALL_PHONE),
            ],
            Route.RESPONSIBILITY,
            "RH-KARD",
            id="an-emergency-visit-ends-nothing",
        ),
        pytest.param(
            [DISCHARGED_TO_NURSING, stay(5 * H, kind="emergency", id="er", department=NO_ONCALL_PHONE)],
            Route.RESPONSIBILITY,
            "RH-KARD",
            id="nor-does-an-emergency-visit-in-progress",
        ),
        pytest.param(
            [stay(100 * H, 30 * H, target_group=None)],
            Route.NO_RESPONSIBILITY,
            "RH-KARD",
            id="a-notified-discharge-opens-nothing-by-itself",
        ),
        pytest.param(
            [stay(100 * H, 30 * H, target_group=True)],
            Route.RESPONSIBILITY,
            "RH-KARD",
            id="marked-in-the-target-group:-it-opens",
        ),
        pytest.param(
            [stay(100 * H, 30 * H, destination="home_nursing", target_group=False)],
            Route.NO_RESPONSIBILITY,
            "RH-KARD",
            id="marked-outside-the-target-group",
        ),
        pytest.param(
            [stay(100 * H, 30 * H, destination="nursing_home", ended=1 * H)],
            Route.NO_RESPONSIBILITY,
            "RH-KARD",
            id="ended-early-by-the-department",
        ),
        pytest.param(
            [stay(100 * H, 30 * H, destination="nursing_home", ended=-1 * H)],
            Route.RESPONSIBILITY,
            "RH-KARD",
            id="an-end-still-ahead",
        ),
    ],
)
def test_the_stay_decides_who_holds_the_patient(
    stays: list[DischargeInfo], route: Route, department: str
) -> None:
    decision = run(stays, NOW)
    assert (decision.route, decision.department_code) == (route, department)
    if route is Route.INPATIENT:
        admitting = NO_ONCALL_PHONE if department == "BOH-MED" else DEPARTMENT
        assert numbers(decision)[0] == admitting.day_phone  # day time: the admitting department's phone
        assert "after_hours" not in labels(decision) and "gp" not in labels(decision)


def test_on_leave_the_patient_is_still_admitted() -> None:
    on_leave = stay(50 * H)  # leave (orlov) does not end the admission: no discharge time yet
    assert run([DISCHARGED_TO_NURSING, on_leave], NOW).route is Route.INPATIENT


@pytest.mark.parametrize(
    "stays",
    [[DISCHARGED_TO_NURSING], [stay(5 * H)]],
    ids=["in-a-window", "admitted"],
)
def test_after_a_death_no_department_holds_the_patient(stays: list[DischargeInfo]) -> None:
    assert run(stays, NOW).route.department_holds
    after = run(stays, NOW, deceased_at=NOW - H)
    assert after.route is Route.NO_RESPONSIBILITY
    assert labels(after) == ["after_hours", "fallback"]  # no GP named: the after-hours line
    assert run(stays, NOW, deceased_at=NOW + H).route.department_holds  # not yet
