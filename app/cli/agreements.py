"""`linje72 agreements show`: each regional agreement's effective rules and its departments."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from app.data import queries
from app.data.db import session_scope
from app.services.agreements import all_agreements, own_calendar


@click.group("agreements")
def agreements() -> None:
    """The regional agreements the departments run under."""


@agreements.command("show")
@click.argument("code", required=False)
@with_appcontext
def show(code: str | None) -> None:
    """Print each agreement's effective rules (or one agreement's) and the departments under it."""
    base = current_app.config["POLICY"].calendar
    with session_scope() as session:
        found = [(row, codes) for row, codes in all_agreements(session) if code is None or row.code == code]
        if code is not None and not found:
            click.echo(f"linje72: no agreement {code!r} (linje72 import agreements FILE.toml)", err=True)
            sys.exit(2)
        if not found:
            click.echo("No agreements: every department runs under the deployment's settings.")
        for row, departments in found:
            rules = queries.agreement_rules(row, base)
            hours = int(rules.window.total_seconds() // 3600)
            click.echo(f"{row.code}: {row.name} ({rules.line_name})")
            click.echo(f"  window: {hours} hours after discharge")
            click.echo(f"  ages: {f'{rules.min_age} and over' if rules.min_age is not None else 'all'}")
            residents = ", ".join(sorted(rules.municipalities)) or "every municipality"
            click.echo(f"  residents of: {residents}")
            short = int(rules.short_stay.total_seconds() // 3600)
            exception = (
                "; nursing-home residents' short stays included" if rules.nursing_home_short_stays else ""
            )
            click.echo(f"  stays shorter than {short} hours open nothing{exception}")
            click.echo(f"  psychiatric departments: {'included' if rules.psychiatry else 'not included'}")
            who = (
                "nursing callers the department's nurses first, doctors the doctors"
                if rules.nurse_first
                else "every caller the doctors"
            )
            click.echo(f"  who answers: {who}")
            click.echo(f"  after-hours line: {rules.after_hours_number}; fallback: {rules.fallback_number}")
            closed = ", ".join(sorted(row.closed_days)) or "none"
            half = ", ".join(f"{day} from {at}" for day, at in sorted(row.half_days.items())) or "none"
            click.echo(f"  day hours: {rules.calendar.day_hours}; closed days: {closed}; half days: {half}")
            under = [f"{d.code} (own: {own_calendar(d)})" if own_calendar(d) else d.code for d in departments]
            click.echo(f"  departments: {', '.join(under) or 'none yet'}")
