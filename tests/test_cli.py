"""The command line as an operator uses it."""

from __future__ import annotations

import csv
import io
import json
import re
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import create_app
from app.cli import cli
from app.cli.demo import ensure_demo_settings
from app.config import ConfigError
from app.data import queries
from app.data.db import session_scope
from app.data.models import Contact
from app.services.export import contact_record
from ivr.simulator import ScriptedPhone, play_call
from tests import factories as f
from tests.support import AFTER_HOURS, AUTH_TOKEN, FALLBACK, PUBLIC_URL, REQUIRED_SETTINGS, SECRET_KEY, Clock

SID_FIRST, SID_SECOND = "CA" + "a" * 32, "CA" + "b" * 32


@pytest.fixture
def region(app: Flask, session: Session) -> None:
    dept = f.department(session)
    f.department(session, "BFH-GER", name="Geriatrisk Afdeling", oncall_phone=None, day_hours="08:00-15:30")
    f.caller(session)
    f.shift(session, dept, "day", "2026-11-23 08:00", "2026-11-23 15:00", "+4540101001", "Anna Holm")
    f.shift(session, dept, "oncall", "2026-11-23 15:00", "2026-11-24 08:00", "+4540101002", "Bo Jensen")
    f.shift(session, dept, "backup", "2026-11-23 08:00", "2026-11-24 08:00", "+4540101003", "Cecilie Lund")
    f.discharge(app, session, dept, "2026-11-21T10:30:00+01:00")
    session.commit()


@pytest.mark.usefixtures("region")
@pytest.mark.parametrize(
    ("code", "at", "lines"),
    (
        (
            "RH-KARD",
            "2026-11-23 10:00",
            [
                "1. +4540101001  day (Anna Holm)",
                "2. +4531102001  department_day",
                "3. +4540101003  backup (Cecilie Lund)",
                "4. +4531100000  switchboard",
                f"5. {FALLBACK}  fallback",
            ],
        ),
        (
            "RH-KARD",
            "2026-11-23 22:00",
            [
                "1. +4540101002  oncall (Bo Jensen)",
                "2. +4531102009  department_oncall",
                "3. +4540101003  backup (Cecilie Lund)",
            ],
        ),
        ("BFH-GER", "2026-11-23 15:15", ["1. +4531102001  department_day"]),
        ("BFH-GER", "2026-11-23 15:45", ["1. +4531100000  switchboard", f"2. {FALLBACK}  fallback"]),
    ),
)
def test_oncall_lists_who_a_call_would_ring_in_order(
    runner: FlaskCliRunner, code: str, at: str, lines: list[str]
) -> None:
    result = runner.invoke(args=["oncall", code, "--at", at])
    assert result.exit_code == 0, result.output
    listed = result.output.splitlines()[1:]
    assert listed[: len(lines)] == lines


def test_oncall_names_an_unknown_department(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["oncall", "NOPE"])
    assert result.exit_code == 1
    assert "NOPE" in result.output


@pytest.mark.usefixtures("region")
def test_contacts_export_gives_one_object_per_call_oldest_first(
    app: Flask, runner: FlaskCliRunner, clock: Clock
) -> None:
    clock.set("2026-11-23T10:01:02+01:00")
    play_call(
        app, "+4532501010", ScriptedPhone(["0101401234", "1"], {"+4531102001": "1"}), call_sid=SID_FIRST
    )
    clock.set("2026-11-23T22:00:00+01:00")
    play_call(app, "+4522334455", ScriptedPhone(["1#", "2#", "3#"]), call_sid=SID_SECOND)

    exported = json.loads(runner.invoke(args=["contacts", "export"]).output)
    assert [c["call_sid"] for c in exported] == [SID_FIRST, SID_SECOND]
    first, second = exported
    assert first["started_at"] == "2026-11-23T10:01:02+01:00"
    assert (first["caller_number"], first["caller_organisation"]) == ("+4532501010", "Hjemmesygeplejen Valby")
    assert (first["department"], first["period"], first["route"]) == ("RH-KARD", "day", "responsibility")
    assert first["dialled"] == [
        {"number": "+4540101001", "status": "no-answer"},
        {"number": "+4531102001", "status": "accepted"},
    ]
    assert (first["connected_to"], first["outcome"]) == ("+4531102001", "connected")
    assert first["patient_ref"].startswith("P-")
    assert (second["department"], second["period"], second["route"]) == (
        None,
        "oncall",
        "unidentified_caller",
    )
    assert (second["dialled"], second["outcome"]) == (
        [{"number": FALLBACK, "status": "no-answer"}],
        "unanswered",
    )

    since = json.loads(runner.invoke(args=["contacts", "export", "--since", "2026-11-23T12:00"]).output)
    assert [c["call_sid"] for c in since] == [SID_SECOND]
    rows = list(
        csv.DictReader(io.StringIO(runner.invoke(args=["contacts", "export", "--format", "csv"]).output))
    )
    assert rows[0]["dialled"] == "'+4540101001:no-answer +4531102001:accepted"
    assert rows[1]["department"] == ""


