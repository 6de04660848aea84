"""The rota's rules hold wherever shifts are written: the file import, the service, the model."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.data.models import Shift, ShiftError
from app.intake.rota import ShiftRecord
from app.services.rota import replace_rota
from app.values.times import parse_time
from routing import LONGEST_SHIFT, Role
from tests import factories as f

START = parse_time("2026-11-20 15:00")


def record(hours: float, department: str = "RH-KARD") -> ShiftRecord:
    return ShiftRecord(department, Role.ONCALL, START, START + timedelta(hours=hours), "+4540101002", "Bo")


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Shift)) or 0


@pytest.mark.parametrize(
    ("records", "message"),
    (
        ([record(24 * 7 + 1)], "a shift may last at most 7 days"),
        ([record(-1)], "must be after start"),
        ([record(8), record(8, "NO-SUCH")], "no department with code 'NO-SUCH'"),
    ),
)
def test_the_rota_service_refuses_a_shift_that_breaks_the_rules_and_writes_nothing(
    app: Flask, session: Session, records: list[ShiftRecord], message: str
) -> None:
    f.department(session)
    f.shift(
        session, f.department(session, "BFH-GER"), "oncall", "2026-11-20 15:00", "2026-11-21 08:00", "+4540"
    )
    session.commit()
    with pytest.raises(ValueError, match=message):
        replace_rota(session, records)
    session.rollback()
    assert count(session) == 1


def test_a_shift_longer_than_the_limit_cannot_be_stored_by_any_path(session: Session) -> None:
    dept = f.department(session)
    session.add(
        Shift(
            department=dept,
            role="oncall",
            start_at=START,
            end_at=START + LONGEST_SHIFT + timedelta(minutes=1),
            phone="+4540101002",
        )
    )
    with pytest.raises(ShiftError, match="at most 7 days"):
        session.flush()
    session.rollback()
    shift = f.shift(
        session, f.department(session), "oncall", "2026-11-20 15:00", "2026-11-21 08:00", "+4540101002"
    )
    shift.end_at = shift.start_at + timedelta(days=8)
    with pytest.raises(ShiftError):
        session.flush()


def test_a_week_long_shift_is_allowed(session: Session) -> None:
    dept = f.department(session)
    change = replace_rota(session, [record(24 * 7)])
    assert (change.added, change.removed, change.departments) == (1, 0, 1)
    assert session.scalars(select(Shift.department_id)).all() == [dept.id]
