"""The rota service: checks, preview, publish as versions, restore, overrides; rules hold on every path."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.data.models import RotaVersion, Shift, ShiftError
from app.intake.rota import ShiftRecord
from app.services.directory import department_chain_at, who_answers
from app.services.overrides import OverrideRefused, OverrideRequest, add_override, end_override
from app.services.rota import (
    Author,
    RotaRefused,
    publish_draft,
    publish_rota,
    restore_version,
    review_draft,
    review_rota,
    upload_rota,
)
from app.values.times import local_minute, parse_time
from routing import LONGEST_SHIFT, Role
from tests import factories as f
from tests.support import Clock

START = parse_time("2026-11-23 15:00")
BO, CECILIE, DORTE = "+4540101002", "+4540101003", "+4540101004"
PLANNER = Author("planner@rh.dk", "web")


def record(
    hours: float,
    department: str = "RH-KARD",
    phone: str = BO,
    name: str = "Bo",
    at: datetime = START,
    row: int = 2,
) -> ShiftRecord:
    return ShiftRecord(department, Role.ONCALL, at, at + timedelta(hours=hours), phone, name, row)


def night(day: int, phone: str = BO, name: str = "Bo", department: str = "BFH-GER") -> ShiftRecord:
    """The on-call night from 15:00 on 2026-11-`day` to 08:00 the next morning."""
    start = parse_time(f"2026-11-{day:02d} 15:00")
    return ShiftRecord(
        department, Role.ONCALL, start, parse_time(f"2026-11-{day + 1:02d} 08:00"), phone, name, day
    )


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Shift)) or 0


@pytest.fixture
def region(app: Flask, session: Session, clock: Clock) -> None:
    """RH-KARD (with an on-call phone) and BFH-GER (without one: its nights need a doctor)."""
    clock.set("2026-11-23 09:00")
    f.department(session)
    f.department(session, "BFH-GER", name="Geriatri", hospital="Bispebjerg", oncall_phone=None)
    session.commit()


def publish(app: Flask, session: Session, records: list[ShiftRecord], **options: object) -> RotaVersion:
    version = publish_rota(
        session,
        app.config["POLICY"],
        records,
        app.config["CLOCK"](),
        PLANNER,
        file_name="rota.csv",
        **options,
    )
    session.commit()
    return version


@pytest.mark.parametrize(
    ("records", "message"),
    (
        ([record(24 * 7 + 1)], "rota.csv:2: end: a shift may last at most 7 days"),
        ([record(-1)], "rota.csv:2: end: must be after start"),
        (
            [record(8), record(8, "NO-SUCH", CECILIE, row=3)],
            "rota.csv:3: department: no department with code 'NO-SUCH' (import departments first)",
        ),
        (
            [record(17), record(4, at=START + timedelta(hours=2), row=3)],
            "rota.csv:3: phone: the same person is already on the rota at that time "
            "(Bo, 2026-11-23 15:00 to 2026-11-24 08:00, row 2)",
        ),
    ),
)
@pytest.mark.usefixtures("region")
def test_a_rota_with_errors_is_not_published_and_nothing_changes(
    app: Flask, session: Session, records: list[ShiftRecord], message: str
) -> None:
    publish(app, session, [night(23)])
    with pytest.raises(RotaRefused) as refused:
        publish(app, session, records, acknowledged=True)
    session.rollback()
    assert refused.value.review is not None and message in refused.value.review.errors
    assert count(session) == 1 and session.scalar(select(func.count()).select_from(RotaVersion)) == 1


def test_a_shift_longer_than_the_limit_cannot_be_stored_by_any_path(session: Session) -> None:
    dept = f.department(session)
    session.add(
        Shift(
            department=dept,
            role="oncall",
            start_at=START,
            end_at=START + LONGEST_SHIFT + timedelta(minutes=1),
            phone=BO,
        )
    )
    with pytest.raises(ShiftError, match="at most 7 days"):
        session.flush()
    session.rollback()


@pytest.mark.usefixtures("region")
def test_gaps_and_warnings_must_be_acknowledged_before_publishing(app: Flask, session: Session) -> None:
    records = [night(23), night(25)]  # the night of the 24th has nobody
    review = review_rota(session, app.config["POLICY"], records, app.config["CLOCK"]())
    assert [(g.department, local_minute(g.start), local_minute(g.end)) for g in review.gaps] == [
        ("BFH-GER", "2026-11-24 15:00", "2026-11-25 08:00")
    ]
    with pytest.raises(RotaRefused, match="1 gap"):
        publish(app, session, records)
    session.rollback()
    assert count(session) == 0
    publish(app, session, records, acknowledged=True)
    assert count(session) == 2


@pytest.mark.usefixtures("region")
def test_a_planner_may_publish_only_the_departments_given(app: Flask, session: Session) -> None:
    with pytest.raises(RotaRefused) as refused:
        publish(app, session, [night(23), record(17, phone=CECILIE)], acknowledged=True, allowed={"BFH-GER"})
    session.rollback()
    assert refused.value.review is not None
    assert refused.value.review.errors == ["rota.csv:2: department: you may not edit the rota of RH-KARD"]


@pytest.mark.usefixtures("region")
def test_each_publish_is_a_version_and_an_earlier_one_is_restored_in_one_step(
    app: Flask, session: Session, clock: Clock
) -> None:
    first = publish(app, session, [night(23), night(24, CECILIE, "Cecilie"), night(25)], file_hash="a" * 64)
    assert (first.shifts, first.added, first.removed, first.changed, first.actor) == (
        3,
        3,
        0,
        0,
        "planner@rh.dk",
    )
    clock.set("2026-11-23 10:00")
    second = publish(app, session, [night(23), night(24, DORTE, "Dorte"), night(25)])
    assert (second.added, second.removed, second.changed) == (0, 0, 1)
    chain = department_chain_at(session, app.config["POLICY"], "BFH-GER", parse_time("2026-11-24 22:00"))
    assert chain is not None and chain.targets[0].name == "Dorte"

    restored = restore_version(session, app.config["POLICY"], first.id, clock(), PLANNER)
    session.commit()
    assert (restored.restored_from_id, restored.changed, restored.file_hash) == (first.id, 1, "a" * 64)
    chain = department_chain_at(session, app.config["POLICY"], "BFH-GER", parse_time("2026-11-24 22:00"))
    assert chain is not None and chain.targets[0].name == "Cecilie"
    assert count(session) == 3


@pytest.mark.usefixtures("region")
def test_publishing_is_atomic_for_a_call_reading_the_rota_meanwhile(app: Flask, session: Session) -> None:
    publish(app, session, [night(23)])
    publish_rota(session, app.config["POLICY"], [night(23, DORTE, "Dorte")], app.config["CLOCK"](), PLANNER)
    other: Session = app.extensions["linje72.sessions"]()
    try:
        during = department_chain_at(other, app.config["POLICY"], "BFH-GER", parse_time("2026-11-23 22:00"))
        other.rollback()
        session.commit()
        after = department_chain_at(other, app.config["POLICY"], "BFH-GER", parse_time("2026-11-23 22:00"))
    finally:
        other.close()
    assert during is not None and after is not None
    assert (during.targets[0].name, after.targets[0].name) == ("Bo", "Dorte")


def cover(**values: object) -> OverrideRequest:
    fields: dict[str, object] = {
        "department": "BFH-GER",
        "start": parse_time("2026-11-23 18:00"),
        "end": parse_time("2026-11-24 08:00"),
        "name": "Dorte Berg",
        "phone": "40 10 10 04",
        "replaces_phone": BO,
    }
    fields.update(values)
    return OverrideRequest(**fields)  # type: ignore[arg-type]


@pytest.mark.usefixtures("region")
def test_an_override_changes_who_is_rung_and_survives_the_next_upload(app: Flask, session: Session) -> None:
    policy, at = app.config["POLICY"], parse_time("2026-11-23 22:00")
    publish(app, session, [night(23), night(24)])
    add_override(session, cover(reason="Bo is ill"), app.config["CLOCK"](), actor="planner@rh.dk")
    session.commit()
    chain = department_chain_at(session, policy, "BFH-GER", at)
    assert chain is not None and [(t.name, t.number) for t in chain.targets][:1] == [("Dorte Berg", DORTE)]
    assert BO not in [t.number for t in chain.targets]
    before = department_chain_at(session, policy, "BFH-GER", parse_time("2026-11-23 16:00"))
    assert before is not None and before.targets[0].name == "Bo"  # before the override starts

    publish(app, session, [night(23), night(24), night(25)], acknowledged=True)  # the rota again
    chain = department_chain_at(session, policy, "BFH-GER", at)
    assert chain is not None and chain.targets[0].name == "Dorte Berg"
    # "Who answers now" (the console's front page and the API) shows what a call would ring.
    [now_row] = who_answers(session, policy, at, ["BFH-GER"])
    assert [t.name for t in now_row.decision.targets][:1] == ["Dorte Berg"]


@pytest.mark.usefixtures("region")
def test_an_override_that_replaces_nobody_closes_a_gap_and_a_withdrawn_one_reopens_it(
    app: Flask, session: Session
) -> None:
    policy, now = app.config["POLICY"], app.config["CLOCK"]()
    publish(app, session, [night(23)])
    review = review_rota(session, policy, [night(23), night(25)], now)
    assert len(review.gaps) == 1
    override = add_override(
        session,
        cover(
            replaces_phone=None,
            role="oncall",
            start=parse_time("2026-11-24 15:00"),
            end=parse_time("2026-11-25 08:00"),
        ),
        now,
        actor="planner@rh.dk",
    )
    assert review_rota(session, policy, [night(23), night(25)], now).gaps == []
    end_override(session, override, now, actor="planner@rh.dk")
    assert len(review_rota(session, policy, [night(23), night(25)], now).gaps) == 1


@pytest.mark.parametrize(
    ("values", "message"),
    (
        ({"replaces_phone": CECILIE}, "replaces: nobody with +4540101003 is on the rota of BFH-GER"),
        ({"phone": "12"}, "phone: "),
        ({"end": parse_time("2026-11-23 17:00")}, "end: must be after the start"),
        ({"end": parse_time("2026-12-23 17:00")}, "end: an override may last at most 14 days"),
        ({"name": "Dorte\x0bBerg"}, "name: give the name"),
        ({"replaces_phone": None, "role": ""}, "role: choose day, oncall, backup or nurse"),
        ({"department": "RH-KARD"}, "department: no department 'RH-KARD' you may edit"),
        (
            {"start": parse_time("2026-11-22 18:00"), "end": parse_time("2026-11-23 08:00")},
            "end: is already past",
        ),
    ),
)
@pytest.mark.usefixtures("region")
def test_a_bad_override_is_refused_naming_what_is_wrong(
    app: Flask, session: Session, values: dict[str, object], message: str
) -> None:
    publish(app, session, [night(23)])
    with pytest.raises(OverrideRefused) as refused:
        add_override(session, cover(**values), app.config["CLOCK"](), actor="p", allowed={"BFH-GER"})
    assert str(refused.value).startswith(message)


CSV = "department,role,start,end,name,phone\n"


@pytest.mark.usefixtures("region")
def test_an_upload_is_a_draft_until_published_and_its_gaps_are_acknowledged(
    app: Flask, session: Session
) -> None:
    policy, now = app.config["POLICY"], app.config["CLOCK"]()
    data = (
        CSV
        + "BFH-GER,oncall,2026-11-23 15:00,2026-11-24 08:00,Bo Jensen,40101002\n"
        + "BFH-GER,oncall,2026-11-25 15:00,2026-11-26 08:00,Bo Jensen,40101002\n"
    ).encode()
    upload = upload_rota(session, policy, data, "nov.csv", now, PLANNER, allowed={"BFH-GER"})
    session.commit()
    assert upload.errors == [] and upload.draft is not None and count(session) == 0
    draft, review = review_draft(session, policy, upload.draft.id, now, PLANNER, allowed={"BFH-GER"})
    assert [local_minute(g.start) for g in review.gaps] == ["2026-11-24 15:00"]
    assert len(review.departments[0].diff.added) == 2
    with pytest.raises(RotaRefused, match="acknowledged"):
        publish_draft(session, policy, draft.id, now, PLANNER, acknowledged=False)
    with pytest.raises(RotaRefused, match="no draft"):
        publish_draft(session, policy, draft.id, now, Author("someone@else.dk", "web"), acknowledged=True)
    version = publish_draft(session, policy, draft.id, now, PLANNER, acknowledged=True, allowed={"BFH-GER"})
    session.commit()
    assert (version.file_name, version.source, version.added, count(session)) == ("nov.csv", "web", 2, 2)
    assert version.file_hash == hashlib.sha256(data).hexdigest()


@pytest.mark.usefixtures("region")
def test_an_upload_with_errors_keeps_no_draft_and_names_each_row(app: Flask, session: Session) -> None:
    data = (CSV + "BFH-GER,oncall,2026-11-23 15:00,2026-11-23 08:00,Bo Jensen,40101002\n").encode()
    upload = upload_rota(session, app.config["POLICY"], data, "bad.csv", app.config["CLOCK"](), PLANNER)
    assert upload.draft is None and upload.errors == ["bad.csv:2: end: must be after start"]
    data = (CSV + "RH-KARD,oncall,2026-11-23 15:00,2026-11-24 08:00,Bo Jensen,40101002\n").encode()
    upload = upload_rota(
        session, app.config["POLICY"], data, "other.csv", app.config["CLOCK"](), PLANNER, allowed={"BFH-GER"}
    )
    assert upload.draft is None
    assert upload.errors == ["other.csv:2: department: you may not edit the rota of RH-KARD"]
