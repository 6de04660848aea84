"""Regional agreements: stored from a file, and the rules each department runs under.

A department without an agreement runs under the deployment's own settings (the
default agreement, as before agreements existed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Policy
from app.data.models import Agreement as StoredAgreement
from app.data.models import Department
from app.intake.agreements import AgreementRecord
from app.services.directory import Upserted
from routing.agreement import DEFAULT_AGREEMENT

__all__ = ["DEFAULT_AGREEMENT"]


def upsert_agreements(session: Session, records: Sequence[AgreementRecord]) -> Upserted:
    """Add or update agreements by code (flush only)."""
    existing = {a.code: a for a in session.scalars(select(StoredAgreement))}
    added = 0
    for record in records:
        row = existing.get(record.code)
        if row is None:
            row = StoredAgreement(code=record.code)
            session.add(row)
            added += 1
        for key, value in asdict(record).items():
            setattr(row, key, value)
    session.flush()
    return Upserted(len(records), added)


def agreement_codes(session: Session) -> set[str]:
    return set(session.scalars(select(StoredAgreement.code)))


def agreement_names(session: Session) -> dict[str, str]:
    """Every stored agreement's name by its code, in code order (the console's filters and titles)."""
    rows = session.execute(select(StoredAgreement.code, StoredAgreement.name).order_by(StoredAgreement.code))
    return {code: name for code, name in rows}


def all_agreements(session: Session) -> list[tuple[StoredAgreement, list[str]]]:
    """Every agreement with the departments under it, by code."""
    departments: dict[str, list[str]] = {}
    for code, agreement in session.execute(
        select(Department.code, Department.agreement).order_by(Department.code)
    ):
        if agreement:
            departments.setdefault(agreement, []).append(code)
    rows = session.scalars(select(StoredAgreement).order_by(StoredAgreement.code))
    return [(row, departments.get(row.code, [])) for row in rows]


@dataclass(frozen=True)
class Wording:
    """How the prompts name the line and its window under one agreement."""

    line: str  # what the Danish prompts call the line, e.g. "96-timers-linjen"
    hours: int  # the window, e.g. 96 ("intet aktivt 96-timers behandlingsansvar")


def default_wording(policy: Policy) -> Wording:
    """The deployment's own wording (no agreement): the line named by its configured window."""
    hours = int(policy.window.total_seconds() // 3600)
    return Wording(f"{hours}-timers-linjen", hours)


def wording(session: Session, policy: Policy, code: str | None) -> Wording:
    """The wording of agreement `code` (the deployment's own for None or an unknown code)."""
    if code:
        words = select(StoredAgreement.line_name, StoredAgreement.window_hours)
        found = session.execute(words.where(StoredAgreement.code == code)).first()
        if found is not None:
            return Wording(found.line_name, found.window_hours)
    return default_wording(policy)
