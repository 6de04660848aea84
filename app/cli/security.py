"""The security events, for the administrators (the console's audit pages come later)."""

from __future__ import annotations

from datetime import timedelta

import click
from flask.cli import with_appcontext

from app.cli.times import now_at, option_time
from app.data.db import session_scope
from app.services.misuse import recent_events
from app.values.times import local_iso


@click.group("security")
def security() -> None:
    """What the misuse limits did: lockouts, look-up limits, failed unit codes."""


@security.command("events")
@click.option("--since", help="From this ISO 8601 time (default: the last 24 hours).")
@with_appcontext
def events(since: str | None) -> None:
    """List the security events, oldest first: when, what, which number or unit, which call."""
    start = option_time(since, "--since") or now_at(None) - timedelta(hours=24)
    with session_scope() as session:
        rows = recent_events(session, start)
        for event in rows:
            who = event.caller_number or "withheld"
            unit = f" ({event.caller.organisation})" if event.caller else ""
            detail = f"  {event.detail}" if event.detail else ""
            click.echo(
                f"{local_iso(event.at)}  {event.kind:<17} {who}{unit}  {event.call_sid or '-'}{detail}"
            )
    if not rows:
        click.echo(f"No security events since {local_iso(start)}.")
