"""Coverage, overrides, the rota's checks and the preview's comparison: the pure rules, no database."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from app.values.times import local_minute, parse_time
from routing import (
    Calendar,
    DepartmentInfo,
    Override,
    Period,
    Role,
    ShiftInfo,
    apply_overrides,
    can_have_gaps,
    check_rota,
    coverage,
    diff_rota,
    gaps,
    periods,
    shifts_at,
)
from routing.calendar import DayHours

CAL = Calendar()
WITH_PHONE = DepartmentInfo(
    "RH-KARD", "Kardiologi", "Rigshospitalet", "+4531102001", "+4531100000", "+4531102009"
)
NO_ONCALL_PHONE = DepartmentInfo("BFH-GER", "Geriatri", "Bispebjerg", "+4535310001", "+4535310000", None)
BO, CECILIE, DORTE = "+4540101002", "+4540101003", "+4540101004"


def t(text: str) -> datetime:
    return parse_time(text)


def shift(role: str, start: str, end: str, phone: str = BO, name: str = "Bo") -> ShiftInfo:
    return ShiftInfo(Role(role), t(start), t(end), phone, name)


def spans(found: list) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(local_minute(g.start), local_minute(g.end)) for g in found]


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    (
        # A Monday: night, the day hours, the evening.
        (
            "2026-11-23 00:00",
            "2026-11-24 00:00",
            [("00:00", "08:00", "oncall"), ("08:00", "15:00", "day"), ("15:00", "00:00", "oncall")],
        ),
        # A Saturday is on call all day, and so is 24 December (a Thursday in 2026).
        ("2026-11-28 00:00", "2026-11-29 00:00", [("00:00", "00:00", "oncall")]),
        ("2026-12-24 00:00", "2026-12-25 00:00", [("00:00", "00:00", "oncall")]),
        # The stretch asked for cuts the periods.
        ("2026-11-23 10:00", "2026-11-23 16:00", [("10:00", "15:00", "day"), ("15:00", "16:00", "oncall")]),
    ),
)
def test_time_is_cut_into_day_and_oncall_by_the_calendar(
    start: str, end: str, expected: list[tuple[str, str, str]]
) -> None:
    found = [
        (local_minute(s)[11:], local_minute(e)[11:], p.value) for s, e, p in periods(CAL, t(start), t(end))
    ]
    assert found == expected


def test_a_department_with_its_own_day_hours_has_its_own_periods() -> None:
    found = periods(CAL, t("2026-11-23 07:00"), t("2026-11-23 17:00"), DayHours.parse("07:30-15:30"))
    assert [(local_minute(s)[11:], p) for s, _, p in found] == [
        ("07:00", Period.ONCALL),
        ("07:30", Period.DAY),
        ("15:30", Period.ONCALL),
    ]


@pytest.mark.parametrize(
    ("department", "shifts", "expected"),
    (
        # No on-call phone: the evening and night without an on-call shift is a gap.
        (NO_ONCALL_PHONE, [], [("2026-11-23 15:00", "2026-11-24 08:00")]),
        # The department's own on-call phone carries the night: no gap.
        (WITH_PHONE, [], []),
        # A shift that ends early leaves the rest uncovered.
        (
            NO_ONCALL_PHONE,
            [shift("oncall", "2026-11-23 15:00", "2026-11-24 02:00")],
            [("2026-11-24 02:00", "2026-11-24 08:00")],
        ),
        # A backup shift does not answer first: still a gap.
        (
            NO_ONCALL_PHONE,
            [shift("backup", "2026-11-23 15:00", "2026-11-24 08:00")],
            [("2026-11-23 15:00", "2026-11-24 08:00")],
        ),
        # Two shifts back to back cover it all.
        (
            NO_ONCALL_PHONE,
            [
                shift("oncall", "2026-11-23 15:00", "2026-11-23 23:00"),
                shift("oncall", "2026-11-23 23:00", "2026-11-24 08:00", CECILIE, "Cecilie"),
            ],
            [],
        ),
    ),
)
def test_a_gap_is_time_where_nobody_of_the_department_answers_first(
    department: DepartmentInfo, shifts: list[ShiftInfo], expected: list[tuple[str, str]]
) -> None:
    covers = apply_overrides(shifts, [])
    found = gaps(
        department.code, coverage(department, CAL, covers, t("2026-11-23 08:00"), t("2026-11-24 08:00"))
    )
    assert spans(found) == expected


def test_a_night_shift_across_the_spring_change_covers_seven_hours_of_elapsed_time() -> None:
    night = shift("oncall", "2027-03-27 23:00", "2027-03-28 07:00")  # the clock jumps 02:00 -> 03:00
    stretches = coverage(
        NO_ONCALL_PHONE, CAL, apply_overrides([night], []), t("2027-03-27 23:00"), t("2027-03-28 09:00")
    )
    assert spans(gaps("BFH-GER", stretches)) == [("2027-03-28 07:00", "2027-03-28 09:00")]
    assert (stretches[0].end - stretches[0].start) == timedelta(hours=7)


def override(start: str, end: str, *, replaces: str | None = BO, role: str = "oncall") -> Override:
    return Override(
        7, "BFH-GER", Role(role), t(start), t(end), "Dorte Berg", DORTE, replaces, "Bo" if replaces else ""
    )


def test_an_override_takes_the_replaced_persons_place_for_its_stretch_only() -> None:
    night = shift("oncall", "2026-11-23 15:00", "2026-11-24 08:00")
    covers = apply_overrides([night], [override("2026-11-23 20:00", "2026-11-24 02:00")])
    assert [(c.name, local_minute(c.start)[11:], local_minute(c.end)[11:], c.override) for c in covers] == [
        ("Bo", "15:00", "20:00", None),
        ("Dorte Berg", "20:00", "02:00", 7),
        ("Bo", "02:00", "08:00", None),
    ]


def test_an_override_keeps_the_replaced_persons_place_in_the_chain() -> None:
    first = shift("oncall", "2026-11-23 15:00", "2026-11-24 08:00")  # forvagt
    second = shift("oncall", "2026-11-23 16:00", "2026-11-24 08:00", CECILIE, "Cecilie")  # mellemvagt
    at = t("2026-11-23 22:00")
    assert [
        s.name for s in shifts_at([first, second], [override("2026-11-23 20:00", "2026-11-24 02:00")], at)
    ] == [
        "Dorte Berg",
        "Cecilie",
    ]


def test_an_override_of_someone_not_on_the_rota_changes_nothing() -> None:
    night = shift("oncall", "2026-11-23 15:00", "2026-11-24 08:00", CECILIE, "Cecilie")
    assert [
        s.name
        for s in shifts_at([night], [override("2026-11-23 20:00", "2026-11-24 02:00")], t("2026-11-23 22:00"))
    ] == ["Cecilie"]


def test_an_override_that_replaces_nobody_closes_a_gap() -> None:
    cover = override("2026-11-23 15:00", "2026-11-24 08:00", replaces=None)
    covers = apply_overrides([], [cover])
    stretches = coverage(NO_ONCALL_PHONE, CAL, covers, t("2026-11-23 15:00"), t("2026-11-24 08:00"))
    assert gaps("BFH-GER", stretches) == []
    assert [p.name for p in stretches[0].people] == ["Dorte Berg"] and stretches[0].override


def test_layered_duty_is_shown_as_one_stretch_with_both_people_in_ring_order() -> None:
    shifts = [
        shift("oncall", "2026-11-23 15:00", "2026-11-24 08:00"),
        shift("oncall", "2026-11-23 15:00", "2026-11-24 08:00", CECILIE, "Cecilie"),
    ]
    stretches = coverage(
        NO_ONCALL_PHONE, CAL, apply_overrides(shifts, []), t("2026-11-23 15:00"), t("2026-11-24 08:00")
    )
    assert len(stretches) == 1 and [p.name for p in stretches[0].people] == ["Bo", "Cecilie"]


class Planned:
    def __init__(self, role: str, start: str, end: str, phone: str = BO, department: str = "RH-KARD") -> None:
        self.department, self.role, self.start, self.end = department, Role(role), t(start), t(end)
        self.phone, self.name = phone, "x"


@pytest.mark.parametrize(
    ("shifts", "expected"),
    (
        # The same person twice at once: an error on the later row, naming the earlier.
        (
            [
                Planned("oncall", "2026-11-23 15:00", "2026-11-24 08:00"),
                Planned("backup", "2026-11-23 20:00", "2026-11-24 08:00"),
            ],
            [(1, "error", "phone", 0)],
        ),
        # Back to back is not at once.
        (
            [
                Planned("oncall", "2026-11-23 08:00", "2026-11-23 15:00"),
                Planned("oncall", "2026-11-23 15:00", "2026-11-24 08:00"),
            ],
            [],
        ),
        # Two people in the same role at once: shown, not an error.
        (
            [
                Planned("oncall", "2026-11-23 15:00", "2026-11-24 08:00"),
                Planned("oncall", "2026-11-23 15:00", "2026-11-24 08:00", CECILIE),
            ],
            [(1, "note", "start", 0)],
        ),
        # The same role in two departments is no clash.
        (
            [
                Planned("oncall", "2026-11-23 15:00", "2026-11-24 08:00"),
                Planned("oncall", "2026-11-23 15:00", "2026-11-24 08:00", CECILIE, "BFH-GER"),
            ],
            [],
        ),
        # A weekend readiness shift over 24 hours: a warning to acknowledge.
        ([Planned("oncall", "2026-11-27 15:00", "2026-11-30 08:00")], [(0, "warning", "end", None)]),
    ),
)
def test_the_checks_before_publishing(shifts: list[Planned], expected: list[tuple]) -> None:  # type: ignore[type-arg]
    assert [(f.index, f.severity, f.column, f.other) for f in check_rota(shifts)] == expected


def key(
    role: str, start: str, end: str, name: str = "Bo", phone: str = BO
) -> tuple[str, datetime, datetime, str, str]:
    return (role, t(start), t(end), name, phone)


def test_the_preview_tells_added_removed_and_changed_shifts_apart() -> None:
    old = [
        key("oncall", "2026-11-23 15:00", "2026-11-24 08:00"),
        key("day", "2026-11-24 08:00", "2026-11-24 15:00", "Anna", "+4540101001"),
        key("backup", "2026-11-24 15:00", "2026-11-25 08:00", "Cecilie", CECILIE),
        key("oncall", "2026-11-25 15:00", "2026-11-26 08:00", "Cecilie", CECILIE),
    ]
    new = [
        key("oncall", "2026-11-23 15:00", "2026-11-24 08:00"),  # unchanged
        key("day", "2026-11-24 08:00", "2026-11-24 15:00", "Dorte", DORTE),  # another person
        key("backup", "2026-11-24 16:00", "2026-11-25 08:00", "Cecilie", CECILIE),  # other times
        key("oncall", "2026-11-26 15:00", "2026-11-27 08:00", "Dorte", DORTE),  # new
    ]
    diff = diff_rota(old, new)
    assert diff.unchanged == 1
    assert [(o[3], n[3]) for o, n in diff.changed] == [("Anna", "Dorte"), ("Cecilie", "Cecilie")]
    assert [k[1] for k in diff.added] == [t("2026-11-26 15:00")]
    assert [k[1] for k in diff.removed] == [t("2026-11-25 15:00")]


def test_only_a_department_without_an_own_phone_for_a_period_can_have_a_gap() -> None:
    week = (t("2026-11-23 00:00"), t("2026-11-30 00:00"))
    assert not can_have_gaps(WITH_PHONE)
    assert gaps("RH-KARD", coverage(WITH_PHONE, CAL, [], *week)) == []  # an empty rota, and still none
    assert can_have_gaps(NO_ONCALL_PHONE)
    # Monday before 08:00, four nights and a weekend:
    assert len(gaps("BFH-GER", coverage(NO_ONCALL_PHONE, CAL, [], *week))) == 6
