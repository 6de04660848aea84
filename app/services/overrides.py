"""Overrides: "Dr X covers tonight instead of Dr Y", without uploading the rota again.

An override is kept apart from the rota and laid over it wherever the rota is read (the
call's chain, "who answers now", coverage, calendar feeds), so the next upload of the rota
it patches does not undo it. It is never changed in place: a withdrawal ends it, an edit
ends it and adds its successor, so every earlier state stays readable.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.data import queries
from app.data.models import RotaOverride, Shift
from app.values.phones import PhoneError, check
from app.values.times import local_minute
from routing import LONGEST_SHIFT, Role

# An override stands in for someone for a night, a weekend or a sick week; longer is a new rota.
LONGEST_OVERRIDE = timedelta(days=14)


class OverrideRefused(ValueError):
    """An override that cannot be stored; the message names the field and what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class OverrideRequest:
    """What a planner (or the doctor concerned) asks for."""

    department: str
    start: datetime
    end: datetime
    name: str
    phone: str
    replaces_phone: str | None = None  # the rota person stood in for; None adds cover (a gap)
    role: str = ""  # needed only when nobody is replaced
    reason: str = ""


def add_override(
    session: Session,
    request: OverrideRequest,
    now: datetime,
    *,
    actor: str,
    user_id: int | None = None,
    allowed: Collection[str] | None = None,
    previous: RotaOverride | None = None,
) -> RotaOverride:
    """Check and store an override (flush only); raise OverrideRefused naming what is wrong."""
    department = queries.find_department(session, request.department)
    if department is None or (allowed is not None and request.department not in allowed):
        raise OverrideRefused("department", f"no department {request.department!r} you may edit")
    if request.end <= request.start:
        raise OverrideRefused("end", "must be after the start")
    if request.end - request.start > LONGEST_OVERRIDE:
        raise OverrideRefused("end", f"an override may last at most {LONGEST_OVERRIDE.days} days")
    if request.end <= now:
        raise OverrideRefused("end", "is already past: an override changes who answers from now on")
    name = request.name.strip()
    if not name or any(ord(char) < 32 or 127 <= ord(char) < 160 for char in name) or len(name) > 200:
        raise OverrideRefused(
            "name", "give the name of who covers (at most 200 characters, no control characters)"
        )
    try:
        phone = check(request.phone).number
    except PhoneError as exc:
        raise OverrideRefused("phone", str(exc)) from None
    replaced_name = ""
    if request.replaces_phone:
        replaced = session.scalars(
            select(Shift)
            .where(
                Shift.department_id == department.id,
                Shift.phone == request.replaces_phone,
                Shift.start_at > request.start - LONGEST_SHIFT,
                Shift.start_at < request.end,
                Shift.end_at > request.start,
            )
            .order_by(Shift.start_at)
        ).first()
        if replaced is None:
            raise OverrideRefused(
                "replaces",
                f"nobody with {request.replaces_phone} is on the rota of {request.department} "
                f"between {local_minute(request.start)} and {local_minute(request.end)}",
            )
        if replaced.phone == phone:
            raise OverrideRefused("phone", "is the number of the person being replaced")
        role, replaced_name = replaced.role, replaced.name
    else:
        if request.role not in (Role.DAY, Role.ONCALL, Role.BACKUP, Role.NURSE):
            raise OverrideRefused(
                "role", "choose day, oncall, backup or nurse for cover that replaces nobody"
            )
        role = request.role
    override = RotaOverride(
        department_id=department.id,
        role=role,
        start_at=request.start,
        end_at=request.end,
        name=name,
        phone=phone,
        replaces_name=replaced_name,
        replaces_phone=request.replaces_phone or None,
        reason=request.reason.strip()[:200],
        created_at=now,
        created_by=actor[:254],
        user_id=user_id,
        previous_id=previous.id if previous else None,
    )
    session.add(override)
    session.flush()
    return override


def find_override(
    session: Session, override_id: int, allowed: Collection[str] | None = None
) -> RotaOverride | None:
    """The override, when it is in force and in a department the person may edit."""
    override = session.get(RotaOverride, override_id)
    if override is None or override.ended_at is not None:
        return None
    if allowed is not None and override.department.code not in allowed:
        return None
    return override


def end_override(session: Session, override: RotaOverride, now: datetime, *, actor: str) -> None:
    """Withdraw an override: from now on the rota answers again (flush only)."""
    override.ended_at = now
    override.ended_by = actor[:254]
    session.flush()


def change_override(
    session: Session,
    override: RotaOverride,
    request: OverrideRequest,
    now: datetime,
    *,
    actor: str,
    user_id: int | None = None,
    allowed: Collection[str] | None = None,
) -> RotaOverride:
    """Replace an override by a new one (the old one ends, the new one names it)."""
    end_override(session, override, now, actor=actor)
    return add_override(
        session, request, now, actor=actor, user_id=user_id, allowed=allowed, previous=override
    )


def overrides_of(
    session: Session,
    codes: Collection[str] | None,
    start: datetime,
    end: datetime,
    *,
    include_ended: bool = False,
) -> list[RotaOverride]:
    """The overrides overlapping [start, end) of the given departments (None: all), earliest first."""
    query = select(RotaOverride).where(RotaOverride.end_at > start, RotaOverride.start_at < end)
    if not include_ended:
        query = query.where(RotaOverride.ended_at.is_(None))
    if codes is not None:
        ids = [d.id for code, d in queries.all_departments(session).items() if code in codes]
        query = query.where(RotaOverride.department_id.in_(ids))
    return list(session.scalars(query.order_by(RotaOverride.start_at, RotaOverride.id)))


def people_on_rota(
    session: Session, code: str, start: datetime, end: datetime, allowed: Collection[str] | None = None
) -> list[Shift]:
    """The rota's people in [start, end) whom an override could replace: one shift each, earliest first."""
    department = queries.find_department(session, code)
    if department is None or (allowed is not None and code not in allowed):
        return []
    shifts = session.scalars(
        select(Shift)
        .where(
            Shift.department_id == department.id,
            Shift.start_at > start - LONGEST_SHIFT,
            Shift.start_at < end,
            Shift.end_at > start,
        )
        .order_by(Shift.start_at, Shift.id)
    )
    seen: dict[str, Shift] = {}
    for shift in shifts:
        seen.setdefault(shift.phone, shift)
    return list(seen.values())
