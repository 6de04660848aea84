"""Read a health councils file (`health_council,municipality`): which municipalities each
health council (sundhedsråd) groups, one municipality a row.

A municipality may be in one council only; a repeat is an error on the later row, naming the
council of the first.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.intake.table import Problems, read_csv

COLUMNS = ("health_council", "municipality")


@dataclass(frozen=True)
class HealthCouncilRecord:
    council: str
    municipality: str
    row: int = 0


def read_health_councils(text: str, problems: Problems) -> list[HealthCouncilRecord]:
    """Return the file's memberships; problems go to `problems`."""
    table = read_csv(text, problems, COLUMNS)
    if table is None:
        return []
    _columns, rows = table
    first: dict[str, tuple[int, str]] = {}
    records = []
    for row in rows:
        council = row.name("health_council", required=True, max_length=100)
        municipality = row.name("municipality", required=True, max_length=100)
        if municipality is not None:
            key = municipality.casefold()
            if key in first:
                line, where = first[key]
                row.problem(
                    "municipality",
                    f"{municipality} is already in {where} (row {line}): a municipality is in one council",
                )
            elif council is not None:
                first[key] = (row.number, council)
        if row.ok and council and municipality:
            records.append(HealthCouncilRecord(council, municipality, row.number))
    if not rows:
        problems.file("no rows: give one row per municipality")
    return records
