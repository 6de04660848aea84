"""Days of the year as agreements and departments give them: closed days `MM-DD`, half days `MM-DD HH:MM`."""

from __future__ import annotations

import re
from datetime import date, time

# Items are separated by spaces, commas, semicolons or new lines (a CSV cell, a form's text box).
_SEPARATORS = re.compile(r"[\s,;]+")


def is_month_day(text: object) -> bool:
    """Whether `text` is a day of the year as `MM-DD` (29 February included)."""
    if not isinstance(text, str) or len(text) != 5 or text[2] != "-":
        return False
    try:
        date(2024, int(text[:2]), int(text[3:]))  # a leap year: 02-29 may be given
    except ValueError:
        return False
    return True


def clock(text: object) -> str | None:
    """Return a time of day as `HH:MM`, or None when `text` is not one."""
    if not isinstance(text, str) or not re.fullmatch(r"\d{1,2}:\d{2}", text.strip()):
        return None
    try:
        return f"{time.fromisoformat(text.strip().zfill(5)):%H:%M}"
    except ValueError:
        return None


def parse_closed_days(text: str) -> list[str]:
    """Parse `12-24 12-31` into `["12-24", "12-31"]`; raise ValueError naming what is wrong."""
    days = [item for item in _SEPARATORS.split(text.strip()) if item]
    for day in days:
        if not is_month_day(day):
            raise ValueError(f"{day[:20]!r} is not a day as MM-DD (e.g. 12-24)")
    return sorted(set(days))


def parse_half_days(text: str) -> dict[str, str]:
    """Parse `06-05 12:00, 12-23 13:00` into `{"06-05": "12:00", ...}` (when on-call time starts).

    Raise ValueError naming what is wrong.
    """
    items = [item for item in _SEPARATORS.split(text.strip()) if item]
    half: dict[str, str] = {}
    for index in range(0, len(items), 2):
        day, at = items[index], items[index + 1] if index + 1 < len(items) else ""
        closes = clock(at)
        if not is_month_day(day) or closes is None:
            raise ValueError(
                f"{f'{day} {at}'.strip()[:30]!r} is not a half day as MM-DD HH:MM (e.g. 06-05 12:00)"
            )
        if day in half:
            raise ValueError(f"{day} is given twice")
        half[day] = closes
    return dict(sorted(half.items()))


def show_closed_days(days: list[str]) -> str:
    return " ".join(sorted(days))


def show_half_days(days: dict[str, str]) -> str:
    return ", ".join(f"{day} {at}" for day, at in sorted(days.items()))
