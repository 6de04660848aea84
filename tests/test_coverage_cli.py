"""`linje72 coverage` and `linje72 planner-phone`: the lines an operator reads and the exit codes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.cli.alerts import duration
from app.data.models import AuditEvent, PlannerPhone
from app.services.overrides import OverrideRequest, add_override
from app.values.times import parse_time
from tests import factories as f


@pytest.fixture
def region(app: Flask, session: Session) -> None:
    """RH-KARD covered every night by its on-call phone; BFH-GER without one, its Monday night on the rota."""
    f.department(session)
    geriatrics = f.department(session, "BFH-GER", name="Geriatrisk Afdeling", oncall_phone=None)
    f.shift(session, geriatrics, "oncall", "2026-11-23 15:00", "2026-11-24 08:00", "+4540101002", "Bo Jensen")
    session.commit()


@pytest.mark.usefixtures("region")
@pytest.mark.parametrize(
    ("args", "status", "lines"),
    (
        # Monday 10:00: Monday night is covered, Tuesday night is not.
        (
            ["--days", "2"],
            1,
            [
                "BFH-GER  oncall  2026-11-24 15:00 to 2026-11-25 08:00  17 h",
                "1 gap in the next 2 days, 17 h in all, in 1 department",
            ],
        ),
        (["--days", "1"], 0, ["no gaps in the next 1 day"]),
        (["--department", "RH-KARD"], 0, ["no gaps in the next 7 days"]),
        # From Friday noon: the weekend is on-call time from Friday 15:00 to Monday 08:00.
        (
            ["--department", "BFH-GER", "--days", "3", "--at", "2026-11-27 12:00"],
            1,
            [
                "BFH-GER  oncall  2026-11-27 15:00 to 2026-11-30 08:00  2 d 17 h",
                "1 gap in the next 3 days, 2 d 17 h in all, in 1 department",
            ],
        ),
        (
            ["--days", "3", "--at", "2026-11-23 12:00"],
            1,
            [
                "BFH-GER  oncall  2026-11-24 15:00 to 2026-11-25 08:00  17 h",
                "BFH-GER  oncall  2026-11-25 15:00 to 2026-11-26 08:00  17 h",
                "2 gaps in the next 3 days, 1 d 10 h in all, in 1 department",
            ],
        ),
    ),
)
def test_coverage_lists_each_gap_in_local_time_and_exits_1_when_there_is_one(
    runner: FlaskCliRunner, args: list[str], status: int, lines: list[str]
) -> None:
    result = runner.invoke(args=["coverage", *args])
    assert result.exit_code == status, result.output
    assert result.output.splitlines() == lines


@pytest.mark.usefixtures("region")
def test_coverage_counts_an_override_as_cover(app: Flask, session: Session, runner: FlaskCliRunner) -> None:
    request = OverrideRequest(
        "BFH-GER",
        parse_time("2026-11-24 15:00"),
        parse_time("2026-11-25 08:00"),
        "Dorte Berg",
        "+4540101004",
        role="oncall",
    )
    add_override(session, request, parse_time("2026-11-23 10:00"), actor="planner@x.dk")
    session.commit()
    result = runner.invoke(args=["coverage", "--days", "2"])
    assert (result.exit_code, result.output) == (0, "no gaps in the next 2 days\n")


@pytest.mark.usefixtures("region")
@pytest.mark.parametrize(
    ("args", "message"),
    (
        (["--department", "XX-NONE"], "linje72: no department with code 'XX-NONE'"),
        (["--days", "0"], "Invalid value for '--days'"),
        (["--at", "2026-03-29 02:30"], "does not exist in Copenhagen"),
    ),
)
def test_coverage_refuses_what_it_cannot_answer_with_exit_2(
    runner: FlaskCliRunner, args: list[str], message: str
) -> None:
    result = runner.invoke(args=["coverage", *args])
    assert result.exit_code == 2
    assert message in result.output


@pytest.mark.parametrize(
    ("minutes", "text"),
    ((45, "45 min"), (60, "1 h"), (90, "1 h 30 min"), (17 * 60, "17 h"), (65 * 60, "2 d 17 h"), (0, "0 min")),
)
def test_a_duration_reads_in_days_hours_and_minutes(minutes: int, text: str) -> None:
    assert duration(timedelta(minutes=minutes)) == text


@pytest.mark.usefixtures("region")
def test_planner_phones_are_added_listed_and_removed_and_each_change_is_audited(
    runner: FlaskCliRunner, session: Session
) -> None:
    result = runner.invoke(args=["planner-phone", "add", "BFH-GER", "20 12 34 56", "--name", "Pia"])
    assert (result.exit_code, result.output) == (0, "+4520123456 now hears of the gaps of BFH-GER by SMS\n")
    result = runner.invoke(args=["planner-phone", "add", "BFH-GER", "+45 33 00 00 02", "--landline"])
    assert result.output.splitlines() == [
        "warning: +4533000002 is in a range the numbering plan does not list yet; check it is right",
        "+4533000002 now hears of the gaps of BFH-GER by call",
    ]
    result = runner.invoke(args=["planner-phone", "list"])
    assert result.output.splitlines() == ["BFH-GER  +4520123456  sms   Pia", "BFH-GER  +4533000002  call"]
    assert runner.invoke(args=["planner-phone", "list", "RH-KARD"]).output.startswith("no alert numbers")
    result = runner.invoke(args=["planner-phone", "remove", "BFH-GER", "2012 3456"])
    assert (result.exit_code, result.output) == (0, "+4520123456 no longer hears of the gaps of BFH-GER\n")
    result = runner.invoke(args=["planner-phone", "remove", "BFH-GER", "33000002"])
    assert "warning: nobody hears of the gaps of BFH-GER now" in result.output
    session.commit()
    details = [e.detail for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert details == [
        "added +4520123456 (SMS)",
        "added +4533000002 (call)",
        "removed +4520123456",
        "removed +4533000002",
    ]


@pytest.mark.usefixtures("region")
@pytest.mark.parametrize(
    ("args", "message"),
    (
        (["add", "XX-NONE", "40000001"], "linje72: department: no department 'XX-NONE' you may change"),
        (
            ["add", "BFH-GER", "4000"],
            "linje72: number: not a phone number that can be dialled (wrong length)",
        ),
        (["add", "BFH-GER", "1813"], "linje72: number: "),
        (["add", "BFH-GER", "call me"], "linje72: number: not a phone number"),
        (["add", "BFH-GER", "40000001", "--name", "Pia\x07"], "linje72: name: at most 200 characters"),
        (["remove", "BFH-GER", "40000009"], "linje72: number: +4540000009 is not an alert number of BFH-GER"),
    ),
)
def test_a_bad_planner_phone_is_refused_with_what_is_wrong_and_nothing_is_stored(
    runner: FlaskCliRunner, session: Session, args: list[str], message: str
) -> None:
    result = runner.invoke(args=["planner-phone", *args])
    assert result.exit_code == 1
    assert message in result.output
    session.commit()
    assert session.scalars(select(PlannerPhone)).all() == []
    assert session.scalars(select(AuditEvent)).all() == []


@pytest.mark.usefixtures("region")
def test_the_same_number_twice_is_refused(runner: FlaskCliRunner) -> None:
    assert runner.invoke(args=["planner-phone", "add", "BFH-GER", "40000001"]).exit_code == 0
    result = runner.invoke(args=["planner-phone", "add", "BFH-GER", "+4540000001"])
    assert result.exit_code == 1
    assert "linje72: number: +4540000001 already hears of the gaps of BFH-GER" in result.output
