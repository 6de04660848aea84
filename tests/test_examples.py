"""The example files in docs/examples, imported with the real commands, then called about."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner

from ivr.simulator import ScriptedPhone, play_call
from tests.support import AFTER_HOURS, EXAMPLES, FALLBACK, Clock


@pytest.fixture
def imported(runner: FlaskCliRunner) -> None:
    for kind, name in (
        ("departments", "departments.csv"),
        ("callers", "callers.csv"),
        ("rota", "rota.csv"),
        ("discharges", "discharges.json"),
    ):
        result = runner.invoke(args=["import", kind, str(EXAMPLES / name)])
        assert result.exit_code == 0, result.output


def test_init_db_is_safe_to_run_again(runner: FlaskCliRunner) -> None:
    for _ in range(2):
        result = runner.invoke(args=["init-db"])
        assert result.exit_code == 0, result.output
        assert "up to date" in result.output


@pytest.mark.usefixtures("imported")
@pytest.mark.parametrize(
    ("moment", "cpr", "rung"),
    (
        # RH-KARD, Monday day time: Anna's day shift, the day phone, Cecilie's backup.
        ("2026-11-23T10:00:00+01:00", "0101401234", ["+4540101001", "+4531102001", "+4540101003"]),
        # RH-KARD, Monday evening: Bo on call, the on-call phone, Cecilie.
        ("2026-11-23T20:00:00+01:00", "0101401234", ["+4540101002", "+4531102009", "+4540101003"]),
        # BFH-GER keeps day hours to 15:30 and has no on-call phone.
        ("2026-11-23T15:15:00+01:00", "1503521236", ["+4531203001", "+4531200000", FALLBACK]),
        ("2026-11-23T15:45:00+01:00", "1503521236", ["+4540102002", "+4531200000", FALLBACK]),
        # NOH-MED's window was extended to 24 November 09:00.
        ("2026-11-23T12:00:00+01:00", "2812449871", ["+4531304001", "+4531300000", FALLBACK]),
        ("2026-11-24T09:00:00+01:00", "2812449871", [AFTER_HOURS, FALLBACK]),
        # RH-KARD's patient: 72 hours after 21 November 10:30 the GP takes over.
        ("2026-11-24T11:00:00+01:00", "0101401234", ["+4532501040", FALLBACK]),
    ),
)
def test_the_example_region_routes_as_the_policy_says(
    app: Flask, clock: Clock, moment: str, cpr: str, rung: list[str]
) -> None:
    clock.set(moment)
    trace = play_call(app, "+4532501010", ScriptedPhone([cpr, "1"]))
    assert trace.rung[: len(rung)] == rung
