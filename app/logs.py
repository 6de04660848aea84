"""Logging that cannot leak a CPR number or a calendar feed's secret address."""

from __future__ import annotations

import logging

from app.values.cpr import redact
from app.values.secrets import redact_secrets

# Servers that log through loggers of their own, which do not reach the root's handlers.
SERVER_LOGGERS = ("gunicorn.error", "gunicorn.access", "werkzeug")
# Loggers that write a request's path ("Exception on /calendar/… [GET]", access lines): filtered
# where the record is made, so that every handler it reaches (one added later too) gets it blanked.
PATH_LOGGERS = ("app", *SERVER_LOGGERS)


class RedactCprFilter(logging.Filter):
    """Blank out anything shaped like a CPR number in a record and its traceback, and feed tokens.

    An access log (gunicorn's, werkzeug's) writes each request's path, and a calendar feed's
    path is its credential: it is blanked here like a CPR number."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        record.msg = redact_secrets(redact(message))
        record.args = None
        if record.exc_text:
            record.exc_text = redact_secrets(redact(record.exc_text))
        return True


def configure(level: str) -> None:
    """Send every log record through the redacting filter, whoever logs it.

    The filter sits on every handler of the root logger and of the servers' own loggers
    (gunicorn's error and access logs, werkzeug's), which do not propagate to the root, and
    on the loggers that write request paths themselves (Flask's, the servers').
    """
    root = logging.getLogger()
    if not any(isinstance(f, RedactCprFilter) for h in root.handlers for f in h.filters):
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(stream)
    root.setLevel(level)
    handlers = list(root.handlers)
    for name in SERVER_LOGGERS:
        handlers += logging.getLogger(name).handlers
    for handler in handlers:
        if not any(isinstance(f, RedactCprFilter) for f in handler.filters):
            handler.addFilter(RedactCprFilter())
    for name in PATH_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactCprFilter) for f in logger.filters):
            logger.addFilter(RedactCprFilter())
