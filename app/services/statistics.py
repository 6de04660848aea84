"""The region's monitoring figures, read from the anonymous statistics only (never a call or a patient).

One function, `monitoring`, gives the dashboard, its exports and the monthly report the same
figures for a period and a set of filters: the totals, and tables per day, ISO week, period
(day / on call), hospital, department, municipality, health council, caller kind, route and
agreement, and the calls by time to answer. Everything is summed from `contact_statistics`
(app.services.retention), so the figures are the same before and after the retention purge.

Time to answer is the call's start to the moment someone took it (pressed 1, or a staffed line
was put through). The statistics keep its sum and its distribution in bands, so the mean is
exact and the median and 90th percentile are given as the band they fall in ("≤ 60 s").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, String, case, func, literal, select, type_coerce, union_all
from sqlalchemy.orm import Session

from app.data.models import ContactStatistic, Department
from app.services.health_councils import health_councils
from app.services.retention import ANSWER_BANDS, BAND_COLUMNS
from routing.agreement import DEFAULT_AGREEMENT

# The agreement filter's value for departments under the deployment's own settings: the code the
# contact log, the export and the API give them.
OWN_SETTINGS = DEFAULT_AGREEMENT
# Periods longer than this are charted per ISO week rather than per day.
DAILY_UP_TO = 62
TABLES = (
    "days",
    "weeks",
    "periods",
    "hospitals",
    "departments",
    "municipalities",
    "councils",
    "caller_kinds",
    "routes",
    "agreements",
    "answer_times",
)


@dataclass(frozen=True)
class Filters:
    """Which contacts to count: a period of Copenhagen days (both included), and the filters."""

    start: date
    end: date
    hospital: str = ""
    department: str = ""
    municipality: str = ""
    council: str = ""
    agreement: str = ""  # a code, OWN_SETTINGS, or "" for every agreement
    caller_kind: str = ""

    def query(self) -> dict[str, str]:
        """The filters as query-string values (they are not personal data)."""
        values = {"from": self.start.isoformat(), "to": self.end.isoformat()}
        values.update({f.name: getattr(self, f.name) for f in fields(self)[2:] if getattr(self, f.name)})
        return values


@dataclass
class Figures:
    """The sums for one row of a table (or for all of it)."""

    calls: int = 0
    connected: int = 0
    forwarded: int = 0
    unanswered: int = 0
    abandoned: int = 0
    answered: int = 0
    answer_seconds: int = 0
    bands: list[int] = field(default_factory=lambda: [0] * len(BAND_COLUMNS))
    no_responsibility: int = 0
    follow_ups: int = 0
    follow_ups_closed: int = 0
    follow_up_seconds: int = 0

    def add(self, other: Figures) -> None:
        for name in _SUMMED:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.bands = [a + b for a, b in zip(self.bands, other.bands, strict=True)]

    @property
    def not_answered(self) -> int:
        """Nobody took the call: the chain ran out (unanswered), or the caller hung up first."""
        return self.unanswered + self.abandoned

    @property
    def answer_rate(self) -> float | None:
        return self.answered / self.calls if self.calls else None

    @property
    def mean_answer(self) -> float | None:
        """Mean seconds from the call's start to someone taking it."""
        return self.answer_seconds / self.answered if self.answered else None

    @property
    def mean_follow_up(self) -> float | None:
        """Mean seconds a closed follow-up stayed open."""
        return self.follow_up_seconds / self.follow_ups_closed if self.follow_ups_closed else None

    @property
    def open_follow_ups(self) -> int:
        return self.follow_ups - self.follow_ups_closed

    def answer_within(self, share: float) -> int | None:
        """The band (its upper bound in seconds; 0 for beyond the last) that the answer at `share`
        (0.5: the median) falls in; None without answered calls."""
        if not self.answered:
            return None
        needed = share * self.answered
        running = 0
        for limit, count in zip((*ANSWER_BANDS, 0), self.bands, strict=True):
            running += count
            if running >= needed:
                return limit
        return 0


_SUMMED = [f.name for f in fields(Figures) if f.name != "bands"]


@dataclass(frozen=True)
class Row:
    key: str  # the value filtered on (a code, a municipality, a date)
    label: str
    figures: Figures
    group: str = ""  # the hospital of a department


