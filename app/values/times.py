"""Read ISO 8601 times from files and the command line, local time meaning Copenhagen."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from app.values.cpr import redact, shown
from routing.calendar import COPENHAGEN


class TimeError(ValueError):
    """Not a time we can place unambiguously; the message says why."""


def parse_time(text: str) -> datetime:
    """Return an aware datetime in UTC.

    A time without an offset is wall-clock time in Europe/Copenhagen; one that
    does not exist (spring forward) or happens twice (fall back) is refused.
    """
    return _parse((text or "").strip())


# A region's rota repeats the same few thousand times for every department.
@lru_cache(maxsize=16384)
def _parse(raw: str) -> datetime:
    if not raw:
        raise TimeError("no time given")
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise TimeError(f"not an ISO 8601 time: {shown(raw)}") from None
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    return from_copenhagen(parsed, raw)


def from_copenhagen(wall: datetime, given: str) -> datetime:
    """Return Copenhagen wall-clock time `wall` (naive) in UTC; refuse one a DST change skips or repeats.

    `given` is the text as the sender wrote it, for the error message.
    """
    first = wall.replace(tzinfo=COPENHAGEN, fold=0)
    second = wall.replace(tzinfo=COPENHAGEN, fold=1)
    if first.astimezone(UTC).astimezone(COPENHAGEN).replace(tzinfo=None) != wall:
        raise TimeError(
            f"{redact(given)} does not exist in Copenhagen (daylight saving starts): give an offset"
        )
    if first.utcoffset() != second.utcoffset():
        raise TimeError(f"{redact(given)} happens twice in Copenhagen (daylight saving ends): give an offset")
    return first.astimezone(UTC)


def local_iso(moment: datetime) -> str:
    """Return `moment` as ISO 8601 in Copenhagen time, to the second."""
    return moment.astimezone(COPENHAGEN).isoformat(timespec="seconds")


def local_minute(moment: datetime) -> str:
    """Return `moment` as Copenhagen wall-clock time to the minute, e.g. '2026-11-23 08:00'."""
    return moment.astimezone(COPENHAGEN).strftime("%Y-%m-%d %H:%M")


def local_clock(moment: datetime) -> str:
    """Return `moment` as Copenhagen time of day to the second, e.g. '10:00:12'."""
    return moment.astimezone(COPENHAGEN).strftime("%H:%M:%S")
