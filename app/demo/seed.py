"""Seed the demo region around `now`, through the services every other surface uses.

`seed_demo` loads the departments, the registered callers, a rota from yesterday to
three days ahead (built on the configured calendar) and the discharges of fictional
patients, and returns a summary for the person trying the product. Running it again
updates the same records instead of adding new ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.orm import Session

from app.config import Policy
from app.data.queries import agreements_of
from app.demo.data import (
    ACCOUNTS,
    AGREEMENTS,
    CALLERS,
    DEPARTMENTS,
    EXTENDED_UNTIL,
    GAP_DEPARTMENT,
    PATIENTS,
)
from app.intake.agreements import AgreementRecord
from app.intake.callers import CallerRecord
from app.intake.departments import DepartmentRecord
from app.intake.discharges import DischargeRecord
from app.intake.rota import ShiftRecord
from app.services.accounts import add_user, find_user, reset_password
from app.services.agreements import upsert_agreements
from app.services.directory import upsert_callers, upsert_departments
from app.services.discharges import store_discharges
from app.services.rota import Author, publish_rota
from app.values.cpr import CprVault
from routing import Calendar, DayHours, Role, local_date
from routing.calendar import COPENHAGEN

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class RotaWindow:
    """The local days the demo rota covers, and the gap it leaves."""

    first_day: date
    last_day: date
    gap_start: datetime | None
    gap_end: datetime | None


def seed_demo(session: Session, vault: CprVault, policy: Policy, now: datetime) -> str:
    """Load (or refresh) the demo region around `now`; flush, don't commit; return a summary."""
    if now.tzinfo is None:
        raise ValueError("now must carry its time zone")
    upsert_agreements(session, agreement_records())
    upsert_departments(session, department_records())
    try:
        callers = upsert_callers(session, caller_records())
    except ValueError as exc:
        raise ValueError(f"the demo's callers clash with the registered ones: {exc}") from None
    # Each department's rota follows its agreement's calendar (Zealand's 5 June is a half day).
    rules = agreements_of(session, [d.code for d in DEPARTMENTS], policy.calendar)
    calendars = {code: agreement.calendar for code, agreement in rules.items()}
    shifts, window = rota_records(policy.calendar, now, calendars)
    # Published like any rota, as a version; its one deliberate gap is acknowledged here.
    publish_rota(
        session, policy, shifts, now, Author("demo", "demo"), file_name="demo rota", acknowledged=True
    )
    discharges = store_discharges(session, vault, discharge_records(now), now)
    seed_accounts(session, now)
    return _summary(policy.calendar, now, window, len(shifts), discharges.count, callers.count)


def seed_accounts(session: Session, now: datetime) -> None:
    """One console account per role, with the demo's passwords (set again at every seeding)."""
    for account in ACCOUNTS:
        if find_user(session, account.email) is None:
            add_user(session, account.email, account.role, account.departments, account.password, now)
        else:
            reset_password(session, account.email, account.password)


def agreement_records() -> list[AgreementRecord]:
    return list(AGREEMENTS)


def department_records() -> list[DepartmentRecord]:
    return [
        DepartmentRecord(
            code=demo.code,
            name=demo.name,
            hospital=demo.hospital,
            day_phone=demo.day_phone,
            oncall_phone=demo.oncall_phone,
            switchboard_phone=demo.switchboard_phone,
            day_hours=demo.day_hours,
            agreement=demo.agreement,
            has_agreement=True,
            oncall_pool=demo.oncall_pool,
            has_oncall_pool=True,
            row=place,
        )
        for place, demo in enumerate(DEPARTMENTS, start=1)
    ]


def caller_records() -> list[CallerRecord]:
    return [
        CallerRecord(
            demo.organisation,
            demo.kind,
            demo.phone,
            demo.code,
            demo.language,
            row=place,
            agreement=demo.agreement,
            has_agreement=True,
        )
        for place, demo in enumerate(CALLERS, start=1)
    ]


def rota_records(
    calendar: Calendar, now: datetime, calendars: Mapping[str, Calendar] | None = None
) -> tuple[list[ShiftRecord], RotaWindow]:
    """Return the demo rota from yesterday to three days ahead, on the configured calendar.

    Working days have a day shift in the department's day hours and an on-call shift
    from their end to the next morning; other days are on call from morning to
    morning. A backup covers each day. One night is left uncovered on purpose.
    `calendars` gives a department's own calendar (its agreement's) by code.
    """
    today = local_date(now)
    days = [today + timedelta(days=offset) for offset in range(-1, 4)]
    gap_day = today + timedelta(days=1)
    window = RotaWindow(days[0], days[-1], None, None)
    records: list[ShiftRecord] = []
    for place, demo in enumerate(DEPARTMENTS):
        own = (calendars or {}).get(demo.code, calendar)
        hours = DayHours.parse(demo.day_hours) if demo.day_hours else own.day_hours
        for number, day in enumerate(days):
            morning = _at(day, hours.start)
            next_morning = _at(day + timedelta(days=1), hours.start)
            oncall_start = morning
            span = own.day_span(day, hours)
            if span is not None:
                name, phone = demo.day_doctors[number % len(demo.day_doctors)]
                oncall_start = _at(day, span.end)
                records.append(ShiftRecord(demo.code, Role.DAY, morning, oncall_start, phone, name))
            if demo.nurses:  # a nurse by day, another by night
                for (nurse, mobile), start, end in zip(
                    demo.nurses, (morning, oncall_start), (oncall_start, next_morning), strict=True
                ):
                    if start < end:  # no day nurse on a day on call throughout
                        records.append(ShiftRecord(demo.code, Role.NURSE, start, end, mobile, nurse))
            if demo.code == GAP_DEPARTMENT and day == gap_day:
                window = RotaWindow(days[0], days[-1], oncall_start, next_morning)
            elif demo.oncall_doctors:  # none where the nights are an on-call pool's
                name, phone = demo.oncall_doctors[(number + place) % len(demo.oncall_doctors)]
                records.append(ShiftRecord(demo.code, Role.ONCALL, oncall_start, next_morning, phone, name))
            name, phone = demo.backup_doctor
            records.append(ShiftRecord(demo.code, Role.BACKUP, morning, next_morning, phone, name))
    return records, window


