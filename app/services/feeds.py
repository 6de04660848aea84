"""Calendars out: a secret iCalendar address per doctor or per department, revocable.

A feed shows the published rota with the overrides laid over it, as a call would be
routed: a doctor's feed has the stretches they cover (their own shifts, and those they
cover for someone else) and not those someone covers for them; a department's feed has
every stretch and who covers it. Only the rota is in it, never anything about a patient.
The address's token is the only credential: shown once, stored as a SHA-256 hash.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from app.data import queries
from app.data.models import CalendarFeed, Department, RotaOverride, Shift
from app.services.rota import shifts_between
from app.values.phones import PhoneError, check
from app.values.secrets import FEED_PATH, FEED_PREFIX
from routing import Cover, Override, Role, apply_overrides

# What a feed shows: enough history to look back on last month, and the rota planned ahead.
BEFORE = timedelta(days=30)
AHEAD = timedelta(days=180)
USE_NOTED_EVERY = timedelta(minutes=1)
# Calendar apps are told how often to look again; Google and Outlook choose for themselves.
REFRESH = timedelta(hours=1)

# Short Danish words for the calendar's summary line (vagtplanens roller).
ROLE_WORDS = {Role.DAY: "Dagtid", Role.ONCALL: "Vagt", Role.BACKUP: "Bagvagt", Role.NURSE: "Sygeplejerske"}
ROLE_LONG = {
    Role.DAY: "dagtid, ringes op først i dagtid",
    Role.ONCALL: "vagthavende læge, ringes op først i vagttid",
    Role.BACKUP: "bagvagt, ringes op efter afdelingens vagttelefon",
    Role.NURSE: "sygeplejerske, ringes op først når sygeplejersker ringer og aftalen siger det",
}


class FeedRefused(ValueError):
    """A feed that cannot be made or changed as asked; names the field and what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Person:
    """Someone on a department's rota (or covering by override), as a feed can be made for them."""

    phone: str
    name: str


def _digest(token: str) -> str:
    # 256 random bits: a plain hash cannot be reversed (unlike a CPR number's, which needs a key).
    return hashlib.sha256(token.encode()).hexdigest()


def feed_url(public_url: str, token: str) -> str:
    """Return the address a calendar app subscribes to."""
    return f"{public_url.rstrip('/')}{FEED_PATH}{token}.ics"


def people_on_rota(
    session: Session, department_code: str, now: datetime, *, allowed: Collection[str] | None = None
) -> list[Person]:
    """The people a feed can be made for: on the department's rota, or covering by override,
    within the feeds' window; by name."""
    return _people(session, _department(session, department_code, allowed), now)


def _people(session: Session, department: Department, now: datetime) -> list[Person]:
    start, end = now - BEFORE, now + AHEAD
    found: dict[str, str] = {}
    for phone, name in session.execute(
        select(Shift.phone, Shift.name)
        .where(Shift.department_id == department.id, Shift.end_at > start, Shift.start_at < end)
        .order_by(Shift.start_at)
    ):
        found[phone] = name or found.get(phone, "")
    for phone, name in session.execute(
        select(RotaOverride.phone, RotaOverride.name)
        .where(
            RotaOverride.department_id == department.id,
            RotaOverride.end_at > start,
            RotaOverride.start_at < end,
            RotaOverride.ended_at.is_(None),
        )
        .order_by(RotaOverride.start_at)
    ):
        found.setdefault(phone, name)
    return sorted((Person(phone, name) for phone, name in found.items()), key=lambda p: (p.name, p.phone))


def _department(session: Session, code: str, allowed: Collection[str] | None) -> Department:
    department = queries.find_department(session, code)
    if department is None or (allowed is not None and code not in allowed):
        raise FeedRefused("department", f"no department {code!r} you may manage")
    return department


def add_feed(
    session: Session,
    department_code: str,
    phone: str | None,
    name: str,
    now: datetime,
    *,
    actor: str,
    allowed: Collection[str] | None = None,
) -> tuple[CalendarFeed, str]:
    """Make a feed for a person on the department's rota (by phone) or, without a phone, the
    department's whole rota; return it and its token (shown once, stored only as a hash)."""
    department = _department(session, department_code, allowed)
    label = name.strip()
    if any(ord(char) < 32 or 127 <= ord(char) < 160 for char in label) or len(label) > 200:
        raise FeedRefused("name", "at most 200 characters, no control characters")
    number = None
    if phone:
        try:
            number = check(phone).number
        except PhoneError as exc:
            raise FeedRefused("phone", str(exc)) from None
        person = next((p for p in _people(session, department, now) if p.phone == number), None)
        if person is None:
            raise FeedRefused(
                "phone",
                f"nobody with {number} is on the rota of {department.code} "
                f"within the {BEFORE.days} days before and {AHEAD.days} days after today",
            )
        label = label or person.name or number
    token = FEED_PREFIX + secrets.token_urlsafe(32)
    feed = CalendarFeed(
        token_hash=_digest(token),
        department_id=department.id,
        phone=number,
        name=label or department.name,
        created_at=now,
        created_by=actor[:254],
    )
    session.add(feed)
    session.flush()
    return feed, token


