"""Bearer tokens with scopes: 401 without a valid token, 403 without the scope.

The token is checked on the request's one database session, which the endpoint then
uses (`api_session()`): one connection and one transaction per request, not one for
the check and another for the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import current_app, g, request
from flask_smorest import abort
from sqlalchemy.orm import Session

from app.data.db import session_scope, statements_commit, will_write
from app.services.tokens import find_token

F = TypeVar("F", bound=Callable[..., Any])


def requires_scope(scope: str, *alternatives: str, write: bool = False) -> Callable[[F], F]:
    """Let the view run only for a live token with `scope` (or one of the `alternatives`), inside
    the request's session.

    With `write`, the session's transaction is one that writes (see `session_scope`)
    and commits when the view returns.
    """

    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization", "")
            kind, _, token = header.partition(" ")
            if kind.lower() != "bearer" or not token.strip():
                abort(401, message="give the calling system's token: Authorization: Bearer <token>")
            # A reading request needs no transaction: each statement commits on its own.
            with session_scope(write=write, autocommit=not write) as session:
                live = find_token(session, token.strip(), current_app.config["CLOCK"]())
                if live is None:
                    abort(401, message="the token is not valid (unknown or revoked)")
                assert live is not None
                scopes = live.scopes
                g.api_caller = live.name
                if live.use_noted:  # at most once a minute; committed whatever the view does
                    session.commit()
                    if write:
                        will_write(session)
                    else:
                        statements_commit(session)
                if not {scope, *alternatives} & set(scopes):
                    wanted = " or ".join(repr(name) for name in (scope, *alternatives))
                    abort(403, message=f"the token's scopes ({', '.join(scopes)}) do not include {wanted}")
                g.api_session = session
                try:
                    return view(*args, **kwargs)
                finally:
                    g.pop("api_session", None)

        return cast(F, guarded)

    return decorate


def api_session() -> Session:
    """The request's session, opened by `requires_scope` (read-only unless it was asked to write)."""
    session: Session = g.api_session
    return session
