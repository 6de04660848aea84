"""Read an agreements file (TOML, one table per agreement code: `[agreement.SJ]`).

```toml
[agreement.SJ]
name = "Region Sjælland"
line_name = "96-timers-linjen"
window_hours = 96
min_age = 18
municipalities = ["Roskilde", "Køge"]
short_stay_hours = 24
nursing_home_short_stays = true
psychiatry = true
nurse_first = true
after_hours_number = "+45 70 15 18 18"
fallback_number = "+45 56 51 00 00"
day_hours = "08:00-15:00"
closed_days = ["12-24", "12-31"]
half_days = { "06-05" = "12:00" }
```

Each problem is one line `FILE: agreement.CODE.key: what is wrong`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.intake.table import Problems
from app.values.days import parse_closed_days, parse_half_days
from app.values.phones import PhoneError, check
from routing import DayHours
from routing.agreement import DEFAULT_AGREEMENT

KEYS = {
    "name",
    "line_name",
    "window_hours",
    "min_age",
    "municipalities",
    "short_stay_hours",
    "nursing_home_short_stays",
    "psychiatry",
    "nurse_first",
    "after_hours_number",
    "fallback_number",
    "day_hours",
    "closed_days",
    "half_days",
}


@dataclass(frozen=True)
class AgreementRecord:
    """One agreement as the file gives it, checked."""

    code: str
    name: str
    after_hours_number: str
    fallback_number: str
    line_name: str = "72-timers-linjen"
    window_hours: int = 72
    min_age: int | None = None
    municipalities: list[str] = field(default_factory=list)
    short_stay_hours: int = 24
    nursing_home_short_stays: bool = False
    psychiatry: bool = False
    nurse_first: bool = False  # nursing callers get the department's nurses (rota role `nurse`) first
    day_hours: str | None = None
    closed_days: list[str] = field(default_factory=list)
    half_days: dict[str, str] = field(default_factory=dict)


def read_agreements(text: str, problems: Problems) -> list[AgreementRecord]:
    """Return the file's agreements; problems go to `problems`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problems.file(f"not valid TOML: {exc}")
        return []
    tables = data.get("agreement")
    if set(data) - {"agreement"} or not isinstance(tables, dict) or not tables:
        problems.file("expected one table per agreement: [agreement.CODE]")
        return []
    records = []
    for code, table in tables.items():
        where = f"agreement.{code}"
        if not isinstance(table, dict):
            problems.file(f"{where}: must be a table")
            continue
        before = len(problems)

        def problem(key: str, message: str, where: str = where) -> None:
            problems.file(f"{where}.{key}: {message}")

        record = check_agreement(code, table, problem)
        if len(problems) == before:
            records.append(record)
    return records


def check_agreement(
    code: str, table: Mapping[str, Any], problem: Callable[[str, str], None]
) -> AgreementRecord:
    """Check one agreement's values (a TOML table, or the console's form); each problem goes to
    `problem(key, message)`. The record is only to be used when no problem was reported.

    Municipalities, closed days and half days may be lists (TOML) or text (a form's box): one
    rule reads both.
    """
    if not code or not code.replace("-", "").isalnum() or len(code) > 16:
        problem("code", "letters, digits and dashes, at most 16")
    if code.casefold() == DEFAULT_AGREEMENT:
        problem("code", f"{DEFAULT_AGREEMENT!r} names the deployment's own settings: choose another code")
    for key in sorted(set(table) - KEYS):
        problem(key, f"unknown key (expected {', '.join(sorted(KEYS))})")
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        problem("name", "required: the agreement's name")
    numbers = {}
    for key in ("after_hours_number", "fallback_number"):
        value = table.get(key)
        try:
            numbers[key] = check(str(value), allow_short=False).number if isinstance(value, str) else ""
            if not numbers[key]:
                problem(key, "required: a full phone number")
        except PhoneError as exc:
            problem(key, f"{exc} (a full number: the line's professionals' lines, not 1813)")
    ints = {}
    for key, default, lowest in (("window_hours", 72, 1), ("short_stay_hours", 24, 0), ("min_age", None, 0)):
        value = table.get(key, default)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < lowest):
            problem(key, f"must be a whole number of at least {lowest}")
        ints[key] = value
    flags = {}
    for key in ("nursing_home_short_stays", "psychiatry", "nurse_first"):
        value = table.get(key, False)
        if not isinstance(value, bool):
            problem(key, "must be true or false")
        flags[key] = bool(value)
    municipalities = table.get("municipalities", [])
    if isinstance(municipalities, str):
        municipalities = [m for m in re.split(r"[\n,;]+", municipalities) if m.strip()]
    if not isinstance(municipalities, list) or not all(
        isinstance(m, str) and m.strip() for m in municipalities
    ):
        problem("municipalities", "must be a list of municipality names (empty: every resident)")
        municipalities = []
    day_hours = table.get("day_hours")
    if day_hours is not None:
        try:
            day_hours = str(DayHours.parse(str(day_hours)))
        except ValueError as exc:
            problem("day_hours", str(exc))
    closed = _days(table.get("closed_days", []), list, parse_closed_days, lambda days: " ".join(days))
    if isinstance(closed, str):
        problem("closed_days", closed)
        closed = []
    half = _days(
        table.get("half_days", {}),
        dict,
        parse_half_days,
        lambda days: ", ".join(f"{day} {at}" for day, at in days.items()),
    )
    if isinstance(half, str):
        problem("half_days", half)
        half = {}
    line_name = table.get("line_name", "72-timers-linjen")
    if not isinstance(line_name, str) or not line_name.strip() or len(line_name) > 60:
        problem("line_name", "must be the name the prompts give the line (at most 60 characters)")
    return AgreementRecord(
        code=code,
        name=str(name or "").strip(),
        after_hours_number=numbers.get("after_hours_number", ""),
        fallback_number=numbers.get("fallback_number", ""),
        line_name=str(line_name).strip(),
        window_hours=ints["window_hours"] or 72,
        min_age=ints["min_age"],
        municipalities=sorted({m.strip() for m in municipalities}),
        short_stay_hours=ints["short_stay_hours"] if ints["short_stay_hours"] is not None else 24,
        nursing_home_short_stays=flags["nursing_home_short_stays"],
        psychiatry=flags["psychiatry"],
        nurse_first=flags["nurse_first"],
        day_hours=day_hours,
        closed_days=list(closed),
        half_days=dict(half),
    )


def _days(value: object, kind: type, parse: Callable[[str], Any], as_text: Callable[[Any], str]) -> Any:
    """Closed days or half days, from TOML's list or table or from a form's text; a str is a problem."""
    if isinstance(value, kind) and all(isinstance(item, str) for item in value):  # type: ignore[attr-defined]
        value = as_text(value)
    if not isinstance(value, str):
        return (
            'must be a list of "MM-DD" dates'
            if kind is list
            else 'must be a table of "MM-DD" = "HH:MM" (when on-call time starts)'
        )
    try:
        return parse(value)
    except ValueError as exc:
        return str(exc)
