"""The console's calendar feeds page: list, make (the address shown once) and revoke feeds."""

from __future__ import annotations

from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.data.db import session_scope
from app.services import audit
from app.services.directory import all_departments_listed
from app.services.feeds import FeedRefused, add_feed, feed_url, feeds_of, people_on_rota, revoke_feed
from app.values.access import Permission
from app.web import bp
from app.web.guard import now, record, requires


@bp.get("/calendar-feeds")
@requires(Permission.MANAGE_FEEDS)
def calendar_feeds() -> str:
    return _page(request.args.get("department", ""))


def _page(chosen: str, created_url: str = "") -> str:
    """The list of feeds, and the form for a new one for the chosen department's people."""
    visible = current_user.visible
    with session_scope(write=True) as db:
        departments = [d for d in all_departments_listed(db) if visible is None or d.code in visible]
        if not chosen and len(departments) == 1:
            chosen = departments[0].code
        people = []
        if chosen:
            try:
                people = people_on_rota(db, chosen, now(), allowed=visible)
            except FeedRefused:
                abort(404)  # never another department's people, nor whether it exists
        feeds = feeds_of(db, visible)
        record(
            db,
            audit.VIEW,
            "calendar feeds",
            f"{len(feeds)} feeds; {len(people)} people of {chosen or 'no department'}",
        )
        return render_template(
            "calendar_feeds.html",
            feeds=feeds,
            departments=departments,
            chosen=chosen,
            people=people,
            created_url=created_url,
        )


@bp.post("/calendar-feeds")
@requires(Permission.MANAGE_FEEDS)
def add_calendar_feed() -> Response:
    form = request.form
    code = form.get("department", "")
    phone = form.get("phone", "") or None
    try:
        with session_scope(write=True) as db:
            feed, token = add_feed(
                db,
                code,
                phone,
                form.get("name", ""),
                now(),
                actor=current_user.email,
                allowed=current_user.visible,
            )
            record(
                db,
                audit.CHANGE,
                f"calendar feed {feed.id}",
                f"made for {code} {feed.phone or 'whole department'}",
            )
    except FeedRefused as exc:
        flash(_("The feed was not made: %(problem)s", problem=str(exc)), "error")
        return redirect(url_for("web.calendar_feeds", department=code))
    response = make_response(_page(code, feed_url(current_app.config["LINJE72_PUBLIC_URL"], token)))
    # The address is shown this once: no browser cache keeps the page.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/calendar-feeds/<int:feed_id>/revoke")
@requires(Permission.MANAGE_FEEDS)
def revoke_calendar_feed(feed_id: int) -> Response:
    try:
        with session_scope(write=True) as db:
            feed = revoke_feed(db, feed_id, now(), allowed=current_user.visible)
            record(db, audit.CHANGE, f"calendar feed {feed.id}", f"revoked ({feed.department.code})")
    except FeedRefused:
        abort(404)
    flash(_("The feed is revoked: its address shows nothing any more."), "info")
    return redirect(url_for("web.calendar_feeds"))
