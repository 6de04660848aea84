"""Shared test helpers: the test settings, a clock the tests set, reading TwiML as the provider does."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path
from typing import Any

from app.values.times import parse_time

AUTH_TOKEN = "test-auth-token-0123456789abcdef"
SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"
FALLBACK = "+4538640000"
AFTER_HOURS = "+4570131813"  # the region's after-hours line for professionals (fictional)
PUBLIC_URL = "http://localhost"
# The example files the docs describe, kept in the repository.
EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"

# Every setting the product reads from the environment or a settings file: the tests
# clear them all, so that nothing in a developer's shell changes a result.
SETTING_PREFIXES = ("LINJE72_", "TWILIO_")
SETTING_NAMES = ("DATABASE_URL",)


class Clock:
    """A clock the tests set; the app reads it instead of the system clock."""

    def __init__(self) -> None:
        self.now = parse_time("2026-11-23T10:00:00+01:00")

    def set(self, moment: str) -> datetime:
        self.now = parse_time(moment)
        return self.now

    def __call__(self) -> datetime:
        return self.now


# The settings a deployment must give, as the tests give them.
REQUIRED_SETTINGS = {
    "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
    "LINJE72_SECRET_KEY": SECRET_KEY,
    "LINJE72_FALLBACK_NUMBER": FALLBACK,
    "LINJE72_AFTER_HOURS_NUMBER": AFTER_HOURS,
    "LINJE72_PUBLIC_URL": PUBLIC_URL,
}


def app_settings(database_url: str, clock: Clock, instance_path: str, **more: Any) -> dict[str, Any]:
    """Return the settings a test app is built with."""
    return {
        "TESTING": True,
        "INSTANCE_PATH": instance_path,
        "DATABASE_URL": database_url,
        **REQUIRED_SETTINGS,
        "CLOCK": clock,
        **more,
    }


def twiml(body: str) -> ET.Element:
    """Parse a webhook's answer as the provider does: well-formed XML with a <Response> root."""
    root = ET.fromstring(body)
    assert root.tag == "Response", f"not a TwiML document: {body[:200]}"
    return root


def spoken(root: ET.Element) -> str:
    """Return everything a <Say> in the document speaks, in order."""
    return " ".join((say.text or "").strip() for say in root.iter("Say"))


def actions(root: ET.Element) -> list[str]:
    """Return every URL the document sends the provider to next (action, url, Redirect)."""
    found = []
    for element in root.iter():
        for attribute in ("action", "url"):
            if element.get(attribute):
                found.append(element.get(attribute, ""))
        if element.tag == "Redirect":
            found.append((element.text or "").strip())
    return found


def versionless(text: str) -> str:
    """The output with rota version numbers as `N`: on PostgreSQL ids keep counting across tests."""
    return re.sub(r"\(rota version \d+\)", "(rota version N)", text)
