"""The one model of the stay: every kind of event, in the hospitals' order, and where a call goes."""

from __future__ import annotations

from datetime import datetime

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.data.models import Discharge, Patient
from app.intake.stays import EventKind, Source, StayEvent
from app.services.patients import decide_for_patient
from app.services.stays import StayRefused, apply_events
from app.values.times import parse_time
from tests import factories as f
from tests.support import Clock

CPR, OTHER = f.CPR_ACTIVE, f.CPR_OTHER
K = EventKind


def event(kind: EventKind, at: str, stay: str = "V1", **values: object) -> StayEvent:
    fields: dict[str, object] = {"source": Source.HL7, "cpr": CPR, "stay_id": stay, "at": parse_time(at)}
    fields.update(values)
    return StayEvent(kind, **fields)  # type: ignore[arg-type]


ADMIT = event(K.ADMIT, "2026-11-15 08:10", department="RH-KARD")
DISCHARGE = event(
    K.DISCHARGE, "2026-11-21 10:30", destination="nursing_home", discharged_at=parse_time("2026-11-21 10:30")
)
NOTIFIED = event(K.DISCHARGE, "2026-11-21 10:30", source=Source.FHIR, department="RH-KARD")


@pytest.fixture
def region(app: Flask, session: Session, clock: Clock) -> None:
    clock.set("2026-11-22 12:00")  # Sunday noon: on-call time
    f.department(session)
    f.department(session, "BFH-GER", name="Geriatri", hospital="Bispebjerg")
    session.commit()


def where(
    app: Flask, session: Session, cpr: str = CPR, at: str = "2026-11-22 12:00"
) -> tuple[str, str | None]:
    found = decide_for_patient(
        session, app.config["POLICY"], app.extensions["linje72.vault"], cpr, parse_time(at)
    )
    return found.decision.route.value, found.decision.department_code


def apply(app: Flask, session: Session, *events: StayEvent, now: datetime | None = None):  # type: ignore[no-untyped-def]
    result = apply_events(session, app.extensions["linje72.vault"], events, now or app.config["CLOCK"]())
    session.commit()
    return result


@pytest.mark.parametrize(
    ("events", "expected"),
    (
        pytest.param([ADMIT], ("inpatient", "RH-KARD"), id="admitted"),
        pytest.param(
            [ADMIT, event(K.LEAVE_START, "2026-11-20 10:00")], ("inpatient", "RH-KARD"), id="on-leave"
        ),
        pytest.param(
            [ADMIT, event(K.LEAVE_START, "2026-11-20 10:00"), event(K.LEAVE_END, "2026-11-21 08:00")],
            ("inpatient", "RH-KARD"),
            id="back-from-leave",
        ),
        pytest.param(
            [ADMIT, event(K.TRANSFER, "2026-11-18 09:00", department="BFH-GER")],
            ("inpatient", "BFH-GER"),
            id="transferred",
        ),
        pytest.param([ADMIT, DISCHARGE], ("responsibility", "RH-KARD"), id="discharged-to-a-nursing-home"),
        pytest.param(
            [ADMIT, NOTIFIED], ("no_responsibility", "RH-KARD"), id="a-notification-alone-opens-nothing"
        ),
        pytest.param(
            [ADMIT, NOTIFIED, DISCHARGE], ("responsibility", "RH-KARD"), id="the-hospitals-own-feed-opens-it"
        ),
        pytest.param(
            [ADMIT, DISCHARGE, NOTIFIED],
            ("responsibility", "RH-KARD"),
            id="a-later-notification-keeps-it-open",
        ),
        pytest.param(
            [ADMIT, DISCHARGE, event(K.CANCEL, "2026-11-21 12:00", cancels=K.DISCHARGE)],
            ("inpatient", "RH-KARD"),
            id="discharge-cancelled:-still-admitted",
        ),
        pytest.param(
            [ADMIT, event(K.CANCEL, "2026-11-15 09:00", cancels=K.ADMIT)],
            ("no_responsibility", None),
            id="admission-cancelled:-as-if-never",
        ),
        pytest.param(
            [ADMIT, DISCHARGE, event(K.ADMIT, "2026-11-22 09:00", stay="V2", department="BFH-GER")],
            ("inpatient", "BFH-GER"),
            id="readmitted:-the-admitting-department",
        ),
        pytest.param(
            [ADMIT, DISCHARGE, event(K.EMERGENCY, "2026-11-22 09:00", stay="V2", department="BFH-GER")],
            ("responsibility", "RH-KARD"),
            id="an-emergency-visit-ends-nothing",
        ),
        pytest.param(
            [ADMIT, DISCHARGE, event(K.OUTPATIENT, "2026-11-22 09:00", stay="V3", department="BFH-GER")],
            ("responsibility", "RH-KARD"),
            id="an-outpatient-visit-changes-nothing",
        ),
        pytest.param(
            [ADMIT, DISCHARGE, event(K.DEATH, "2026-11-22 06:00")],
            ("no_responsibility", "RH-KARD"),
            id="died",
        ),
        pytest.param(
            [
                ADMIT,
                DISCHARGE,
                event(K.UPDATE, "2026-11-22 08:00", discharged_at=parse_time("2026-11-18 10:00")),
            ],
            ("no_responsibility", "RH-KARD"),
            id="a-revision-moves-the-discharge-out-of-the-window",
        ),
        pytest.param(
            [
                event(
                    K.UPDATE,
                    "2026-11-20 08:00",
                    department="BFH-GER",
                    admitted_at=parse_time("2026-11-19 08:00"),
                )
            ],
            ("inpatient", "BFH-GER"),
            id="an-update-of-a-stay-not-heard-of-states-it-as-it-is",
        ),
    ),
)
@pytest.mark.usefixtures("region")
def test_each_event_moves_the_stay_and_the_call_follows(
    app: Flask, session: Session, events: list[StayEvent], expected: tuple[str, str | None]
) -> None:
    apply(app, session, *events)
    assert where(app, session) == expected


