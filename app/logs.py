"""Logging that cannot leak a CPR number."""

from __future__ import annotations

import logging
import re

# Ten digits (or six, a dash, four) not part of a longer number or an E.164 phone number.
CPR_LIKE = re.compile(r"(?<![\d+])\d{6}-?\d{4}(?!\d)")


def redact(text: str) -> str:
    return CPR_LIKE.sub("[redacted]", text)


class RedactCprFilter(logging.Filter):
    """Blank out anything shaped like a CPR number in a record and its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        record.msg = redact(message)
        record.args = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def configure(level: str) -> None:
    """Send every log record through the redacting filter, whoever logs it."""
    root = logging.getLogger()
    if not any(isinstance(f, RedactCprFilter) for h in root.handlers for f in h.filters):
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(stream)
    root.setLevel(level)
    for handler in root.handlers:
        if not any(isinstance(f, RedactCprFilter) for f in handler.filters):
            handler.addFilter(RedactCprFilter())
