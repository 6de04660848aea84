"""The hospital feeds' code tables: the mapping file's, and our own department codes."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.config import FeedMappings
from app.data import queries
from app.intake.hl7v2 import FeedMaps


def feed_maps(session: Session, mappings: FeedMappings) -> FeedMaps:
    """Return the code tables a feed is read with: the mapping file's and the departments in the database."""
    return FeedMaps(
        departments=dict(mappings.departments),
        dispositions=dict(mappings.dispositions),
        own_departments=queries.department_codes(session),
    )


def unknown_targets(maps: FeedMaps) -> list[str]:
    """Return a line for each mapping to a department code that is not in the database."""
    return [
        f"[departments] {code!r} maps to {ours!r}, which is not a department here "
        "(import it first: linje72 import departments FILE)"
        for code, ours in sorted(maps.departments.items())
        if ours not in maps.own_departments
    ]
