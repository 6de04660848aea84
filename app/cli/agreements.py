"""`linje72 agreements show`: each regional agreement's effective rules and its departments."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from app.data import queries
from app.data.db import session_scope
from app.data.models import Department
from app.services.agreements import (
    DEFAULT_AGREEMENT,
    all_agreements,
    default_agreement,
    departments_under,
    own_calendar,
)
from routing import Agreement


@click.group("agreements")
def agreements() -> None:
    """The regional agreements the departments run under."""


@agreements.command("show")
@click.argument("code", required=False)
@with_appcontext
def show(code: str | None) -> None:
    """Print each agreement's effective rules (or one agreement's) and the departments under it.

    The deployment's own settings come first, as the agreement `default` of the departments
    that have none.
    """
    policy = current_app.config["POLICY"]
    with session_scope() as session:
        found: list[tuple[Agreement, list[Department]]] = []
        if code in (None, DEFAULT_AGREEMENT):
            found.append((default_agreement(policy), list(departments_under(session, None))))
        found += [
            (queries.agreement_rules(row, policy.calendar), departments)
            for row, departments in all_agreements(session)
            if code is None or row.code == code
        ]
        if code is not None and not found:
            click.echo(f"linje72: no agreement {code!r} (linje72 import agreements FILE.toml)", err=True)
            sys.exit(2)
        for number, (rules, departments) in enumerate(found):
            if number:
                click.echo("")
            for line in _described(rules, departments):
                click.echo(line)


def _described(rules: Agreement, departments: list[Department]) -> list[str]:
    """The agreement's effective rules, one per line, and the departments under it."""
    hours = int(rules.window.total_seconds() // 3600)
    short = int(rules.short_stay.total_seconds() // 3600)
    exception = "; nursing-home residents' short stays included" if rules.nursing_home_short_stays else ""
    who = (
        "nursing callers the department's nurses first, doctors the doctors"
        if rules.nurse_first
        else "every caller the doctors"
    )
    calendar = rules.calendar
    closed = ", ".join(f"{month:02d}-{day:02d}" for month, day in sorted(calendar.closed_days)) or "none"
    half = (
        ", ".join(f"{month:02d}-{day:02d} from {at:%H:%M}" for month, day, at in sorted(calendar.half_days))
        or "none"
    )
    under = [f"{d.code} (own: {own_calendar(d)})" if own_calendar(d) else d.code for d in departments]
    return [
        f"{rules.code}: {rules.name} ({rules.line_name})",
        f"  window: {hours} hours after discharge",
        f"  ages: {f'{rules.min_age} and over' if rules.min_age is not None else 'all'}",
        f"  residents of: {', '.join(sorted(rules.municipalities)) or 'every municipality'}",
        f"  stays shorter than {short} hours open nothing{exception}",
        f"  psychiatric departments: {'included' if rules.psychiatry else 'not included'}",
        f"  who answers: {who}",
        f"  after-hours line: {rules.after_hours_number}; fallback: {rules.fallback_number}",
        f"  day hours: {calendar.day_hours}; closed days: {closed}; half days: {half}",
        f"  departments: {', '.join(under) or 'none yet'}",
    ]
