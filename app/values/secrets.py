"""Secrets that travel in URLs: the calendar feeds' tokens, and blanking them out of log text."""

from __future__ import annotations

import re

# A feed's token is its URL's only credential; the prefix makes a leaked one recognisable.
FEED_PREFIX = "l72cal_"
FEED_PATH = "/calendar/"

# The token itself wherever it stands, and anything in a feed's path (a mistyped token is
# often a real one with a character missing).
_FEED_TOKEN = re.compile(re.escape(FEED_PREFIX) + r"[A-Za-z0-9_-]+")
_FEED_URL = re.compile(re.escape(FEED_PATH) + r"[^\s\"'?#]+")
HIDDEN = "[token]"


def redact_secrets(text: str) -> str:
    """Return `text` with calendar feed tokens and feed paths blanked out."""
    text = _FEED_URL.sub(FEED_PATH + HIDDEN + ".ics", text)
    return _FEED_TOKEN.sub(HIDDEN, text)
