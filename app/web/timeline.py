"""Lay coverage stretches out on a wall-clock timeline: day rows for a department, one strip per region row.

Positions are wall-clock time in Copenhagen, so 15:00 sits under 15:00 on every row, even on
the days daylight saving starts or ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from markupsafe import Markup

from app.values.times import local_minute
from routing import Gap, Stretch
from routing.calendar import COPENHAGEN

DAY = timedelta(days=1)
# A gap that starts this soon is "tonight": it is shown first and loudest.
SOON = timedelta(hours=24)


def local_midnight(moment: datetime) -> datetime:
    """The start of `moment`'s day in Copenhagen."""
    day = moment.astimezone(COPENHAGEN).date()
    return datetime.combine(day, time(0), tzinfo=COPENHAGEN)


def days_ahead(now: datetime, days: int) -> datetime:
    """The local midnight that ends the `days`-day window starting today."""
    last = now.astimezone(COPENHAGEN).date() + timedelta(days=days)
    return datetime.combine(last, time(0), tzinfo=COPENHAGEN)


def _wall(moment: datetime) -> datetime:
    return moment.astimezone(COPENHAGEN).replace(tzinfo=None)


@dataclass(frozen=True)
class Band:
    """A stretch (or its part within a row) placed by percent of the row's width."""

    left: float
    width: float
    stretch: Stretch
    opens: bool  # the stretch starts in this row: label it here


@dataclass(frozen=True)
class DayRow:
    day: date
    bands: list[Band]
    past: float  # percent of the row already gone (shaded)


def _place(stretches: list[Stretch], row_start: datetime, length: timedelta) -> list[Band]:
    start, span = _wall(row_start), length.total_seconds()
    bands = []
    for stretch in stretches:
        left = max((_wall(stretch.start) - start).total_seconds(), 0.0)
        right = min((_wall(stretch.end) - start).total_seconds(), span)
        if right <= left:
            continue
        bands.append(
            Band(100 * left / span, 100 * (right - left) / span, stretch, _wall(stretch.start) >= start)
        )
    return bands


def day_rows(stretches: list[Stretch], now: datetime, days: int) -> list[DayRow]:
    """One row per local day from today, each stretch cut at midnight."""
    first = local_midnight(now)
    rows = []
    for offset in range(days):
        day = first.date() + timedelta(days=offset)
        midnight = datetime.combine(day, time(0))
        mine = [s for s in stretches if _wall(s.start) < midnight + DAY and _wall(s.end) > midnight]
        past = max(0.0, min(1.0, (_wall(now) - midnight) / DAY)) * 100
        rows.append(DayRow(day, _place(mine, midnight.replace(tzinfo=COPENHAGEN), DAY), past))
    return rows


def strip(stretches: list[Stretch], now: datetime, days: int) -> list[Band]:
    """The stretches of `days` days from today's midnight on one strip (the region's overview)."""
    return _place(stretches, local_midnight(now), DAY * days)


def kind(stretch: Stretch) -> str:
    """The stretch's colour: a gap, the rota's day or on-call people, or the department's phone."""
    if stretch.gap:
        return "k-gap"
    found = f"k-{stretch.period.value}" if stretch.people else "k-phone"
    return found + " k-override" if stretch.override else found


def strip_markup(stretches: list[Stretch], now: datetime, days: int) -> Markup:
    """The region overview's strip as HTML: built here, not in the template, as 300 departments
    make thousands of pieces and the page must come at once. Only numbers, fixed class names and
    times go in, so nothing needs escaping."""
    pieces = []
    for band in strip(stretches, now, days):
        stretch = band.stretch
        title = f' title="{local_minute(stretch.start)} – {local_minute(stretch.end)}"' if stretch.gap else ""
        # Placed by the console's script from the data attributes: the CSP allows no inline style.
        place = f'data-left="{band.left:.2f}" data-width="{band.width:.2f}"'
        pieces.append(f'<i class="{kind(stretch)}" {place}{title}></i>')
    return Markup("".join(pieces))


@dataclass(frozen=True)
class Warning:
    """A gap as the front page and the overview list it: the department, and how soon it starts."""

    gap: Gap
    name: str
    ongoing: bool
    soon: bool
    hours: int  # whole hours until it starts


def warnings(found: list[tuple[Gap, str]], now: datetime) -> list[Warning]:
    """The gaps earliest first, each marked ongoing or starting within a day."""
    listed = []
    for gap, name in sorted(found, key=lambda item: (item[0].start, item[0].department)):
        ongoing = gap.start <= now
        listed.append(
            Warning(
                gap,
                name,
                ongoing,
                not ongoing and gap.start - now < SOON,
                int((gap.start - now) // timedelta(hours=1)),
            )
        )
    return listed
