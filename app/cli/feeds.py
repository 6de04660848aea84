"""Calendar feeds from the command line: make one (its address printed once), list, revoke."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from app.data.db import session_scope
from app.services import audit
from app.services.feeds import FeedRefused, add_feed, feed_url, feeds_of, revoke_feed
from app.values.times import local_minute


@click.group("feed")
def feed() -> None:
    """Calendar feeds of the rota (iCalendar addresses for a doctor or a department)."""


@feed.command("add")
@click.argument("department")
@click.option(
    "--phone", default=None, help="The person's number on the rota; without it, the department's feed."
)
@click.option(
    "--name", default="", help="What the feed is called (default: the person's or department's name)."
)
@with_appcontext
def add(department: str, phone: str | None, name: str) -> None:
    """Make a feed for DEPARTMENT's rota, or one person's shifts in it; print its address once."""
    now = current_app.config["CLOCK"]()
    try:
        with session_scope(write=True) as session:
            record, token = add_feed(session, department, phone, name, now, actor="command line")
            audit.record(
                session,
                now,
                audit.CHANGE,
                actor="command line",
                target=f"calendar feed {record.id}",
                detail=f"made for {department} {record.phone or 'whole department'}",
            )
            feed_id, label = record.id, record.name
    except FeedRefused as exc:
        click.echo(f"linje72: {exc}", err=True)
        sys.exit(1)
    click.echo(f"Calendar feed {feed_id} ({department}: {label}). Its address, shown once:")
    click.echo(feed_url(current_app.config["LINJE72_PUBLIC_URL"], token))


@feed.command("list")
@with_appcontext
def list_command() -> None:
    """List the feeds: id, department, for whom, made, last used, revoked."""
    now = current_app.config["CLOCK"]()
    with session_scope(write=True) as session:
        feeds = feeds_of(session, None)
        for record in feeds:
            used = local_minute(record.last_used_at) if record.last_used_at else "never"
            state = f"revoked {local_minute(record.revoked_at)}" if record.revoked_at else "active"
            who = f"{record.name} {record.phone}" if record.phone else f"{record.name} (whole department)"
            click.echo(
                f"{record.id:>4}  {record.department.code:<10} {who:<40} "
                f"made {local_minute(record.created_at)} by {record.created_by}  used {used}  {state}"
            )
        # The list names staff and their numbers: reading it is recorded like the console's page.
        audit.record(
            session,
            now,
            audit.VIEW,
            actor="command line",
            target="calendar feeds",
            detail=f"{len(feeds)} feeds",
        )
    if not feeds:
        click.echo("No calendar feeds.")


@feed.command("revoke")
@click.argument("feed_id", type=int)
@with_appcontext
def revoke(feed_id: int) -> None:
    """Revoke feed FEED_ID: its address answers 404 from now on."""
    now = current_app.config["CLOCK"]()
    try:
        with session_scope(write=True) as session:
            record = revoke_feed(session, feed_id, now)
            audit.record(
                session,
                now,
                audit.CHANGE,
                actor="command line",
                target=f"calendar feed {feed_id}",
                detail=f"revoked ({record.department.code})",
            )
    except FeedRefused as exc:
        click.echo(f"linje72: {exc}", err=True)
        sys.exit(1)
    click.echo(f"Revoked calendar feed {feed_id}.")
