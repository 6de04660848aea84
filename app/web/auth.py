"""Logging in and out, and choosing the console's language."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from app.data.db import session_scope
from app.data.models import User
from app.services import audit
from app.services.accounts import authenticate
from app.web import bp
from app.web.forms import LanguageForm, LoginForm, LogoutForm
from app.web.guard import address, now, safe_next
from app.web.setup import LANGUAGES
from app.web.user import ConsoleUser


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    following = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(following)
    form = LoginForm()
    if form.validate_on_submit():
        with session_scope(write=True) as db:
            result = authenticate(
                db, form.email.data or "", form.password.data or "", current_app.config["CONSOLE"], now()
            )
            if result.user is None:
                audit.record(
                    db,
                    now(),
                    audit.LOGIN_FAILED,
                    actor=(form.email.data or "")[:254],
                    detail=result.reason,
                    address=address(),
                )
            else:
                audit.record(db, now(), audit.LOGIN, user=result.user, address=address())
                console_user = ConsoleUser.of(result.user)
        if result.user is None:
            messages = {
                "locked": _("Too many failed logins: the account is locked for a while. Try again later."),
                "disabled": _("This account is disabled. Ask an administrator."),
            }
            flash(messages.get(result.reason, _("Wrong email or password.")), "error")
            return render_template("login.html", form=form, following=following), 401
        session.clear()
        session.permanent = True
        login_user(console_user)
        return redirect(following)
    return render_template("login.html", form=form, following=following)


@bp.post("/logout")
def logout() -> Response:
    if current_user.is_authenticated and LogoutForm().validate_on_submit():
        with session_scope(write=True) as db:
            audit.record(db, now(), audit.LOGOUT, user=db.get(User, current_user.user_id), address=address())
        logout_user()
        session.clear()
    return redirect(url_for("web.login"))


@bp.post("/language")
def language() -> Response:
    """Switch the console's language: kept on the account, or in the session before login."""
    form = LanguageForm()
    chosen = form.language.data if form.validate_on_submit() else None
    if chosen in LANGUAGES:
        if current_user.is_authenticated:
            with session_scope(write=True) as db:
                user = db.get(User, current_user.user_id)
                if user is not None:
                    user.language = chosen
                    audit.record(
                        db,
                        now(),
                        audit.CHANGE,
                        user=user,
                        target="language",
                        detail=chosen,
                        address=address(),
                    )
        session["language"] = chosen
    # Back to the page it was chosen on: named by the form, as browsers send no Referer here.
    return redirect(safe_next(request.form.get("next")))
