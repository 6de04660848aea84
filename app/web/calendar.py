"""The calendar feeds themselves: GET /calendar/<token>.ics, no login, the token is the credential.

A calendar app cannot log in or carry a CSRF token, and only reads. An unknown and a
revoked token get the same plain 404, so the answer tells nothing about which tokens
ever existed. The path is blanked in every log line (app.logs); nothing here logs it.
"""

from __future__ import annotations

from flask import Response
from sqlalchemy.exc import OperationalError

from app.data.db import session_scope
from app.services.feeds import feed_calendar, find_feed
from app.web import bp
from app.web.guard import now
from app.web.setup import csrf

# A calendar app looks again within minutes: a revoked feed or a new override should show
# soon, and no shared cache should keep what the secret address gave.
CACHE = "private, max-age=300"


@bp.get("/calendar/<token>.ics")
@csrf.exempt
def calendar_feed(token: str) -> Response:
    moment = now()
    with session_scope() as db:
        feed = find_feed(db, token, moment)
        if feed is None:
            return _not_found()
        if db.dirty:  # its use is noted, at most once a minute
            try:
                db.commit()
            except OperationalError:
                # A busy database must not cost the doctor the calendar: the note waits for the next fetch.
                db.rollback()
        body = feed_calendar(db, feed, moment)
        code = feed.department.code
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = f'inline; filename="linje72-{code}.ics"'
    response.headers["Cache-Control"] = CACHE
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _not_found() -> Response:
    response = Response("Not found\n", status=404, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response
