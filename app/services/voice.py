"""Voice messages: what a caller says after nobody answered, kept in our own encrypted store.

The provider records the message (`<Record>`); its callback names the recording, which is then
copied here (fetched with the account's credentials, encrypted with the CPR vault's keys) and
deleted at the provider. A failed or slow copy or delete is left to the scheduler, which tries
again every minute (`copy_pending`). Staff play a message only through the app. Nothing here logs
a URL or a CPR number; the network is never asked inside a database transaction.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.data.models import Contact, FollowUp, VoiceMessage
from app.messaging import RecordingError, Recordings
from app.values.cpr import CprVault

log = logging.getLogger("linje72.voice")

# Bound to every ciphertext of a message's audio: it cannot be opened as anything else.
AUDIO = b"linje72 voice message"
RECORDING_SID = re.compile(r"RE[0-9a-f]{32}")
ACCOUNT_SID = re.compile(r"AC[0-9a-f]{32}")
# The provider's longest recording (the prompt says a minute; <Record maxLength> holds it to that).
LONGEST = 3600
# How long the scheduler keeps trying to copy a message; after that the provider's copy is deleted
# uncopied (a call back is owed within hours, and the provider must not keep it for good).
KEEP_TRYING = timedelta(days=7)
# Messages the scheduler handles in one run, so that a run stays short.
PER_RUN = 50

Scope = Callable[[], AbstractContextManager[Session]]


def note_recording(
    session: Session, contact: Contact, recording_sid: str, account_sid: str, seconds: str, now: datetime
) -> VoiceMessage | None:
    """Record that the caller left a message (from the `<Record>` action or the recording's callback).

    Only a call that ended unanswered was offered one; anything else, a malformed id, or a second
    recording on the same call is ignored (None). Told twice, the message is the same one.
    """
    if contact.outcome != "unanswered" or contact.test_call:
        return None
    if not RECORDING_SID.fullmatch(recording_sid) or not ACCOUNT_SID.fullmatch(account_sid):
        return None
    length = min(int(seconds), LONGEST) if seconds.isascii() and seconds.isdigit() else 0
    message = session.scalars(select(VoiceMessage).where(VoiceMessage.contact_id == contact.id)).first()
    if message is None:
        message = VoiceMessage(
            contact=contact,
            recording_sid=recording_sid,
            account_sid=account_sid,
            recorded_at=now,
            seconds=length,
        )
        session.add(message)
        session.flush()
        return message
    if message.recording_sid != recording_sid:
        log.warning("call %s: a second recording %s was not kept", contact.call_sid, recording_sid)
        return None
    message.seconds = length or message.seconds
    message.account_sid = message.account_sid or account_sid
    return message


def copy_message(
    scope: Scope,
    recordings: Recordings,
    vault: CprVault,
    message_id: int,
    now: datetime,
    *,
    copy: bool = True,
) -> bool:
    """Copy a message's audio into our store, then delete the provider's copy; return whether both are done.

    Each database step is its own short transaction, the provider is asked between them. A failure
    is noted on the message (and logged) for the scheduler's next try. With `copy` False the
    provider's copy is deleted without copying (the scheduler gave up copying it).
    """
    with scope() as session:
        message = session.get(VoiceMessage, message_id)
        if message is None or not message.account_sid:
            return False
        account, sid = message.account_sid, message.recording_sid
        needs_copy, needs_delete = message.stored_at is None, message.provider_deleted_at is None
    try:
        if needs_copy and copy:
            audio = recordings.fetch(account, sid)
            sealed = vault.encrypt_bytes(audio.body, AUDIO)
            with scope() as session:
                session.execute(
                    update(VoiceMessage)
                    .where(VoiceMessage.id == message_id, VoiceMessage.stored_at.is_(None))
                    .values(
                        audio_encrypted=sealed, content_type=audio.content_type, stored_at=now, error=None
                    )
                )
            needs_copy = False
        if needs_delete and (not needs_copy or not copy):  # never delete what we could still copy
            recordings.delete(account, sid)
            with scope() as session:
                session.execute(
                    update(VoiceMessage)
                    .where(VoiceMessage.id == message_id, VoiceMessage.provider_deleted_at.is_(None))
                    .values(provider_deleted_at=now, error=None)
                )
            needs_delete = False
    except RecordingError as exc:
        log.warning("voice message %d (%s): %s; the scheduler tries again", message_id, sid, exc)
        with scope() as session:
            session.execute(
                update(VoiceMessage).where(VoiceMessage.id == message_id).values(error=str(exc)[:200])
            )
        return False
    return not needs_delete


def copy_pending(scope: Scope, recordings: Recordings, vault: CprVault, now: datetime) -> int:
    """Copy the messages not stored yet and delete at the provider those stored; return how many finished.

    Safe to run at any time and beside the webhook: each step changes only what is still undone.
    """
    since = now - KEEP_TRYING
    with scope() as session:
        to_copy = set(
            session.scalars(
                select(VoiceMessage.id)
                .where(
                    VoiceMessage.stored_at.is_(None),
                    VoiceMessage.account_sid.is_not(None),
                    VoiceMessage.recorded_at >= since,
                )
                .order_by(VoiceMessage.id)
                .limit(PER_RUN)
            )
        )
        to_delete = set(
            session.scalars(
                select(VoiceMessage.id)
                .where(
                    VoiceMessage.provider_deleted_at.is_(None),
                    VoiceMessage.account_sid.is_not(None),
                    VoiceMessage.stored_at.is_not(None) | (VoiceMessage.recorded_at < since),
                )
                .order_by(VoiceMessage.id)
                .limit(PER_RUN)
            )
        )
    done = 0
    for message_id in sorted(to_copy | to_delete):
        done += copy_message(scope, recordings, vault, message_id, now, copy=message_id in to_copy)
    return done


@dataclass(frozen=True)
class Playback:
    """A follow-up task's message as staff hear it, and what the audit record names."""

    audio: bytes
    content_type: str
    follow_up_id: int
    patient_ref: str | None
    seconds: int


def message_for_follow_up(
    session: Session, vault: CprVault, follow_up_id: int, visible: Collection[str] | None
) -> Playback | None:
    """Return the task's stored message, decrypted, when the account may see the task's department.

    None when there is no such task, it is another department's (`visible` None: every department;
    a task without a department is for those only), or no message was stored.
    """
    task = session.get(FollowUp, follow_up_id)
    if task is None:
        return None
    if visible is not None and (task.department is None or task.department.code not in visible):
        return None
    message = session.scalars(select(VoiceMessage).where(VoiceMessage.contact_id == task.contact_id)).first()
    if message is None or message.audio_encrypted is None:
        return None
    return Playback(
        audio=vault.decrypt_bytes(message.audio_encrypted, AUDIO),
        content_type=message.content_type,
        follow_up_id=task.id,
        patient_ref=task.contact.patient_ref,
        seconds=message.seconds,
    )
