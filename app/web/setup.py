"""Wire the console into the app: sessions, logins, CSRF protection, languages."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal
from flask import Flask, session
from flask_babel import Babel, get_locale, get_translations
from flask_babel import gettext as _
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from app.config import console_from
from app.data.db import session_scope
from app.services.accounts import get_user
from app.values.cpr import derive_key
from app.values.times import local_clock, local_minute
from app.web.user import ConsoleUser
from routing.calendar import COPENHAGEN

LANGUAGES = ("da", "en")
csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()


def init_console(app: Flask) -> None:
    """Configure the console's sessions, logins, CSRF protection and translations."""
    console = console_from(app.config)
    app.config["CONSOLE"] = console
    # A key of its own for the session cookie, derived from the one secret.
    app.secret_key = derive_key(app.config["LINJE72_SECRET_KEY"], b"linje72 web session")
    # While the secret is rotated, sessions signed with the old one stay valid (Flask 3.1).
    previous = app.config.get("LINJE72_SECRET_KEY_PREVIOUS")
    app.config["SECRET_KEY_FALLBACKS"] = [derive_key(previous, b"linje72 web session")] if previous else []
    app.config.update(
        SESSION_COOKIE_SECURE=str(app.config["LINJE72_PUBLIC_URL"]).startswith("https://"),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=console.idle,  # renewed on every request: an idle timeout
        SESSION_REFRESH_EACH_REQUEST=True,
        WTF_CSRF_TIME_LIMIT=None,  # the session's own lifetime bounds the token
    )
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "web.login"
    login_manager.login_message = None
    babel.init_app(app, locale_selector=_locale, default_translation_directories="web/translations")
    if console.sso is not None:
        from app.web.sso import init_sso

        init_sso(app, console.sso)
    app.jinja_env.filters["local"] = _local
    app.jinja_env.filters["clock"] = _clock
    app.jinja_env.filters["weekday"] = _weekday
    app.jinja_env.filters["hhmm"] = _hhmm
    app.jinja_env.filters["field"] = _field
    app.jinja_env.filters["iso"] = datetime.fromisoformat
    app.jinja_env.filters["when"] = _when
    app.jinja_env.filters["hours"] = _hours
    app.jinja_env.globals["get_locale"] = get_locale
    app.context_processor(_translations_once)


def _translations_once() -> dict[str, Any]:
    """The page's `_`, `gettext` and `ngettext`, bound to its language's catalogue once a page.

    Flask-Babel's own look the catalogue up again at every call (the request, the locale, the
    domain): "who answers now" translates about 1,800 words for 300 departments, and that was a
    fifth of the page. These behave as Jinja's i18n extension's (newstyle: the text is escaped
    and formatted with the given variables, `num` by default for ngettext).
    """
    translations = get_translations()

    @pass_context
    def gettext(context: Context, text: str, **variables: Any) -> str:
        found = translations.ugettext(text)
        return (Markup(found) if context.eval_ctx.autoescape else found) % variables

    @pass_context
    def ngettext(context: Context, singular: str, plural: str, num: int, **variables: Any) -> str:
        variables.setdefault("num", num)
        found = translations.ungettext(singular, plural, num)
        return (Markup(found) if context.eval_ctx.autoescape else found) % variables

    return {"gettext": gettext, "ngettext": ngettext}


@login_manager.user_loader
def _load_user(user_id: str) -> ConsoleUser | None:
    """Load the session's account; a disabled account or a changed password ends the session."""
    number, _, version = user_id.partition(":")
    if not number.isdigit():
        return None
    with session_scope() as db:
        user = get_user(db, int(number))
        if user is None or user.disabled or str(user.session_version) != version:
            return None
        return ConsoleUser.of(user)


def _locale() -> str:
    if current_user.is_authenticated:
        return str(current_user.language)
    chosen = session.get("language")
    # Danish unless someone chose English: the browser's own preference is often English
    # on a Danish hospital's machines.
    return str(chosen) if chosen in LANGUAGES else "da"


def _clock(moment: datetime | None) -> str:
    """The local time of day to the second, for events within one call."""
    return local_clock(moment) if moment else ""


def _local(moment: datetime | None) -> str:
    return local_minute(moment) if moment else ""


def _weekday(moment: datetime | date | None) -> str:
    """The day's short name and date in the page's language, e.g. 'ons. 25. nov.' (Copenhagen)."""
    if moment is None:
        return ""
    day = moment.astimezone(COPENHAGEN).date() if isinstance(moment, datetime) else moment
    return format_date(day, "EEE d. MMM" if str(get_locale()) == "da" else "EEE d MMM", locale=get_locale())


def _hhmm(moment: datetime | None) -> str:
    return moment.astimezone(COPENHAGEN).strftime("%H:%M") if moment else ""


def _field(moment: datetime | None) -> str:
    """The value a datetime-local input shows: Copenhagen wall-clock time."""
    return moment.astimezone(COPENHAGEN).strftime("%Y-%m-%dT%H:%M") if moment else ""


def _when(moment: datetime | None) -> str:
    """A moment with its weekday, to the minute in Copenhagen, e.g. 'ons. 2026-11-25 15:30'."""
    if moment is None:
        return ""
    day = moment.astimezone(COPENHAGEN).date()
    return f"{format_date(day, 'EEE', locale=get_locale())} {local_minute(moment)}"


def _hours(length: timedelta) -> str:
    """A stretch's length in hours, e.g. '16,5 t'."""
    hours = format_decimal(length / timedelta(hours=1), format="#,##0.#", locale=get_locale())
    return _("%(hours)s h", hours=hours)