def discharge_records(now: datetime) -> list[DischargeRecord]:
    base = now.astimezone(UTC).replace(second=0, microsecond=0)
    tomorrow = local_date(now) + timedelta(days=1)
    records = []
    for patient in PATIENTS:
        for demo in patient.discharges:
            discharged_at = base - timedelta(hours=demo.hours_ago)
            records.append(
                DischargeRecord(
                    external_id=demo.external_id,
                    cpr=patient.cpr,
                    department=demo.department,
                    discharged_at=discharged_at,
                    destination=demo.destination,
                    admitted_at=(
                        None if demo.stay_hours is None else discharged_at - timedelta(hours=demo.stay_hours)
                    ),
                    municipality=demo.municipality,
                    gp_phone=demo.gp_phone,
                    responsibility_until=_at(tomorrow, EXTENDED_UNTIL) if demo.extended else None,
                )
            )
    return records


def _at(day: date, moment: time) -> datetime:
    """Return the local wall-clock time `moment` on `day` in Copenhagen, as UTC."""
    return datetime.combine(day, moment, tzinfo=COPENHAGEN).astimezone(UTC)


def _day(day: date) -> str:
    return f"{_WEEKDAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]}"


def _local(moment: datetime) -> str:
    local = moment.astimezone(COPENHAGEN)
    return f"{_day(local.date())} {local:%H:%M}"


def _summary(
    calendar: Calendar, now: datetime, window: RotaWindow, shifts: int, discharges: int, callers: int
) -> str:
    hospitals = {d.hospital for d in DEPARTMENTS}
    municipalities = {d.municipality for p in PATIENTS for d in p.discharges}
    lines = [
        f"Linje 72 demo, Region Østdanmark, loaded at {_local(now)}.",
        f"  {len(DEPARTMENTS)} departments at {len(hospitals)} hospitals, {callers} callers,",
        f"  {shifts} rota shifts from {_day(window.first_day)} to {_day(window.last_day)},",
        f"  {discharges} discharges of {len(PATIENTS)} patients from {len(municipalities)} municipalities.",
    ]
    if window.gap_start and window.gap_end:
        lines += [
            f"Rota gap, on purpose: {GAP_DEPARTMENT} has no on-call doctor",
            f"  from {_local(window.gap_start)} to {_local(window.gap_end)}.",
        ]
    lines += ["", "Agreements (code, line, window, name):"]
    for agreement in AGREEMENTS:
        lines.append(
            f"  {agreement.code:<4} {agreement.line_name}  {agreement.window_hours} h  {agreement.name}"
        )
    lines += ["", "Departments (code, agreement, day hours, hospital):"]
    for demo in DEPARTMENTS:
        hours = demo.day_hours or str(calendar.day_hours)
        lines.append(f"  {demo.code:<10} {demo.agreement:<4} {hours}  {demo.hospital}")
        if demo.oncall_pool:
            lines.append(f"  {'':<10} on call at night: the pool {demo.oncall_pool}")
        elif not demo.oncall_phone:
            lines.append(f"  {'':<10} no on-call phone of its own")
        if demo.nurses:
            lines.append(f"  {'':<10} nurses on the rota, rung first for nursing callers")
    lines += ["", "Patients to try (fictional CPR numbers; key all 10 digits):"]
    for patient in PATIENTS:
        lines.append(f"  {patient.cpr}  {patient.expect}")
    lines += ["", "Console accounts (email, demo password, role; never for production):"]
    for account in ACCOUNTS:
        where = f" {','.join(account.departments)}" if account.departments else ""
        lines.append(f"  {account.email:<25} {account.password:<19} {account.role}{where}")
    lines += [
        "",
        "Call from a number below (phone, unit code, agreement),",
        "or from another number and key the unit code:",
    ]
    for caller in CALLERS:
        phone = caller.phone or "(no phone)"
        code = caller.code or "-"
        english = " (English)" if caller.language == "en" else ""
        lines.append(f"  {phone:<12} {code:<5} {caller.agreement:<4} {caller.organisation}{english}")
    return "\n".join(lines)
