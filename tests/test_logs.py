"""No CPR number reaches a log line, whichever logger or handler writes it."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from app import create_app
from app.config import ConfigError
from app.data.db import dispose
from app.logs import configure
from ivr.simulator import ScriptedPhone, play_call
from tests.support import Clock, app_settings

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


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """A handler on the root logger, as a log collector's agent would read standard error."""
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root.addHandler(handler)
    # `linje72 call` quietens the app's loggers for the terminal; a test before may have run it.
    app_logger = logging.getLogger("linje72")
    level = app_logger.level
    app_logger.setLevel(logging.INFO)
    yield stream
    app_logger.setLevel(level)
    root.removeHandler(handler)
    configure("INFO", "text")


def parsed(stream: io.StringIO) -> list[dict[str, str]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_are_objects_with_cpr_numbers_blanked_in_message_and_traceback(
    json_lines: io.StringIO, server_logger: tuple[logging.Logger, io.StringIO]
) -> None:
    configure("INFO", "json")
    logger = logging.getLogger("linje72.test")
    logger.warning("patient %s not found", "0101401234")
    try:
        raise ValueError("bad patient 010140-1234")
    except ValueError:
        logger.exception("lookup failed")
    server, server_stream = server_logger
    server.error("GET /patients?cpr=%s 500", "0101401234")
    lines = parsed(json_lines)
    assert [(line["level"], line["logger"], line["message"]) for line in lines] == [
        ("WARNING", "linje72.test", "patient [redacted] not found"),
        ("ERROR", "linje72.test", "lookup failed"),
    ]
    assert "bad patient [redacted]" in lines[1]["exception"] and "Traceback" in lines[1]["exception"]
    assert all(line["time"].endswith("+00:00") for line in lines)
    assert json.loads(server_stream.getvalue())["message"] == "GET /patients?cpr=[redacted] 500"
    assert "0101401234" not in json_lines.getvalue() + server_stream.getvalue()
    assert "1234" not in json_lines.getvalue()


def test_a_bad_log_format_stops_the_start_with_its_name(database_url: str, instance_path: str) -> None:
    with pytest.raises(ConfigError, match="LINJE72_LOG_FORMAT"):
        create_app(app_settings(database_url, Clock(), instance_path, LINJE72_LOG_FORMAT="xml"))


def test_every_line_logged_during_a_calls_webhooks_names_the_call_and_the_request(
    json_lines: io.StringIO, database_url: str, migrated: object, instance_path: str
) -> None:
    app = create_app(app_settings(database_url, Clock(), instance_path, LINJE72_LOG_FORMAT="json"))
    try:
        trace = play_call(app, "+4599887766", ScriptedPhone(["1111", "0101401234"]))
        logging.getLogger("linje72.test").info("after the call")
    finally:
        dispose(app)
    lines = parsed(json_lines)
    during = [line for line in lines if line["logger"].startswith("linje72.ivr")]
    assert len(during) >= 3  # every step logs a line, some from the threads that run the steps
    assert all(line["call_sid"] == trace.call_sid for line in during)
    assert all(line.get("request_id") for line in during)
    assert len({line["request_id"] for line in during}) > 1  # one id per webhook request
    assert "call_sid" not in lines[-1] and "request_id" not in lines[-1]
    assert "0101401234" not in json_lines.getvalue()
