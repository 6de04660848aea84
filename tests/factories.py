"""Small builders for the records a test needs, stored through the real models."""

from __future__ import annotations

from flask import Flask
from sqlalchemy.orm import Session

from app.data.models import Caller, Department, Discharge, Shift
from app.values.times import parse_time

CPR_ACTIVE = "0101401234"  # born 1 January 1940; fails modulus 11, still valid
CPR_OTHER = "1503521236"


def department(session: Session, code: str = "RH-KARD", **values: object) -> Department:
    fields: dict[str, object] = {
        "name": "Hjertemedicinsk Klinik",
        "hospital": "Rigshospitalet",
        "day_phone": "+4531102001",
        "oncall_phone": "+4531102009",
        "switchboard_phone": "+4531100000",
        "day_hours": None,
    }
    fields.update(values)
    row = Department(code=code, **fields)
    session.add(row)
    session.flush()
    return row


def caller(session: Session, **values: object) -> Caller:
    fields: dict[str, object] = {
        "phone": "+4532501010",
        "code": "4711",
        "organisation": "Hjemmesygeplejen Valby",
        "kind": "home_nursing",
        "language": "da",
    }
    fields.update(values)
    row = Caller(**fields)
    session.add(row)
    session.flush()
    return row


def shift(
    session: Session, dept: Department, role: str, start: str, end: str, phone: str, name: str = ""
) -> Shift:
    row = Shift(
        department=dept, role=role, start_at=parse_time(start), end_at=parse_time(end), phone=phone, name=name
    )
    session.add(row)
    session.flush()
    return row


def discharge(
    app: Flask,
    session: Session,
    dept: Department,
    discharged_at: str,
    *,
    cpr: str = CPR_ACTIVE,
    external_id: str = "SP-1",
    destination: str = "nursing_home",
    admitted_at: str | None = None,
    gp_phone: str | None = None,
    responsibility_until: str | None = None,
    municipality: str | None = None,
) -> Discharge:
    vault = app.extensions["linje72.vault"]
    row = Discharge(
        external_id=external_id,
        cpr_lookup=vault.lookup_key(cpr),
        cpr_encrypted=vault.encrypt(cpr),
        department=dept,
        discharged_at=parse_time(discharged_at),
        admitted_at=parse_time(admitted_at) if admitted_at else None,
        destination=destination,
        gp_phone=gp_phone,
        responsibility_until=parse_time(responsibility_until) if responsibility_until else None,
        municipality=municipality,
    )
    session.add(row)
    session.flush()
    return row


ANNA = "+4540101001"


def small_region(app: Flask, session: Session) -> Department:
    """RH-KARD with Anna on the Monday day shift, the Valby home nurse, and a patient discharged
    on Saturday 21 November 2026 (active on Monday 23 November), committed."""
    dept = department(session)
    caller(session)
    shift(session, dept, "day", "2026-11-23 08:00", "2026-11-23 15:00", ANNA, "Anna Holm")
    discharge(app, session, dept, "2026-11-21T10:30:00+01:00")
    session.commit()
    return dept


PASSWORD = "correct horse battery"


def user(
    session: Session, email: str, role: str, departments: tuple[str, ...] = (), password: str = PASSWORD
) -> object:
    """A console account, through the same service as `linje72 user add`."""
    from app.services.accounts import add_user
    from app.values.times import parse_time

    account = add_user(session, email, role, departments, password, parse_time("2026-11-01T09:00:00+01:00"))
    session.flush()
    return account
