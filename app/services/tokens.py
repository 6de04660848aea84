"""API tokens: one per calling system, shown once, stored as a hash, with scopes, revocable."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
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


@dataclass(frozen=True)
class LiveToken:
    """A token that is valid now: its name, its scopes, and whether its use was just noted."""

    name: str
    scopes: tuple[str, ...]
    use_noted: bool


# Built once: the check runs on every API request, and needs no ORM object.
_BY_DIGEST = select(
    ApiToken.id, ApiToken.name, ApiToken.scopes, ApiToken.revoked_at, ApiToken.last_used_at
).where(ApiToken.token_hash == bindparam("digest"))


def find_token(session: Session, token: str, now: datetime) -> LiveToken | None:
    """Return the live token for a bearer token, or None (unknown or revoked), from the database.

    Its use is noted at most once a minute (a busy switchboard's every request need
    not write): then `use_noted` is true, and the caller commits.
    """
    if not token.startswith(PREFIX):
        return None
    row = session.execute(_BY_DIGEST, {"digest": _digest(token)}).first()
    if row is None or row.revoked_at is not None:
        return None
    due = row.last_used_at is None or now - row.last_used_at > USE_NOTED_EVERY
    if due:
        session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
    return LiveToken(row.name, tuple(row.scopes.split()), use_noted=due)


def list_tokens(session: Session) -> Sequence[ApiToken]:
    return session.scalars(select(ApiToken).order_by(ApiToken.name)).all()


def revoke_token(session: Session, name: str, now: datetime) -> ApiToken:
    record = session.scalars(select(ApiToken).where(ApiToken.name == name)).first()
    if record is None:
        raise TokenError(f"no token named {name!r}")
    record.revoked_at = record.revoked_at or now
    return record
