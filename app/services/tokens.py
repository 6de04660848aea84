"""API tokens: one per calling system, shown once, stored as a hash, with scopes, revocable."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.data.models import ApiToken

SCOPES = ("read", "rota", "discharges")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}")
PREFIX = "l72_"
USE_NOTED_EVERY = timedelta(minutes=1)


class TokenError(ValueError):
    """The token cannot be made or changed as asked; the message says why."""


def _digest(token: str) -> str:
    # A token is 256 random bits: a plain hash cannot be reversed, unlike a CPR number's.
    return hashlib.sha256(token.encode()).hexdigest()


def add_token(session: Session, name: str, scopes: Sequence[str], now: datetime) -> tuple[ApiToken, str]:
    """Create a token; return the record and the token itself (shown once, never stored)."""
    if not NAME.fullmatch(name):
        raise TokenError(f"a token's name is letters, digits, spaces, '.', '_' or '-', not {name!r}")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise TokenError(f"scopes must be among {', '.join(SCOPES)}, not {', '.join(unknown) or 'none'}")
    if session.scalars(select(ApiToken).where(ApiToken.name == name)).first() is not None:
        raise TokenError(f"a token named {name!r} exists already (revoke it, or choose another name)")
    token = PREFIX + secrets.token_urlsafe(32)
    record = ApiToken(
        name=name, token_hash=_digest(token), scopes=" ".join(sorted(set(scopes))), created_at=now
    )
    session.add(record)
    session.flush()
    return record, token


def find_token(session: Session, token: str, now: datetime) -> ApiToken | None:
    """Return the live token record for a bearer token (and note its use), or None."""
    if not token.startswith(PREFIX):
        return None
    record = session.scalars(select(ApiToken).where(ApiToken.token_hash == _digest(token))).first()
    if record is None or record.revoked_at is not None:
        return None
    # Noted at most once a minute: a busy switchboard's every request need not write.
    if record.last_used_at is None or now - record.last_used_at > USE_NOTED_EVERY:
        record.last_used_at = now
    return record


def list_tokens(session: Session) -> Sequence[ApiToken]:
    return session.scalars(select(ApiToken).order_by(ApiToken.name)).all()


def revoke_token(session: Session, name: str, now: datetime) -> ApiToken:
    record = session.scalars(select(ApiToken).where(ApiToken.name == name)).first()
    if record is None:
        raise TokenError(f"no token named {name!r}")
    record.revoked_at = record.revoked_at or now
    return record
