"""Key rotation: rewrite every stored CPR number under the current secret, in batches, resumably.

Each CPR ciphertext carries the id of the key it was made with (app.values.cpr). While
LINJE72_SECRET_KEY_PREVIOUS is set the vault opens both keys' ciphertexts and a look-up tries
both keys' lookup keys, so calls keep finding patients while `rotate` rewrites the stays and
calls that are not under the current key yet: decrypt, encrypt again, new lookup key, and the
patient's record moved to the new lookup key with them. Each batch is one short transaction;
rows are selected by "not under the current key", so a rotation stopped anywhere resumes where
it was, and a row rewritten twice is the same row. Export pseudonyms are not touched (their key
does not rotate: LINJE72_PSEUDONYM_KEY). The callers' voice messages are encrypted with the same
keys (app.services.voice) and rewritten the same way, in smaller batches (each is audio).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, LargeBinary, func, literal_column, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.data.models import Contact, Discharge, Patient, VoiceMessage
from app.services.voice import AUDIO
from app.values.cpr import KEY_ID_BYTES, TAG, CprVault, VaultKeyMissing, describe_key

log = logging.getLogger("linje72.keys")

BATCH = 500
# Voice messages per transaction: a minute of audio is about a megabyte.
VOICE_BATCH = 20
Scope = Callable[[], AbstractContextManager[Session]]
# What is stored under the keys: the stays' and the calls' CPR numbers (the call's patient, kept for
# follow-up), and the callers' voice messages.
STORES: tuple[tuple[str, Any, InstrumentedAttribute[Any]], ...] = (
    ("stays", Discharge, Discharge.cpr_encrypted),
    ("calls", Contact, Contact.patient_cpr_encrypted),
    ("voice messages", VoiceMessage, VoiceMessage.audio_encrypted),
)
VOICE = STORES[2][0]


class KeysMissing(RuntimeError):
    """Stored CPR numbers that no key the vault holds opens; the message says which keys to give."""


@dataclass
class RotationReport:
    stays: int = 0  # stays rewritten under the current key
    calls: int = 0  # calls whose patient's CPR number was rewritten
    patients: int = 0  # patients' records moved to the current key's lookup key
    voice_messages: int = 0  # voice messages whose audio was rewritten
    left: int = 0  # rows still not under the current key (written meanwhile by a process on the old key)


def _prefix(column: InstrumentedAttribute[Any], length: int) -> ColumnElement[Any]:
    # Literal positions, not parameters: PostgreSQL matches a GROUP BY expression by its text.
    return func.substr(column, literal_column("1"), literal_column(str(int(length))), type_=LargeBinary)


def _not_current(column: InstrumentedAttribute[Any], vault: CprVault) -> ColumnElement[bool]:
    return column.is_not(None) & (_prefix(column, len(TAG) + KEY_ID_BYTES) != vault.current_tag)


def left_to_rotate(session: Session, vault: CprVault) -> dict[str, int]:
    """Return, per store, how many CPR numbers are not under the current key yet."""
    return {
        name: session.scalar(select(func.count()).select_from(model).where(_not_current(column, vault))) or 0
        for name, model, column in STORES
    }


def missing_keys(session: Session, vault: CprVault) -> str | None:
    """Return what the vault lacks to open every stored CPR number, or None when it opens them all.

    Names key ids and counts only. Ciphertexts tagged with a key the vault does not hold are
    counted by tag; those from before key ids are all from one key, so one of them is tried.
    """
    problems = []
    for name, model, column in STORES:
        tag = _prefix(column, len(TAG))
        tagged = select(_prefix(column, len(TAG) + KEY_ID_BYTES), func.count()).where(
            column.is_not(None), tag == TAG, _prefix(column, len(TAG) + KEY_ID_BYTES).not_in(vault.known_tags)
        )
        for prefix, count in session.execute(tagged.group_by(_prefix(column, len(TAG) + KEY_ID_BYTES))):
            sample = session.scalar(
                select(column).where(_prefix(column, len(TAG) + KEY_ID_BYTES) == prefix).limit(1)
            )
            if sample is not None and not _opens(vault, sample, name):
                problems.append(f"{count} {name} under {describe_key(sample)}")
        old = select(column).where(column.is_not(None), tag != TAG).order_by(model.id).limit(1)
        sample = session.scalar(old)
        if sample is not None and not _opens(vault, sample, name):
            count = session.scalar(
                select(func.count()).select_from(model).where(column.is_not(None), tag != TAG)
            )
            problems.append(f"{count} {name} under {describe_key(sample)}")
    if not problems:
        return None
    previous = f"key id {vault.previous_key_id}" if vault.previous_key_id else "not set"
    return (
        f"stored CPR numbers need a key this deployment does not have: {'; '.join(problems)}. "
        f"LINJE72_SECRET_KEY is key id {vault.key_id}, LINJE72_SECRET_KEY_PREVIOUS is {previous}. "
        "Set LINJE72_SECRET_KEY_PREVIOUS to the secret they were written with and run "
        "`linje72 rotate-key` to the end before removing it"
    )


def _opens(vault: CprVault, blob: bytes, store: str) -> bool:
    """Whether the vault holds the key `blob` was made with (a CPR number, or a voice message's audio)."""
    try:
        if store == VOICE:
            vault.decrypt_bytes(blob, AUDIO)
        else:
            vault.decrypt(blob)
    except VaultKeyMissing:
        return False
    return True


def rotate_stays(session: Session, vault: CprVault, after: int, batch: int = BATCH) -> tuple[int, int, int]:
    """Rewrite up to `batch` stays with ids above `after` not under the current key.

    Returns (stays rewritten, patients moved, the last id looked at). Raises VaultKeyMissing
    for a stay no key opens (nothing of the batch is kept: the caller's transaction rolls back).
    """
    rows = session.execute(
        select(Discharge.id, Discharge.cpr_encrypted, Discharge.cpr_lookup)
        .where(Discharge.id > after, _not_current(Discharge.cpr_encrypted, vault))
        .order_by(Discharge.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
    ).all()
    if not rows:
        return 0, 0, after
    changes, moved = [], {}
    for row_id, blob, lookup in rows:
        number = vault.decrypt(blob)
        new_lookup = vault.lookup_key(number)
        changes.append({"id": row_id, "cpr_encrypted": vault.encrypt(number), "cpr_lookup": new_lookup})
        if lookup != new_lookup:
            moved[lookup] = new_lookup
    session.execute(update(Discharge), changes)
    return len(rows), _move_patients(session, moved), rows[-1][0]


def _move_patients(session: Session, moved: dict[str, str]) -> int:
    """Move the patients' records from their old lookup keys to the new ones (and merges pointing at them)."""
    if not moved:
        return 0
    lookups = [*moved, *moved.values()]
    patients = {
        p.cpr_lookup: p for p in session.scalars(select(Patient).where(Patient.cpr_lookup.in_(lookups)))
    }
    count = 0
    for old, new in moved.items():
        before = patients.get(old)
        if before is None:
            continue
        after = patients.get(new)
        if after is None:
            before.cpr_lookup = new
            patients[new] = before
        else:  # a feed wrote the patient under the new key meanwhile: its facts win, the old fill gaps
            after.deceased_at = after.deceased_at or before.deceased_at
            after.merged_into = after.merged_into or before.merged_into
            session.delete(before)
        del patients[old]
        count += 1
    for patient in session.scalars(select(Patient).where(Patient.merged_into.in_(list(moved)))):
        patient.merged_into = moved[patient.merged_into or ""]
    session.flush()
    return count


def rotate_calls(session: Session, vault: CprVault, after: int, batch: int = BATCH) -> tuple[int, int]:
    """Rewrite the patient's CPR number of up to `batch` calls above id `after`; return (count, last id).

    Calls in progress that a webhook holds are skipped, and found again by the next pass.
    """
    return _rotate_column(
        session,
        Contact.patient_cpr_encrypted,
        vault,
        lambda blob: vault.encrypt(vault.decrypt(blob)),
        after,
        batch,
    )


def rotate_voice(session: Session, vault: CprVault, after: int, batch: int = VOICE_BATCH) -> tuple[int, int]:
    """Rewrite the audio of up to `batch` voice messages above id `after`; return (count, last id)."""
    return _rotate_column(
        session,
        VoiceMessage.audio_encrypted,
        vault,
        lambda blob: vault.encrypt_bytes(vault.decrypt_bytes(blob, AUDIO), AUDIO),
        after,
        batch,
    )


def _rotate_column(
    session: Session,
    column: InstrumentedAttribute[Any],
    vault: CprVault,
    again: Callable[[bytes], bytes],
    after: int,
    batch: int,
) -> tuple[int, int]:
    """Re-encrypt `column` of up to `batch` rows above id `after` not under the current key (rows a
    webhook holds are skipped, and found by the next pass); return (count, last id)."""
    model = column.class_
    rows = session.execute(
        select(model.id, column)
        .where(model.id > after, _not_current(column, vault))
        .order_by(model.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
    ).all()
    if not rows:
        return 0, after
    changes = [{"id": row_id, column.key: again(blob)} for row_id, blob in rows if blob is not None]
    session.execute(update(model), changes)
    return len(rows), rows[-1][0]


Progress = Callable[[str, int, int], None]


def rotate(
    scope: Scope,
    vault: CprVault,
    *,
    batch: int = BATCH,
    progress: Progress | None = None,
    passes: int = 3,
    rest: Callable[[], None] | None = None,
) -> RotationReport:
    """Rewrite every stored CPR number under the current key, a batch per transaction.

    Raises KeysMissing, before changing anything, when a stored number needs a key the vault
    does not hold. `progress(store, done, left)` is told after each batch. Rows skipped because
    a call held them, or written meanwhile by a process still on the old key, are taken by a
    further pass (at most `passes`); any still left are in the report. `rest()` is called between
    batches: a pause there lets webhooks waiting for SQLite's one write lock have it (it has no fair queue).
    """
    with scope() as session:
        problem = missing_keys(session, vault)
        left = left_to_rotate(session, vault)
    if problem:
        raise KeysMissing(problem)
    report = RotationReport()
    for _ in range(passes):
        if not any(left.values()):
            break
        after = 0
        while True:
            with scope() as session:
                done, patients, after = rotate_stays(session, vault, after, batch)
            report.stays += done
            report.patients += patients
            left["stays"] = max(0, left["stays"] - done)
            if progress and done:
                progress("stays", report.stays, left["stays"])
            if done < batch:
                break
            if rest:
                rest()
        after = 0
        while True:
            with scope() as session:
                done, after = rotate_calls(session, vault, after, batch)
            report.calls += done
            left["calls"] = max(0, left["calls"] - done)
            if progress and done:
                progress("calls", report.calls, left["calls"])
            if done < batch:
                break
            if rest:
                rest()
        after = 0
        voice_batch = min(batch, VOICE_BATCH)
        while True:
            with scope() as session:
                done, after = rotate_voice(session, vault, after, voice_batch)
            report.voice_messages += done
            left[VOICE] = max(0, left[VOICE] - done)
            if progress and done:
                progress(VOICE, report.voice_messages, left[VOICE])
            if done < voice_batch:
                break
            if rest:
                rest()
        with scope() as session:
            left = left_to_rotate(session, vault)
    report.left = sum(left.values())
    log.info(
        "key rotation to key id %s: %d stays, %d calls, %d voice messages, %d patients rewritten; %d left",
        vault.key_id,
        report.stays,
        report.calls,
        report.voice_messages,
        report.patients,
        report.left,
    )
    return report