@pytest.mark.usefixtures("region")
def test_a_merge_moves_the_stays_to_the_surviving_identity(app: Flask, session: Session) -> None:
    apply(app, session, event(K.ADMIT, "2026-11-15 08:10", cpr=OTHER, department="RH-KARD"))
    assert where(app, session, OTHER) == ("inpatient", "RH-KARD")
    apply(app, session, event(K.MERGE, "2026-11-20 08:00", merged_cpr=OTHER))
    assert where(app, session, CPR) == ("inpatient", "RH-KARD")
    assert where(app, session, OTHER) == ("no_responsibility", None)


@pytest.mark.usefixtures("region")
def test_a_repeated_message_changes_nothing_and_says_so(app: Flask, session: Session) -> None:
    first = apply(app, session, event(K.ADMIT, "2026-11-15 08:10", department="RH-KARD", message_id="M1"))
    assert (first.added, first.repeated) == (1, False)
    # The same message id again, even with other content (a resend), is not applied twice.
    again = apply(app, session, event(K.ADMIT, "2026-11-16 08:10", department="BFH-GER", message_id="M1"))
    assert again.repeated and session.scalars(select(Discharge.admitted_at)).one() == parse_time(
        "2026-11-15 08:10"
    )


@pytest.mark.parametrize(
    ("events", "message"),
    (
        ([event(K.UPDATE, "2026-11-20 08:00")], "update of stay V1: no stay 'V1' to update"),
        ([event(K.CANCEL, "2026-11-20 08:00", cancels=K.DISCHARGE)], "no stay 'V1' to cancel"),
        (
            [ADMIT, event(K.TRANSFER, "2026-11-18 09:00", department="NO-SUCH")],
            "no department with code 'NO-SUCH'",
        ),
        ([event(K.DISCHARGE, "2026-11-21 10:30")], "a new stay needs its department"),
        ([ADMIT, event(K.CANCEL, "2026-11-18 09:00", cancels=K.TRANSFER)], "cannot cancel transfer"),
    ),
)
@pytest.mark.usefixtures("region")
def test_an_event_that_cannot_be_applied_is_refused_and_the_batch_stores_nothing(
    app: Flask, session: Session, events: list[StayEvent], message: str
) -> None:
    with pytest.raises(StayRefused, match=message) as refused:
        apply_events(session, app.extensions["linje72.vault"], events, app.config["CLOCK"]())
    session.rollback()
    assert CPR not in str(refused.value)
    assert session.scalar(select(func.count()).select_from(Discharge)) == 0
    assert session.scalar(select(func.count()).select_from(Patient)) == 0
