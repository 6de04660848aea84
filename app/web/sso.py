"""Single sign-on with the region's identity provider (OpenID Connect, authorization code flow)."""

from __future__ import annotations

from typing import Any

from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Flask, abort, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_user
from werkzeug.wrappers import Response

from app.config import Sso
from app.data.db import session_scope
from app.services import audit
from app.services.accounts import AccountError, sso_account
from app.values.access import role_for_groups
from app.web import bp
from app.web.guard import address, now, safe_next
from app.web.user import ConsoleUser


def init_sso(app: Flask, sso: Sso) -> None:
    """Register the region's provider on this app (each app its own registry)."""
    oauth = OAuth(app)
    app.extensions["linje72.oauth"] = oauth
    oauth.register(
        "region",
        client_id=sso.client_id,
        client_secret=sso.client_secret,
        server_metadata_url=f"{sso.issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid email profile"},
    )


def _client() -> Any:
    return current_app.extensions["linje72.oauth"].region


def _sso() -> Sso:
    sso: Sso | None = current_app.config["CONSOLE"].sso
    if sso is None:
        abort(404)
    return sso


@bp.get("/login/sso")
def sso_login() -> Response:
    _sso()
    session["after_login"] = safe_next(request.args.get("next"))
    callback = current_app.config["LINJE72_PUBLIC_URL"].rstrip("/") + url_for("web.sso_callback")
    response: Response = _client().authorize_redirect(callback)
    return response


@bp.get("/login/sso/callback")
def sso_callback() -> Response:
    sso = _sso()
    try:
        token = _client().authorize_access_token()
    except OAuthError as exc:
        flash(_("The region's login did not succeed. Try again, or log in with a password."), "error")
        return _refused(f"provider: {exc.error}")
    claims = token.get("userinfo") or {}
    email = str(claims.get("email") or "")
    groups = claims.get(sso.groups_claim) or []
    grant = role_for_groups(sso.roles, [str(group) for group in groups] if isinstance(groups, list) else [])
    if not email or grant is None:
        flash(_("Your account at the region gives no role in Linje 72. Ask an administrator."), "error")
        return _refused(f"no role for {email or 'an account without email'}", email)
    try:
        with session_scope(write=True) as db:
            user = sso_account(db, email, grant.role.value, grant.departments, now())
            audit.record(
                db,
                now(),
                audit.LOGIN,
                user=user,
                detail=f"single sign-on; group {grant.group}",
                address=address(),
            )
            console_user = ConsoleUser.of(user)
    except AccountError as exc:
        flash(_("This account is disabled. Ask an administrator."), "error")
        return _refused(str(exc), email)
    following = safe_next(session.get("after_login"))
    session.clear()
    session.permanent = True
    login_user(console_user)
    return redirect(following)


def _refused(reason: str, actor: str = "") -> Response:
    with session_scope(write=True) as db:
        audit.record(
            db,
            now(),
            audit.LOGIN_FAILED,
            actor=actor[:254] or "single sign-on",
            detail=reason,
            address=address(),
        )
    return redirect(url_for("web.login"))
