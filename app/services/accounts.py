"""Console accounts: add, list, disable, reset a password, and log in with a lockout."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.config import Console
from app.data.models import Department, User
from app.values.access import EMAIL, NEEDS_DEPARTMENTS, ConsoleRole, password_problem

_hasher = PasswordHasher()
# Verified against when the email is unknown, so that a wrong email costs the same time.
_NOBODY = _hasher.hash(secrets.token_urlsafe(24))


class AccountError(ValueError):
    """The account cannot be made or changed as asked; the message says why."""


def normalised_email(email: str) -> str:
    return email.strip().lower()


def find_user(session: Session, email: str) -> User | None:
    query = select(User).where(User.email == normalised_email(email)).options(selectinload(User.departments))
    return session.scalars(query).first()


def get_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id, options=[selectinload(User.departments)])


def add_user(
    session: Session,
    email: str,
    role: str,
    department_codes: Sequence[str],
    password: str,
    now: datetime,
    language: str = "da",
) -> User:
    """Create an account (flush only); raise AccountError naming what is wrong."""
    address = normalised_email(email)
    if not EMAIL.fullmatch(address):
        raise AccountError(f"not an email address: {email!r}")
    try:
        console_role = ConsoleRole(role)
    except ValueError:
        raise AccountError(f"no role {role!r} (roles: {', '.join(ConsoleRole)})") from None
    problem = password_problem(password)
    if problem:
        raise AccountError(problem)
    if find_user(session, address) is not None:
        raise AccountError(f"an account for {address} exists already")
    departments = _departments(session, department_codes)
    if console_role in NEEDS_DEPARTMENTS and not departments:
        raise AccountError(f"a {console_role} account needs at least one department (--department CODE)")
    user = User(
        email=address,
        password_hash=_hasher.hash(password),
        role=console_role.value,
        language=language,
        created_at=now,
        departments=departments,
    )
    session.add(user)
    session.flush()
    return user


def _departments(session: Session, codes: Sequence[str]) -> list[Department]:
    wanted = sorted(set(codes))
    found = {d.code: d for d in session.scalars(select(Department).where(Department.code.in_(wanted)))}
    missing = [code for code in wanted if code not in found]
    if missing:
        raise AccountError(f"no department with code {', '.join(repr(c) for c in missing)}")
    return [found[code] for code in wanted]


def list_users(session: Session) -> Sequence[User]:
    return session.scalars(select(User).order_by(User.email).options(selectinload(User.departments))).all()


def disable_user(session: Session, email: str) -> User:
    user = _existing(session, email)
    user.disabled = True
    user.session_version += 1  # any open session ends
    return user


def reset_password(session: Session, email: str, password: str) -> User:
    """Set a new password, lift a lockout, and end the account's open sessions."""
    problem = password_problem(password)
    if problem:
        raise AccountError(problem)
    user = _existing(session, email)
    user.password_hash = _hasher.hash(password)
    user.failed_logins = 0
    user.locked_until = None
    user.session_version += 1
    return user


def _existing(session: Session, email: str) -> User:
    user = find_user(session, email)
    if user is None:
        raise AccountError(f"no account for {normalised_email(email)}")
    return user


def generate_password() -> str:
    """Return a strong password, readable enough to type once."""
    return "-".join(secrets.token_urlsafe(6) for _ in range(3))


@dataclass(frozen=True)
class Login:
    """The result of a login attempt: the user, or why not (never whether the email exists)."""

    user: User | None
    reason: str = ""  # "", "wrong", "locked", "disabled"


def authenticate(session: Session, email: str, password: str, console: Console, now: datetime) -> Login:
    """Check a login; count failures and lock the account for a while after too many (flush only)."""
    user = find_user(session, email)
    if user is None:
        _verify(_NOBODY, password)
        return Login(None, "wrong")
    if user.locked_until is not None and user.locked_until > now:
        return Login(None, "locked")
    if not _verify(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= console.login_failures:
            user.locked_until = now + console.login_lock
            user.failed_logins = 0
            return Login(None, "locked")
        return Login(None, "wrong")
    if user.disabled:
        return Login(None, "disabled")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return Login(user)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def count_users(session: Session) -> int:
    return session.scalar(select(func.count(User.id))) or 0


def sso_account(
    session: Session, email: str, role: str, department_codes: Sequence[str], now: datetime
) -> User:
    """The account of someone the region's identity provider vouches for: made on the first
    login, its role and departments kept in step with the provider's groups; a disabled
    account stays disabled (AccountError)."""
    user = find_user(session, email)
    if user is None:
        # No password of ours: this account logs in through the region only.
        return add_user(
            session, email, role, department_codes, generate_password() + generate_password(), now
        )
    if user.disabled:
        raise AccountError("this account is disabled")
    user.role = role
    user.departments = _departments(session, department_codes)
    user.last_login_at = now
    return user