@dataclass
class Monitoring:
    """Everything the dashboard and the monthly report show, for one period and set of filters."""

    filters: Filters
    total: Figures
    tables: dict[str, list[Row]]
    hospitals: list[str]
    departments: list[tuple[str, str, str]]  # code, name, hospital
    municipalities: list[str]
    councils: list[str]
    agreements: list[str]
    caller_kinds: list[str]

    @property
    def daily(self) -> bool:
        return (self.filters.end - self.filters.start).days < DAILY_UP_TO


# The keys the figures are grouped by, each its own table.
_KEYS: dict[str, Any] = {
    "days": ContactStatistic.day,
    "departments": ContactStatistic.department,
    "municipalities": ContactStatistic.municipality,
    "caller_kinds": ContactStatistic.caller_kind,
    "periods": ContactStatistic.period,
    "routes": ContactStatistic.route,
    "agreements": ContactStatistic.agreement,
}


def _measures() -> list[ColumnElement[Any]]:
    s = ContactStatistic

    def when(condition: ColumnElement[bool]) -> ColumnElement[Any]:
        return func.sum(case((condition, s.calls), else_=0))

    return [
        func.sum(s.calls),
        when(s.outcome == "connected"),
        when(s.outcome == "forwarded"),
        when(s.outcome == "unanswered"),
        when(s.outcome == "abandoned"),
        func.sum(s.answered),
        func.sum(s.answer_seconds),
        *(func.sum(getattr(s, column)) for column in BAND_COLUMNS),
        when(s.route == "no_responsibility"),
        func.sum(s.follow_ups),
        func.sum(s.follow_ups_closed),
        func.sum(s.follow_up_seconds),
    ]


def _figures(values: Sequence[Any]) -> Figures:
    numbers = [int(value or 0) for value in values]
    bands = len(BAND_COLUMNS)
    calls, connected, forwarded, unanswered, abandoned, answered, answer_seconds = numbers[:7]
    return Figures(
        calls=calls,
        connected=connected,
        forwarded=forwarded,
        unanswered=unanswered,
        abandoned=abandoned,
        answered=answered,
        answer_seconds=answer_seconds,
        bands=numbers[7 : 7 + bands],
        no_responsibility=numbers[7 + bands],
        follow_ups=numbers[8 + bands],
        follow_ups_closed=numbers[9 + bands],
        follow_up_seconds=numbers[10 + bands],
    )


def _conditions(
    wanted: Filters, councils: Mapping[str, str], departments: Sequence[Department]
) -> list[ColumnElement[bool]]:
    s = ContactStatistic
    conditions = [s.day >= wanted.start, s.day <= wanted.end]
    if wanted.department:
        conditions.append(s.department == wanted.department)
    if wanted.hospital:
        conditions.append(s.department.in_([d.code for d in departments if d.hospital == wanted.hospital]))
    if wanted.municipality:
        conditions.append(s.municipality == wanted.municipality)
    if wanted.council:
        conditions.append(s.municipality.in_([m for m, c in councils.items() if c == wanted.council]))
    if wanted.agreement:
        conditions.append(s.agreement == ("" if wanted.agreement == OWN_SETTINGS else wanted.agreement))
    if wanted.caller_kind:
        conditions.append(s.caller_kind == wanted.caller_kind)
    return conditions


def _grouped(session: Session, conditions: list[ColumnElement[bool]]) -> dict[str, dict[str, Figures]]:
    """The figures per value of every key, by one scan of the statistics where the database can."""
    measures = _measures()
    found: dict[str, dict[str, Figures]] = {name: {} for name in _KEYS}
    columns = list(_KEYS.values())
    if session.get_bind().dialect.name == "postgresql":
        # GROUPING SETS: one pass over the rows, one hash table per key.
        query: Select[Any] = (
            select(*columns, *measures).where(*conditions).group_by(func.grouping_sets(*columns))
        )
        for row in session.execute(query):
            keys, values = row[: len(columns)], row[len(columns) :]
            for name, key in zip(_KEYS, keys, strict=True):
                if key is not None:
                    found[name][str(key)] = _figures(values)
                    break
        return found
    parts = [
        select(literal(name).label("set"), type_coerce(column, String).label("key"), *measures)
        .where(*conditions)
        .group_by(column)
        for name, column in _KEYS.items()
    ]
    for row in session.execute(union_all(*parts)):
        found[row[0]][str(row[1])] = _figures(row[2:])
    return found


