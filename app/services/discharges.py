"""Store the discharges the hospitals report, their CPR numbers encrypted and found by a keyed hash."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from app.data import queries
from app.data.models import Discharge
from app.intake.discharges import DischargeRecord
from app.services.directory import Upserted, find_by
from app.values.cpr import CprVault


def store_discharges(session: Session, vault: CprVault, records: Sequence[DischargeRecord]) -> Upserted:
    """Add or update discharges by their hospital id (flush only); an unknown department is a ValueError."""
    departments = queries.all_departments(session)
    for record in records:
        if record.department not in departments:
            raise ValueError(
                f"discharge {record.external_id!r}: no department with code {record.department!r}"
            )
    existing = find_by(session, Discharge, "external_id", (record.external_id for record in records))
    added = 0
    for record in records:
        lookup = vault.lookup_key(record.cpr)
        discharge = existing.get(record.external_id)
        if discharge is None:
            discharge = Discharge(external_id=record.external_id)
            session.add(discharge)
            added += 1
        if discharge.cpr_lookup != lookup:
            discharge.cpr_lookup = lookup
            discharge.cpr_encrypted = vault.encrypt(record.cpr)
        discharge.department = departments[record.department]
        discharge.discharged_at = record.discharged_at
        discharge.admitted_at = record.admitted_at
        discharge.destination = record.destination
        discharge.municipality = record.municipality
        discharge.gp_phone = record.gp_phone
        discharge.responsibility_until = record.responsibility_until
    session.flush()
    return Upserted(len(records), added)
