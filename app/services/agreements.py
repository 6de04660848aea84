"""Regional agreements: stored from a file or the console, and the rules each department runs under.

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
from app.values.days import show_closed_days, show_half_days
from routing.agreement import DEFAULT_AGREEMENT, Agreement

__all__ = ["DEFAULT_AGREEMENT"]


class AgreementRefused(Exception):
    """The agreement cannot be changed so; `message` says why (for the person who asked)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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


@dataclass(frozen=True)
class Saved:
    """What saving one agreement did: whether it is new, and each field changed as `key: old → new`."""

    added: bool
    changes: list[str]


def save_agreement(session: Session, record: AgreementRecord) -> Saved:
    """Store one checked agreement as the import does (flush only); say what changed, for the audit log."""
    row = find_agreement(session, record.code)
    before = asdict(record_of(row)) if row is not None else {}
    upsert_agreements(session, [record])
    changes = [
        f"{key}: {_shown(before[key]) if key in before else '–'} → {_shown(value)}"
        for key, value in asdict(record).items()
        if key != "code" and (key not in before or before[key] != value)
    ]
    return Saved(row is None, changes)


def delete_agreement(session: Session, code: str) -> None:
    """Remove an agreement no department runs under (flush only); raise AgreementRefused otherwise."""
    row = find_agreement(session, code)
    if row is None:
        raise AgreementRefused(f"no agreement {code}")
    under = departments_under(session, code)
    if under:
        names = ", ".join(d.code for d in under)
        raise AgreementRefused(f"{code} still has departments under it: {names}. Move them first.")
    session.delete(row)
    session.flush()


def record_of(row: StoredAgreement) -> AgreementRecord:
    """The stored agreement as the file or the form gives it (to fill the form, to compare)."""
    return AgreementRecord(
        code=row.code,
        name=row.name,
        after_hours_number=row.after_hours_number,
        fallback_number=row.fallback_number,
        line_name=row.line_name,
        window_hours=row.window_hours,
        min_age=row.min_age,
        municipalities=list(row.municipalities),
        short_stay_hours=row.short_stay_hours,
        nursing_home_short_stays=row.nursing_home_short_stays,
        psychiatry=row.psychiatry,
        day_hours=row.day_hours,
        closed_days=list(row.closed_days),
        half_days=dict(row.half_days),
    )


def _shown(value: object) -> str:
    if isinstance(value, dict):
        return show_half_days(value) or "none"
    if isinstance(value, list):
        return ", ".join(value) or "none"
    return "none" if value is None else str(value)


def find_agreement(session: Session, code: str) -> StoredAgreement | None:
    return session.scalar(select(StoredAgreement).where(StoredAgreement.code == code))


def agreement_codes(session: Session) -> set[str]:
    return set(session.scalars(select(StoredAgreement.code)))


def agreement_names(session: Session) -> dict[str, str]:
    """Every stored agreement's name by its code, in code order (the console's filters and titles)."""
    rows = session.execute(select(StoredAgreement.code, StoredAgreement.name).order_by(StoredAgreement.code))
    return {code: name for code, name in rows}


def departments_under(session: Session, code: str | None) -> Sequence[Department]:
    """The departments running under agreement `code` (None: under the deployment's settings), by code."""
    condition = Department.agreement.is_(None) if code is None else Department.agreement == code
    return session.scalars(select(Department).where(condition).order_by(Department.code)).all()


def all_agreements(session: Session) -> list[tuple[StoredAgreement, list[Department]]]:
    """Every agreement with the departments under it, by code."""
    departments: dict[str, list[Department]] = {}
    for department in session.scalars(select(Department).order_by(Department.code)):
        if department.agreement:
            departments.setdefault(department.agreement, []).append(department)
    rows = session.scalars(select(StoredAgreement).order_by(StoredAgreement.code))
    return [(row, departments.get(row.code, [])) for row in rows]


def own_calendar(department: Department) -> str:
    """The department's own calendar on top of its agreement's, in words ("" when it has none)."""
    parts = []
    if department.closed_days:
        parts.append(f"closed {show_closed_days(department.closed_days)}")
    if department.half_days:
        half = ", ".join(f"{day} from {at}" for day, at in sorted(department.half_days.items()))
        parts.append(f"half days {half}")
    return "; ".join(parts)


def default_agreement(policy: Policy) -> Agreement:
    """The rules of a department without an agreement: the deployment's own settings (the window,
    the numbers and the calendar of the configuration; the Capital Region's model otherwise)."""
    hours = int(policy.window.total_seconds() // 3600)
    return Agreement(
        code=DEFAULT_AGREEMENT,
        name="the deployment's own settings",
        after_hours_number=policy.after_hours_number,
        fallback_number=policy.fallback_number,
        calendar=policy.calendar,
        line_name=f"{hours}-timers-linjen",
        window=policy.window,
    )


@dataclass(frozen=True)
class Wording:
    """How the prompts name the line and its window under one agreement."""

    line: str  # what the Danish prompts call the line, e.g. "96-timers-linjen"
    hours: int  # the window, e.g. 96 ("intet aktivt 96-timers behandlingsansvar")


def default_wording(policy: Policy) -> Wording:
    """The deployment's own wording (no agreement): the line named by its configured window."""
    rules = default_agreement(policy)
    return Wording(rules.line_name, int(rules.window.total_seconds() // 3600))


# A session's wordings by agreement code, once read: an agreement may change between requests,
# not within one.
WORDINGS = "linje72.wordings"


def remember_wording(session: Session, code: str, line: str, hours: int) -> None:
    """Keep an agreement's wording read along with something else, for the rest of the session."""
    session.info.setdefault(WORDINGS, {})[code] = Wording(line, hours)


def wording(session: Session, policy: Policy, code: str | None) -> Wording:
    """The wording of agreement `code` (the deployment's own for None or an unknown code)."""
    known: dict[str | None, Wording] = session.info.setdefault(WORDINGS, {})
    if code in known:
        return known[code]
    found = None
    if code:
        words = select(StoredAgreement.line_name, StoredAgreement.window_hours)
        found = session.execute(words.where(StoredAgreement.code == code)).first()
    known[code] = Wording(found.line_name, found.window_hours) if found else default_wording(policy)
    return known[code]
