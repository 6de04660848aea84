"""No CPR number reaches a log line, whichever logger or handler writes it."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from app.logs import configure

FORMS = ("0101401234", "010140-1234", "010140 1234")


@pytest.fixture
def server_logger() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """gunicorn's error log as gunicorn sets it up: its own handler, not propagating to the root."""
    logger = logging.getLogger("gunicorn.error")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)
    logger.propagate = True


@pytest.mark.parametrize("cpr", FORMS, ids=["plain", "dash", "space"])
def test_a_server_loggers_own_handler_is_redacted_too(
    server_logger: tuple[logging.Logger, io.StringIO], cpr: str
) -> None:
    logger, stream = server_logger
    configure("INFO")
    logger.error("request for %s failed", cpr)
    try:
        raise ValueError(f"bad patient {cpr}")
    except ValueError:
        logger.exception("with a traceback")
    text = stream.getvalue()
    assert "request for [redacted] failed" in text
    assert "bad patient [redacted]" in text
    assert cpr not in text


@pytest.mark.parametrize(
    ("line", "kept"),
    (
        ("call from +4532501010 at 2026-11-23 10:00:00", True),
        ("attempt 1234567890123 done", True),
        ("CA0101401234abcdef", False),
        ("call CA5f0101401234abcdef0123456789abcd step patient", True),
    ),
    ids=["phone-and-time", "long-number", "digits-in-a-word", "call-id"],
)
def test_phone_numbers_and_long_numbers_are_left_alone(
    server_logger: tuple[logging.Logger, io.StringIO], line: str, kept: bool
) -> None:
    logger, stream = server_logger
    configure("INFO")
    logger.warning(line)
    assert (line in stream.getvalue()) is kept


def test_a_cpr_number_beside_a_call_id_is_still_blanked(
    server_logger: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = server_logger
    configure("INFO")
    logger.warning("call CA5f0101401234abcdef0123456789abcd keyed 0101401234")
    assert stream.getvalue().strip() == "call CA5f0101401234abcdef0123456789abcd keyed [redacted]"
