"""What every console view needs: the permission check, the clock, and the audit record."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import abort, current_app, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import Session

from app.data.models import User
from app.services import audit
from app.values.access import Permission

F = TypeVar("F", bound=Callable[..., Any])


def requires(permission: Permission) -> Callable[[F], F]:
    """Only a logged-in account whose role allows `permission` (302 to login, else 403)."""

    def decorate(view: F) -> F:
        @wraps(view)
        @login_required
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not current_user.can(permission):
                abort(403)
            return view(*args, **kwargs)

        return cast(F, guarded)

    return decorate


def now() -> datetime:
    moment: datetime = current_app.config["CLOCK"]()
    return moment


def address() -> str:
    return request.remote_addr or ""


def record(session: Session, action: str, target: str, detail: str = "") -> None:
    """Record what the logged-in account did or saw, from where."""
    user = session.get(User, current_user.user_id)
    audit.record(session, now(), action, user=user, target=target, detail=detail, address=address())


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path on this console (an SMS link's form), never another site."""
    if not target:
        return url_for("web.front")
    parts = urlsplit(target)
    # Only a path of our own: no scheme or host ("https://evil", "//evil"), no backslash tricks.
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
    ):
        return url_for("web.front")
    return target
