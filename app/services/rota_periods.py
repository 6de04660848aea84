"""A department's rota by period, for scheduling systems: read what is published, replace a period.

Replacing goes through the same review and publish as every other surface (`rota`), with
the period given explicitly (a scope), so that an empty list clears it. A request that
would change nothing publishes nothing: a scheduling system may send its plan every hour
without filling the versions with empty publishes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from app.config import Policy
from app.data import queries
from app.data.models import Department, RotaVersion, Shift
from app.intake.rota import ShiftRecord
from app.services.rota import Author, RotaRefused, RotaReview, publish_rota, review_rota, shifts_between
from routing import Cover, Override, apply_overrides

# What a scheduling system's request is called in a review's findings and in the versions.
SOURCE_NAME = "request"


def department_exists(session: Session, code: str) -> bool:
    return queries.find_department(session, code) is not None


@dataclass
class Replacement:
    """What a request did: the review, and the version it published (None: a dry run, or no change)."""

    review: RotaReview
    version: RotaVersion | None = None


def replace_period(
    session: Session,
    policy: Policy,
    department: str,
    start: datetime,
    end: datetime,
    records: Sequence[ShiftRecord],
    now: datetime,
    author: Author,
    *,
    acknowledged: bool = False,
    dry_run: bool = False,
    read_warnings: Sequence[str] = (),
) -> Replacement:
    """Make `records` the department's rota for [start, end) as one version (flush only).

    Raises RotaRefused (with the review) on errors, and on warnings or gaps not acknowledged
    unless it is a dry run, which only reviews.
    """
    scope = {department: (start, end)}
    review = review_rota(
        session, policy, records, now, file_name=SOURCE_NAME, scope=scope, read_warnings=read_warnings
    )
    if not review.publishable:
        raise RotaRefused(f"not published: {len(review.errors)} problem(s) must be mended first", review)
    if dry_run:
        return Replacement(review)
    if review.needs_acknowledgement and not acknowledged:
        raise RotaRefused(
            f"not published: {len(review.warnings)} warning(s) and {len(review.gaps)} gap(s) "
            "must be acknowledged first",
            review,
        )
    if all(preview.diff.empty for preview in review.departments):
        return Replacement(review)
    version = publish_rota(
        session,
        policy,
        records,
        now,
        author,
        file_name=f"{SOURCE_NAME} {department}",
        file_hash=_digest(department, start, end, records),
        acknowledged=acknowledged,
        scope=scope,
        read_warnings=read_warnings,
    )
    return Replacement(review, version)


def _digest(department: str, start: datetime, end: datetime, records: Sequence[ShiftRecord]) -> str:
    """A fingerprint of what was asked for, whatever the order or spelling of the request."""
    shifts = sorted((r.role.value, r.start.isoformat(), r.end.isoformat(), r.name, r.phone) for r in records)
    text = json.dumps([department, start.isoformat(), end.isoformat(), shifts])
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class PlannedShift:
    """A published shift, and the stretches of it others cover by override."""

    shift: Shift
    covered_by: list[Cover] = field(default_factory=list)


@dataclass
class PublishedRota:
    """A department's published rota over a period: the shifts, the overrides, and who really covers."""

    department: Department
    shifts: list[PlannedShift]
    overrides: dict[int, Override]
    covers: list[Cover]


def published_between(session: Session, code: str, start: datetime, end: datetime) -> PublishedRota | None:
    """The department's shifts overlapping [start, end) with the overrides laid over them; None when
    there is no such department."""
    department = queries.find_department(session, code)
    if department is None:
        return None
    rows = shifts_between(session, department.id, start, end)
    overrides = queries.overrides_between(session, [department.id], start, end)[department.id]
    by_id = {override.id: override for override in overrides}
    covers = [
        cover
        for cover in apply_overrides([queries.shift_info(row) for row in rows], overrides)
        if cover.start < end and start < cover.end
    ]
    shifts = []
    for row in rows:
        mine = [
            cover
            for cover in covers
            if cover.override is not None
            and by_id[cover.override].replaces_phone == row.phone
            and cover.rank == row.start_at
            and cover.role == row.role
        ]
        shifts.append(PlannedShift(row, mine))
    return PublishedRota(department, shifts, by_id, covers)
