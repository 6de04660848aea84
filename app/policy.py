"""The configurable parts of the routing policy, parsed once at start."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from app.config import ConfigError
from app.phones import PhoneError, normalise
from routing import Calendar, DayHours


@dataclass(frozen=True)
class Policy:
    calendar: Calendar
    window: timedelta
    fallback_number: str
    after_hours_number: str
    ring_seconds: int
    voices: dict[str, str]


def policy_from(settings: Mapping[str, Any]) -> Policy:
    """Parse the policy settings; raise ConfigError naming a bad one."""

    def parsed(name: str, parse: Callable[[str], Any]) -> Any:
        try:
            return parse(str(settings[name]))
        except (ValueError, PhoneError) as exc:
            raise ConfigError(f"{name}: {exc}") from None

    calendar = Calendar(
        day_hours=parsed("LINJE72_DAY_HOURS", DayHours.parse),
        gp_hours=parsed("LINJE72_GP_HOURS", DayHours.parse),
        closed_days=parsed("LINJE72_CLOSED_DAYS", _closed_days),
    )
    return Policy(
        calendar=calendar,
        window=timedelta(hours=parsed("LINJE72_RESPONSIBILITY_HOURS", _positive_hours)),
        fallback_number=parsed("LINJE72_FALLBACK_NUMBER", normalise),
        after_hours_number=parsed("LINJE72_AFTER_HOURS_NUMBER", normalise),
        ring_seconds=parsed("LINJE72_RING_SECONDS", int),
        voices={"da": settings["LINJE72_VOICE_DA"], "en": settings["LINJE72_VOICE_EN"]},
    )


def _positive_hours(text: str) -> float:
    hours = float(text)
    if hours <= 0:
        raise ValueError("must be a positive number of hours")
    return hours


def _closed_days(text: str) -> frozenset[tuple[int, int]]:
    """Parse `MM-DD,MM-DD,…` into (month, day) pairs."""
    days = set()
    for item in filter(None, (part.strip() for part in text.split(","))):
        month, _, day = item.partition("-")
        date(2024, int(month), int(day))  # a leap year, so 02-29 is allowed
        days.add((int(month), int(day)))
    return frozenset(days)
