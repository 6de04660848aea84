"""Times given on the command line: ISO 8601, local time meaning Copenhagen."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import click
from flask import current_app

from app.values.times import TimeError, parse_time


def option_time(text: str | None, option: str) -> datetime | None:
    """Return the option's time, or None when not given; a bad one is a usage error naming the option."""
    if text is None:
        return None
    try:
        return parse_time(text)
    except TimeError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


def clock_at(at: str | None) -> Callable[[], datetime] | None:
    """Return a clock stopped at `--at`, or None for the app's own clock."""
    moment = option_time(at, "--at")
    return None if moment is None else (lambda: moment)


def now_at(at: str | None) -> datetime:
    """Return `--at`, or now by the app's clock."""
    clock = clock_at(at) or current_app.config["CLOCK"]
    now: datetime = clock()
    return now