def test_export_refuses_a_time_that_does_not_exist(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["contacts", "export", "--since", "2026-03-29 02:30"])
    assert result.exit_code == 2
    assert "does not exist" in result.output


VALID_SETTINGS = {
    "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
    "LINJE72_SECRET_KEY": SECRET_KEY,
    "LINJE72_PUBLIC_URL": "https://linje72.example.dk",
    "LINJE72_FALLBACK_NUMBER": FALLBACK,
    "LINJE72_AFTER_HOURS_NUMBER": AFTER_HOURS,
}


@pytest.mark.parametrize(
    ("name", "value", "message"),
    (
        ("TWILIO_AUTH_TOKEN", None, "TWILIO_AUTH_TOKEN is not set"),
        ("LINJE72_SECRET_KEY", None, "LINJE72_SECRET_KEY is not set"),
        ("LINJE72_SECRET_KEY", "short", "LINJE72_SECRET_KEY must be at least 32 characters"),
        ("LINJE72_PUBLIC_URL", None, "LINJE72_PUBLIC_URL is not set"),
        ("LINJE72_PUBLIC_URL", "linje72.example.dk", "LINJE72_PUBLIC_URL must be the base URL"),
        ("LINJE72_PUBLIC_URL", "https://linje72.example.dk/?x=1", "must not carry a query"),
        ("LINJE72_FALLBACK_NUMBER", None, "LINJE72_FALLBACK_NUMBER is not set"),
        ("LINJE72_FALLBACK_NUMBER", "12", "LINJE72_FALLBACK_NUMBER: not a phone number"),
        ("LINJE72_AFTER_HOURS_NUMBER", None, "LINJE72_AFTER_HOURS_NUMBER is not set"),
        ("LINJE72_AFTER_HOURS_NUMBER", "1813", "must be a full number for professionals, not the short"),
        ("LINJE72_RESPONSIBILITY_HOURS", "-1", "LINJE72_RESPONSIBILITY_HOURS: must be a positive"),
        ("LINJE72_WEBHOOK_DEADLINE", "30", "LINJE72_WEBHOOK_DEADLINE: must be between 1 and 5 seconds"),
    ),
)
def test_a_missing_or_bad_setting_stops_the_start_naming_it(
    instance_path: str, name: str, value: str | None, message: str
) -> None:
    settings: dict[str, object] = {**VALID_SETTINGS, name: value, "INSTANCE_PATH": instance_path}
    with pytest.raises(ConfigError, match=re.escape(message)):
        create_app({"DATABASE_URL": "sqlite://", **settings})


def test_the_valid_settings_start(instance_path: str) -> None:
    app = create_app({"DATABASE_URL": "sqlite://", **VALID_SETTINGS, "INSTANCE_PATH": instance_path})
    assert app.config["POLICY"].after_hours_number == AFTER_HOURS


def test_the_linje72_command_names_a_missing_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TWILIO_AUTH_TOKEN", "LINJE72_SECRET_KEY", "LINJE72_FALLBACK_NUMBER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    result = CliRunner().invoke(cli, ["init-db"])
    assert result.exit_code != 0
    assert "TWILIO_AUTH_TOKEN" in result.output


