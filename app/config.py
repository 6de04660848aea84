"""Configuration: defaults, then the environment; secrets without a safe default are required."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message names the variable."""


REQUIRED = ("TWILIO_AUTH_TOKEN", "LINJE72_SECRET_KEY", "LINJE72_FALLBACK_NUMBER")
MIN_SECRET_LENGTH = 32

DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": None,  # a SQLite file in the instance folder
    "TWILIO_AUTH_TOKEN": None,
    "LINJE72_SECRET_KEY": None,
    "LINJE72_PUBLIC_URL": None,
    "LINJE72_FALLBACK_NUMBER": None,
    "LINJE72_AFTER_HOURS_NUMBER": "1813",
    "LINJE72_RESPONSIBILITY_HOURS": "72",
    "LINJE72_DAY_HOURS": "08:00-15:00",
    "LINJE72_GP_HOURS": "08:00-16:00",
    "LINJE72_CLOSED_DAYS": "12-24,12-31,06-05",
    "LINJE72_RING_SECONDS": "20",
    "LINJE72_VOICE_DA": "Polly.Naja",
    "LINJE72_VOICE_EN": "Polly.Amy",
    "LINJE72_LOG_LEVEL": "INFO",
}


def load(environ: Mapping[str, str], overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Return the settings: defaults, then `environ`, then `overrides` (tests, the demo)."""
    settings = dict(DEFAULTS)
    for name in DEFAULTS:
        value = environ.get(name)
        if value not in (None, ""):
            settings[name] = value
    settings.update(overrides or {})
    return settings


def check(settings: Mapping[str, Any]) -> None:
    """Raise ConfigError naming the first setting that is missing or wrong."""
    for name in REQUIRED:
        if not settings.get(name):
            raise ConfigError(f"{name} is not set: the service cannot start without it")
    if len(str(settings["LINJE72_SECRET_KEY"])) < MIN_SECRET_LENGTH:
        raise ConfigError(f"LINJE72_SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters")
