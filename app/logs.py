"""Logging that cannot leak a CPR number or a calendar feed's secret address.

Lines are text for a terminal or, with LINJE72_LOG_FORMAT=json, one JSON object each for a log
collector; either way every line written while a call's webhook is handled carries its CallSid,
and every line of a request its request id.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime

from app.values.cpr import redact
from app.values.secrets import redact_secrets

# Servers that log through loggers of their own, which do not reach the root's handlers.
SERVER_LOGGERS = ("gunicorn.error", "gunicorn.access", "werkzeug")
# Loggers that write a request's path ("Exception on /calendar/… [GET]", access lines): filtered
# where the record is made, so that every handler it reaches (one added later too) gets it blanked.
PATH_LOGGERS = ("app", *SERVER_LOGGERS)
FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Set while a request (and a call's webhook) is handled; copied into the threads that run its steps.
call_sid: ContextVar[str | None] = ContextVar("linje72_call_sid", default=None)
request_id: ContextVar[str | None] = ContextVar("linje72_request_id", default=None)


def blank(text: str) -> str:
    """Return `text` with CPR numbers and feed tokens blanked out."""
    return redact_secrets(redact(text))


class RedactCprFilter(logging.Filter):
    """Blank out anything shaped like a CPR number in a record and its traceback, and feed tokens.

    An access log (gunicorn's, werkzeug's) writes each request's path, and a calendar feed's
    path is its credential: it is blanked here like a CPR number."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        record.msg = blank(message)
        record.args = None
        if record.exc_text:
            record.exc_text = blank(record.exc_text)
        return True


class ContextFilter(logging.Filter):
    """Give the record the CallSid and request id of what is being handled, where there is one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "call_sid", None) is None:
            record.call_sid = call_sid.get()
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, call_sid, request_id, exception.

    Blanks CPR numbers itself too, so that a handler added without the filter cannot leak one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": blank(record.getMessage()),
        }
        for name in ("call_sid", "request_id"):
            value = getattr(record, name, None)
            if value:
                entry[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = blank(record.exc_text)
        return json.dumps(entry, ensure_ascii=False)


def _formatter(log_format: str, server: bool) -> logging.Formatter | None:
    if log_format == "json":
        return JsonFormatter()
    # Text: our own handler gets the terminal's format; a server's handler keeps its own.
    return None if server else logging.Formatter(TEXT_FORMAT)


def configure(level: str, log_format: str = "text") -> None:
    """Send every log record through the redacting filter, whoever logs it, in the format asked.

    The filter sits on every handler of the root logger and of the servers' own loggers
    (gunicorn's error and access logs, werkzeug's), which do not propagate to the root, and
    on the loggers that write request paths themselves (Flask's, the servers').
    """
    if log_format not in FORMATS:
        raise ValueError(f"the log format is one of {', '.join(FORMATS)}, not {log_format!r}")
    root = logging.getLogger()
    if not any(isinstance(f, RedactCprFilter) for h in root.handlers for f in h.filters):
        stream = logging.StreamHandler()
        stream.linje72 = True  # type: ignore[attr-defined]
        root.addHandler(stream)
    root.setLevel(level)
    handlers = [(handler, False) for handler in root.handlers]
    for name in SERVER_LOGGERS:
        handlers += [(handler, True) for handler in logging.getLogger(name).handlers]
    for handler, server in handlers:
        if not any(isinstance(f, RedactCprFilter) for f in handler.filters):
            handler.addFilter(RedactCprFilter())
        if not any(isinstance(f, ContextFilter) for f in handler.filters):
            handler.addFilter(ContextFilter())
        formatter = _formatter(log_format, server)
        if formatter is not None and (server or getattr(handler, "linje72", False) or log_format == "json"):
            handler.setFormatter(formatter)
        elif isinstance(handler.formatter, JsonFormatter):
            handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    for name in PATH_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactCprFilter) for f in logger.filters):
            logger.addFilter(RedactCprFilter())