def find_feed(session: Session, token: str, now: datetime) -> CalendarFeed | None:
    """Return the live feed a token opens (its use noted at most once a minute), or None."""
    if not token.startswith(FEED_PREFIX) or len(token) > 100:
        return None
    feed = session.scalars(
        select(CalendarFeed)
        .options(joinedload(CalendarFeed.department))
        .where(CalendarFeed.token_hash == _digest(token))
    ).first()
    if feed is None or feed.revoked_at is not None:
        return None
    # A calendar app may look every few minutes: its every fetch need not write.
    if feed.last_used_at is None or now - feed.last_used_at > USE_NOTED_EVERY:
        feed.last_used_at = now
    return feed


def get_feed(session: Session, feed_id: int, allowed: Collection[str] | None = None) -> CalendarFeed | None:
    """The feed, when it is of a department the person may manage."""
    feed = session.get(CalendarFeed, feed_id)
    if feed is None or (allowed is not None and feed.department.code not in allowed):
        return None
    return feed


def revoke_feed(
    session: Session, feed_id: int, now: datetime, *, allowed: Collection[str] | None = None
) -> CalendarFeed:
    """Revoke a feed: its address answers 404 from now on (flush only). Revoking twice is harmless."""
    feed = get_feed(session, feed_id, allowed)
    if feed is None:
        raise FeedRefused("feed", f"no calendar feed {feed_id} you may manage")
    feed.revoked_at = feed.revoked_at or now
    session.flush()
    return feed


def feeds_of(session: Session, codes: Collection[str] | None) -> list[CalendarFeed]:
    """The feeds of the given departments (None: all), live ones first, then by department and name."""
    query = select(CalendarFeed).join(Department).options(joinedload(CalendarFeed.department))
    if codes is not None:
        query = query.where(Department.code.in_(list(codes)))
    feeds = session.scalars(query.order_by(Department.code, CalendarFeed.name, CalendarFeed.id)).all()
    return sorted(feeds, key=lambda feed: feed.revoked_at is not None)


def feed_calendar(session: Session, feed: CalendarFeed, now: datetime) -> bytes:
    """Return the feed as an iCalendar document (two queries: the shifts, the overrides)."""
    department = feed.department
    start, end = now - BEFORE, now + AHEAD
    shifts = [queries.shift_info(shift) for shift in shifts_between(session, department.id, start, end)]
    overrides = queries.overrides_between(session, [department.id], start, end)[department.id]
    covers = apply_overrides(shifts, overrides)
    if feed.phone is not None:
        covers = [cover for cover in covers if cover.phone == feed.phone]
    by_id = {override.id: override for override in overrides}

    calendar = Calendar()
    calendar.add("prodid", "-//Linje 72//Vagtplan//DA")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    title = f"Linje 72: {department.code}" + (f" – {feed.name}" if feed.phone else "")
    calendar.add("name", title)
    calendar.add("x-wr-calname", title)
    calendar.add("x-wr-timezone", "Europe/Copenhagen")
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", REFRESH)
    stamp = now.astimezone(UTC).replace(microsecond=0)
    seen: set[str] = set()
    for cover in sorted(covers, key=lambda c: (c.start, c.role, c.phone)):
        if cover.end <= start or cover.start >= end:
            continue
        override = by_id.get(cover.override) if cover.override is not None else None
        event = Event()
        event.add("uid", _uid(feed, cover, seen))
        event.add("dtstamp", stamp)
        event.add("dtstart", cover.start.astimezone(UTC))
        event.add("dtend", cover.end.astimezone(UTC))
        event.add("summary", _summary(feed, department.code, cover, override))
        event.add("description", _description(feed, department, cover, override))
        event.add("status", "CONFIRMED")
        # A doctor's own shifts make them busy; a department's rota does not make its reader busy.
        event.add("transp", "OPAQUE" if feed.phone else "TRANSPARENT")
        calendar.add_component(event)
    return calendar.to_ical()


def _uid(feed: CalendarFeed, cover: Cover, seen: set[str]) -> str:
    """An id that stays the same while the stretch keeps its start, role and person (so a calendar
    app updates the event when its end moves, or the rota is published again, instead of adding one);
    hashed, so that no phone number is in it."""
    key = f"{feed.id}|{cover.role.value}|{cover.start.astimezone(UTC).isoformat()}|{cover.phone}"
    uid = hashlib.sha256(key.encode()).hexdigest()[:32]
    n = 1
    while uid in seen:  # the same person twice from the same start (a shift and an added cover)
        n += 1
        uid = hashlib.sha256(f"{key}|{n}".encode()).hexdigest()[:32]
    seen.add(uid)
    return f"{uid}@linje72"


def _who(cover: Cover) -> str:
    return cover.name or cover.phone


def _summary(feed: CalendarFeed, code: str, cover: Cover, override: Override | None) -> str:
    text = f"{ROLE_WORDS[cover.role]} {code}"
    if feed.phone is None:
        text += f": {_who(cover)}"
    if override is not None and override.replaces_phone:
        text += f" (for {override.replaces_name or override.replaces_phone})"
    return text


def _description(feed: CalendarFeed, department: Department, cover: Cover, override: Override | None) -> str:
    lines = [
        f"{department.name}, {department.hospital}",
        f"Rolle: {ROLE_LONG[cover.role]} ({cover.role.value})",
    ]
    if feed.phone is None:
        lines.append(f"Dækkes af: {_who(cover)}")
    if override is not None:
        if override.replaces_phone:
            lines.append(f"Ombytning: dækker for {override.replaces_name or override.replaces_phone}")
        else:
            lines.append("Ekstra dækning lagt ind af planlæggeren")
    lines.append("Fra Linje 72. Ændringer laves i vagtplanen, ikke i kalenderen.")
    return "\n".join(lines)