@pytest.mark.usefixtures("region")
def test_call_on_the_terminal_plays_the_prompts_and_shows_where_the_call_went(
    app: Flask, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    monkeypatch.setenv("LINJE72_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("LINJE72_FALLBACK_NUMBER", FALLBACK)
    monkeypatch.setenv("LINJE72_AFTER_HOURS_NUMBER", AFTER_HOURS)
    monkeypatch.setenv("LINJE72_PUBLIC_URL", PUBLIC_URL)
    keys = "\n".join(["0101401234", "1", "n", "a", "1", ""]) + "\n"
    result = CliRunner().invoke(
        cli, ["call", "--from", "+45 32 50 10 10", "--at", "2026-11-23 22:00"], input=keys
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Velkommen til 72-timers-linjen, Hjemmesygeplejen Valby." in out
    assert "RING +4540101002" in out
    assert "RING +4531102009" in out
    assert "WHISPER to +4531102009: Et opkald på 72-timers-linjen. Tryk 1" in out
    assert "WHISPER to +4531102009: Hjemmesygeplejen Valby ringer om en patient" in out
    assert "CONNECTED to +4531102009" in out
    assert '"outcome": "connected"' in out
    assert '"period": "oncall"' in out
    assert '"test_call": true' in out
    assert "0101401234" not in out.split("your keys")[-1]


@pytest.mark.usefixtures("region")
def test_a_call_from_the_terminal_is_a_test_call_never_followed_up(app: Flask, session: Session) -> None:
    # Nobody on the chain accepts: a real call would be marked for follow-up.
    trace = play_call(app, "+45 32 50 10 10", ScriptedPhone(["0101401234", "1"], {}), test_call=True)
    row = session.scalars(select(Contact).where(Contact.call_sid == trace.call_sid)).one()
    assert (row.outcome, row.test_call, row.follow_up) == ("unanswered", True, False)
    with app.app_context(), session_scope() as reading:
        record = contact_record(queries.contact_by_sid(reading, trace.call_sid))  # type: ignore[arg-type]
    assert (record["test_call"], record["follow_up"]) == (True, False)

    session.rollback()  # a fresh snapshot for the next call's record
    real = play_call(app, "+45 32 50 10 10", ScriptedPhone(["0101401234", "1"], {}))
    row = session.scalars(select(Contact).where(Contact.call_sid == real.call_sid)).one()
    assert (row.outcome, row.test_call, row.follow_up) == ("unanswered", False, True)


def test_help_lists_every_command_without_any_setting() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    for command in ("init-db", "import", "contacts", "oncall", "call", "seed-demo", "demo", "scheduler"):
        assert f"\n  {command} " in result.output


def _settings_file(path: Path, database_url: str, **more: str) -> Path:
    lines = {"DATABASE_URL": database_url, **REQUIRED_SETTINGS, **more}
    path.write_text("# a deployment's settings\n" + "".join(f"{k}={v}\n" for k, v in lines.items()))
    return path


@pytest.mark.usefixtures("region")
def test_commands_find_the_settings_kept_in_the_instance_folder(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path
) -> None:
    monkeypatch.setenv("LINJE72_INSTANCE_PATH", str(tmp_path))
    _settings_file(tmp_path / "linje72.env", database_url)
    result = CliRunner().invoke(cli, ["oncall", "RH-KARD", "--at", "2026-11-23 22:00"])
    assert result.exit_code == 0, result.output
    assert "1. +4540101002  oncall (Bo Jensen)" in result.output


@pytest.mark.usefixtures("region")
def test_a_settings_file_can_be_named_and_the_environment_overrides_it(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path
) -> None:
    path = _settings_file(tmp_path / "production.env", database_url, LINJE72_FALLBACK_NUMBER="+4511111111")
    monkeypatch.setenv("LINJE72_SETTINGS_FILE", str(path))
    monkeypatch.setenv("LINJE72_FALLBACK_NUMBER", FALLBACK)
    result = CliRunner().invoke(cli, ["oncall", "RH-KARD", "--at", "2026-11-23 22:00"])
    assert result.exit_code == 0, result.output
    assert f"{FALLBACK}  fallback" in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    (
        ("LINJE72_FALBACK_NUMBER=+4538640000\n", "unknown setting LINJE72_FALBACK_NUMBER"),
        ("LINJE72_SECRET_KEY=short\n", "LINJE72_SECRET_KEY must be at least 32 characters"),
    ),
)
def test_a_bad_settings_file_stops_the_start_naming_what_is_wrong(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str, content: str, message: str
) -> None:
    path = _settings_file(tmp_path / "linje72.env", database_url)
    path.write_text(path.read_text() + content)
    monkeypatch.setenv("LINJE72_SETTINGS_FILE", str(path))
    result = CliRunner().invoke(cli, ["init-db"])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_settings_file_that_is_not_there_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LINJE72_SETTINGS_FILE", str(tmp_path / "missing.env"))
    result = CliRunner().invoke(cli, ["init-db"])
    assert result.exit_code == 2
    assert f"LINJE72_SETTINGS_FILE names {tmp_path / 'missing.env'}, which is not a file" in result.output


def test_the_demo_keeps_its_settings_private_and_stable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = tmp_path / "instance"
    monkeypatch.setenv("LINJE72_FALLBACK_NUMBER", FALLBACK)  # given by the environment: not written
    assert ensure_demo_settings(instance) == [
        "TWILIO_AUTH_TOKEN",
        "LINJE72_SECRET_KEY",
        "LINJE72_AFTER_HOURS_NUMBER",
        "LINJE72_PUBLIC_URL",
    ]
    path = instance / "linje72.env"
    assert stat.S_IMODE(instance.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = path.read_text()
    assert ensure_demo_settings(instance) == []
    assert path.read_text() == first
    monkeypatch.delenv("LINJE72_FALLBACK_NUMBER")
    assert ensure_demo_settings(instance) == ["LINJE72_FALLBACK_NUMBER"]
    assert path.read_text().startswith(first)


def test_the_csv_export_never_hands_a_spreadsheet_a_formula(
    app: Flask, session: Session, runner: FlaskCliRunner
) -> None:
    f.department(session)
    f.caller(session, organisation="=cmd|' /C calc'!A0")
    session.commit()
    play_call(app, "+45 32 50 10 10", ScriptedPhone(["0101401234", "1"], {}))
    result = runner.invoke(args=["contacts", "export", "--format", "csv"])
    assert result.exit_code == 0, result.output
    row = next(csv.DictReader(io.StringIO(result.stdout)))
    assert row["caller_organisation"] == "'=cmd|' /C calc'!A0"
    assert row["caller_number"] == "+4532501010"  # a phone number is not a formula
    assert row["dialled"].startswith("'+4570131813:no-answer")  # '+…:…' could start a formula