def monitoring(session: Session, wanted: Filters) -> Monitoring:
    """The figures for `wanted`: the totals and every table, from the statistics alone."""
    departments = list(session.scalars(select(Department).order_by(Department.hospital, Department.code)))
    councils = health_councils(session)
    grouped = _grouped(session, _conditions(wanted, councils, departments))
    by_code = {d.code: d for d in departments}
    total = Figures()
    for figures in grouped["periods"].values():
        total.add(figures)
    tables: dict[str, list[Row]] = {}
    days = grouped["days"]
    tables["days"] = [Row(day, day, days[day]) for day in sorted(days)]
    tables["weeks"] = _rows_by(
        ((_week(day), figures) for day, figures in days.items()), label=lambda key: key, order=sorted
    )
    tables["periods"] = _rows(grouped["periods"], order=("day", "oncall", ""))
    department_rows = []
    for code, figures in sorted(
        grouped["departments"].items(),
        key=lambda item: (by_code[item[0]].hospital if item[0] in by_code else "~", item[0]),
    ):
        known = by_code.get(code)
        department_rows.append(
            Row(code, f"{code} {known.name}" if known else code, figures, known.hospital if known else "")
        )
    tables["departments"] = department_rows
    tables["hospitals"] = _rows_by(
        ((row.group, row.figures) for row in department_rows), label=lambda key: key, order=sorted
    )
    tables["municipalities"] = _rows(grouped["municipalities"], by_calls=True)
    tables["councils"] = _rows_by(
        (
            (councils.get(municipality, ""), figures)
            for municipality, figures in grouped["municipalities"].items()
        ),
        label=lambda key: key,
        order=lambda keys: sorted(keys, key=lambda key: (key == "", key)),
    )
    tables["caller_kinds"] = _rows(grouped["caller_kinds"], by_calls=True)
    tables["routes"] = _rows(
        grouped["routes"],
        order=(
            "responsibility",
            "inpatient",
            "no_responsibility",
            "unidentified_caller",
            "invalid_patient",
            "",
        ),
    )
    tables["agreements"] = _rows(grouped["agreements"], by_calls=True)
    tables["answer_times"] = [
        Row(str(limit), str(limit), Figures(calls=count, answered=count))
        for limit, count in zip((*ANSWER_BANDS, 0), total.bands, strict=True)
    ]
    return Monitoring(
        filters=wanted,
        total=total,
        tables=tables,
        hospitals=sorted({d.hospital for d in departments}),
        departments=[(d.code, d.name, d.hospital) for d in departments],
        municipalities=sorted(set(councils) | {m for m in grouped["municipalities"] if m}),
        councils=sorted(set(councils.values())),
        agreements=sorted(
            {d.agreement for d in departments if d.agreement} | set(grouped["agreements"]) - {""}
        ),
        caller_kinds=sorted(k for k in grouped["caller_kinds"] if k),
    )


def _week(day: str) -> str:
    year, week, _ = date.fromisoformat(day).isocalendar()
    return f"{year}-W{week:02d}"


def _rows(figures: Mapping[str, Figures], *, order: Sequence[str] = (), by_calls: bool = False) -> list[Row]:
    if by_calls:
        keys = sorted(figures, key=lambda key: (key == "", -figures[key].calls, key))
    else:
        keys = [key for key in order if key in figures] + sorted(set(figures) - set(order))
    return [Row(key, key, figures[key]) for key in keys]


def _rows_by(pairs: Iterable[tuple[str, Figures]], *, label: Any, order: Any) -> list[Row]:
    summed: dict[str, Figures] = defaultdict(Figures)
    for key, figures in pairs:
        summed[key].add(figures)
    return [Row(key, label(key), summed[key]) for key in order(summed)]


def month_period(month: str) -> tuple[date, date]:
    """The first and last day of `YYYY-MM`; ValueError for anything else."""
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError:
        raise ValueError(f"a month is YYYY-MM, not {month!r}") from None
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, following - timedelta(days=1)
