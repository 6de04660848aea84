"""The health councils (sundhedsråd): the region's grouping of municipalities, as configured."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.data.models import HealthCouncil
from app.intake.health_councils import HealthCouncilRecord


@dataclass(frozen=True)
class Replaced:
    councils: int
    municipalities: int
    removed: int  # memberships the file no longer has


def replace_health_councils(session: Session, records: Sequence[HealthCouncilRecord]) -> Replaced:
    """Make the file the whole configuration: every membership it lacks goes (flush only)."""
    before = {(row.council, row.municipality) for row in session.scalars(select(HealthCouncil))}
    after = {(record.council, record.municipality) for record in records}
    session.execute(delete(HealthCouncil))
    session.flush()
    session.add_all(HealthCouncil(council=c, municipality=m) for c, m in sorted(after))
    session.flush()
    return Replaced(len({c for c, _ in after}), len(after), len(before - after))


def health_councils(session: Session) -> dict[str, str]:
    """Each configured municipality's council."""
    return {row.municipality: row.council for row in session.scalars(select(HealthCouncil))}
