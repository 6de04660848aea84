"""Phone numbers: anything of the right length is accepted as E.164; an unlisted range is a warning."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.data.models import Caller, Shift
from app.values.phones import PhoneError, check, normalise_caller_id
from ivr.simulator import ScriptedPhone, play_call
from tests import factories as f

# Not in libphonenumber's list of allocated Danish ranges (yet), but a real length.
UNLISTED = "+4531000101"


@pytest.mark.parametrize(
    ("text", "number", "warned"),
    (
        ("+45 31 00 01 01", UNLISTED, True),
        ("31 00 01 01", UNLISTED, True),
        ("+45 31 10 20 09", "+4531102009", False),
        ("0045 32 50 10 10", "+4532501010", False),
        ("1813", "1813", False),
        ("+46 70 123 45 67", "+46701234567", False),
    ),
)
def test_a_number_of_the_right_length_is_accepted_and_an_unlisted_range_only_warned(
    text: str, number: str, warned: bool
) -> None:
    phone = check(text)
    assert phone.number == number
    assert (phone.warning is not None) == warned
    if warned:
        assert number in (phone.warning or "") and "range" in (phone.warning or "")


@pytest.mark.parametrize(
    ("text", "why"), (("12", "wrong length"), ("+45 1234", "wrong length"), ("", "no phone"))
)
def test_a_number_that_cannot_be_dialled_is_refused(text: str, why: str) -> None:
    with pytest.raises(PhoneError, match=why):
        check(text)


def test_a_caller_id_in_an_unlisted_range_is_a_number_and_a_short_number_is_not() -> None:
    assert normalise_caller_id("+45 31 00 01 01") == UNLISTED
    assert normalise_caller_id("1813") is None
    assert normalise_caller_id("anonymous") is None


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_rota_with_a_new_number_is_published_once_its_warning_is_acknowledged(
    runner: FlaskCliRunner, session: Session, tmp_path: Path
) -> None:
    f.department(session)
    session.commit()
    path = write(
        tmp_path,
        "rota.csv",
        "department,role,start,end,name,phone\n"
        "RH-KARD,oncall,2026-11-23 15:00,2026-11-24 08:00,Bo Jensen,+45 31 00 01 01\n",
    )
    warning = (
        f"{path}:2: phone: warning: {UNLISTED} is in a range the numbering plan does not list yet; "
        "check it is right"
    )
    refused = runner.invoke(args=["import", "rota", str(path)])
    assert refused.exit_code == 1 and warning in refused.stderr.splitlines()
    assert session.scalars(select(Shift.phone)).all() == []
    result = runner.invoke(args=["import", "rota", str(path), "--yes"])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [warning]
    session.rollback()  # see what the command committed
    assert session.scalars(select(Shift.phone)).all() == [UNLISTED]


def test_a_registered_caller_with_a_new_number_is_recognised_by_caller_id(
    app: Flask, runner: FlaskCliRunner, session: Session, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "callers.csv",
        "phone,organisation,kind,code,language\n+45 31 00 01 01,Hjemmeplejen Nord,home_nursing,,da\n",
    )
    assert runner.invoke(args=["import", "callers", str(path)]).exit_code == 0
    assert session.scalars(select(Caller.phone)).all() == [UNLISTED]

    trace = play_call(app, "+4531000101", ScriptedPhone(["hangup"]))
    assert trace.said[0] == "Velkommen til 72-timers-linjen, Hjemmeplejen Nord."
    assert "enhedskode" not in trace.text
