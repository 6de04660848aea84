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

import tomllib
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

from app.intake.table import Problems
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
        record = _record(
            code, table, lambda key, message, where=where: problems.file(f"{where}.{key}: {message}")
        )
        if record is not None and len(problems) == before:
            records.append(record)
    return records


def _record(code: str, table: dict[str, Any], problem: Any) -> AgreementRecord | None:
    if not code.replace("-", "").isalnum() or len(code) > 16:
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
    closed = table.get("closed_days", [])
    if not isinstance(closed, list) or not all(_month_day(day) for day in closed):
        problem("closed_days", 'must be a list of "MM-DD" dates')
        closed = []
    half = table.get("half_days", {})
    if not isinstance(half, dict) or not all(_month_day(day) and _clock(at) for day, at in half.items()):
        problem("half_days", 'must be a table of "MM-DD" = "HH:MM" (when on-call time starts)')
        half = {}
    line_name = table.get("line_name", "72-timers-linjen")
    if not isinstance(line_name, str) or not line_name.strip():
        problem("line_name", "must be the name the prompts give the line")
    return AgreementRecord(
        code=code,
        name=str(name or "").strip(),
        after_hours_number=numbers.get("after_hours_number", ""),
        fallback_number=numbers.get("fallback_number", ""),
        line_name=str(line_name),
        window_hours=ints["window_hours"] or 72,
        min_age=ints["min_age"],
        municipalities=[m.strip() for m in municipalities],
        short_stay_hours=ints["short_stay_hours"] if ints["short_stay_hours"] is not None else 24,
        nursing_home_short_stays=flags["nursing_home_short_stays"],
        psychiatry=flags["psychiatry"],
        nurse_first=flags["nurse_first"],
        day_hours=day_hours,
        closed_days=list(closed),
        half_days=dict(half),
    )


def _month_day(text: object) -> bool:
    if not isinstance(text, str) or len(text) != 5 or text[2] != "-":
        return False
    try:
        date(2024, int(text[:2]), int(text[3:]))  # a leap year: 02-29 may be given
    except ValueError:
        return False
    return True


def _clock(text: object) -> bool:
    try:
        time.fromisoformat(str(text))
    except ValueError:
        return False
    return True
