"""What "the same gap" is from one check of the rota to the next, so planners hear of each gap once.

Pure: the gaps already told (open alerts) and the gaps found now are passed in.

- A found gap that overlaps no told gap is new: the planners are told.
- A found gap that overlaps told gaps is the same gap. When it shrank, or merely came
  further into view at the far end of the look-ahead, the alert is updated quietly.
  When it now takes time that an earlier check saw covered, it grew: the alert is
  updated and the planners are told again.
- A told gap that split in two (the middle got covered) keeps its alert for the first
  piece; the other pieces get alerts of their own without a message.
- A found gap that joins two told gaps keeps the first alert; the others are closed.
- A told gap that overlaps no found gap is covered now: its alert is closed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from routing.coverage import Gap


@dataclass(frozen=True)
class KnownGap:
    """A gap the planners were told of (an open alert): its department and its time as last seen."""

    id: int
    department: str
    start: datetime
    end: datetime


@dataclass
class AlertPlan:
    """What a check changes: alerts to make, update, split off or close, and who hears of it."""

    new: list[Gap] = field(default_factory=list)  # tell the planners
    grown: list[tuple[int, Gap]] = field(default_factory=list)  # update the alert; tell again
    kept: list[tuple[int, Gap]] = field(default_factory=list)  # update the alert quietly
    split: list[tuple[int, Gap]] = field(default_factory=list)  # a piece of a told gap: a quiet alert
    covered: list[int] = field(default_factory=list)  # close; the gap is covered now
    merged: list[int] = field(default_factory=list)  # close quietly; another alert holds the gap


def plan_alerts(
    known: Sequence[KnownGap], found: Sequence[Gap], window_start: datetime, seen_until: datetime | None
) -> AlertPlan:
    """Match the gaps found in [window_start, …) against the told ones, department by department.

    `seen_until` is where the previous check's look-ahead ended: time beyond it was never
    seen covered, so a gap reaching into it has not grown (None: no previous check).
    """
    plan = AlertPlan()
    claimed: set[int] = set()
    touched: set[int] = set()
    for gap in sorted(found, key=lambda g: (g.department, g.start)):
        overlapping = sorted(
            (k for k in known if k.department == gap.department and k.start < gap.end and gap.start < k.end),
            key=lambda k: k.start,
        )
        touched.update(k.id for k in overlapping)
        if not overlapping:
            plan.new.append(gap)
            continue
        free = [k for k in overlapping if k.id not in claimed]
        limit = gap.end if seen_until is None else min(gap.end, seen_until)
        grew = bool(_uncovered(gap.start, limit, overlapping))
        if not free:
            # A piece of a told gap that split; one that also took covered time is told as new.
            if grew:
                plan.new.append(gap)
            else:
                plan.split.append((overlapping[0].id, gap))
            continue
        first = free[0]
        claimed.add(first.id)
        # A gap under way is cut at the window's start: it has not shrunk, time has passed.
        start = first.start if gap.start == window_start and first.start < gap.start else gap.start
        kept = replace(gap, start=start)
        (plan.grown if grew else plan.kept).append((first.id, kept))
        for other in free[1:]:
            claimed.add(other.id)
            plan.merged.append(other.id)
    plan.covered = [k.id for k in known if k.id not in touched]
    return plan


def _uncovered(start: datetime, end: datetime, spans: Sequence[KnownGap]) -> list[tuple[datetime, datetime]]:
    """Return the parts of [start, end) that none of `spans` holds."""
    pieces = [(start, end)] if start < end else []
    for span in spans:
        rest = []
        for s, e in pieces:
            if span.end <= s or e <= span.start:
                rest.append((s, e))
                continue
            if s < span.start:
                rest.append((s, span.start))
            if span.end < e:
                rest.append((span.end, e))
        pieces = rest
    return pieces
