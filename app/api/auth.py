"""Bearer tokens with scopes: 401 without a valid token, 403 without the scope."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import current_app, g, request
from flask_smorest import abort

from app.data.db import session_scope
from app.services.tokens import find_token

F = TypeVar("F", bound=Callable[..., Any])


def requires_scope(scope: str, *alternatives: str) -> Callable[[F], F]:
    """Let the view run only for a live token with `scope` (or one of the `alternatives`)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization", "")
            kind, _, token = header.partition(" ")
            if kind.lower() != "bearer" or not token.strip():
                abort(401, message="give the calling system's token: Authorization: Bearer <token>")
            with session_scope() as session:
                record = find_token(session, token.strip(), current_app.config["CLOCK"]())
                if record is None:
                    abort(401, message="the token is not valid (unknown or revoked)")
                assert record is not None
                scopes = record.scopes.split()
                g.api_caller = record.name
                if session.dirty:  # its use is noted (at most once a minute)
                    session.commit()
            if not {scope, *alternatives} & set(scopes):
                wanted = " or ".join(repr(name) for name in (scope, *alternatives))
                abort(403, message=f"the token's scopes ({', '.join(scopes)}) do not include {wanted}")
            return view(*args, **kwargs)

        return cast(F, guarded)

    return decorate
