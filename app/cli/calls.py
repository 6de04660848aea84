"""Commands about calls: who a call would ring, and a call played on the terminal."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from app import create_app
from app.cli.times import clock_at, now_at
from app.data import queries
from app.data.db import dispose, session_scope
from app.services.directory import department_chain_at
from app.services.export import contact_record
from app.values.times import local_iso
from ivr.simulator import TerminalPhone, play_call


@click.command("oncall")
@click.argument("department")
@click.option("--at", help="An ISO 8601 time instead of now.")
@with_appcontext
def oncall(department: str, at: str | None) -> None:
    """Show who a call about DEPARTMENT would ring now (or --at), in order."""
    now = now_at(at)
    with session_scope() as session:
        decision = department_chain_at(session, current_app.config["POLICY"], department, now)
    if decision is None:
        click.echo(f"linje72: no department with code {department!r}", err=True)
        sys.exit(1)
    click.echo(f"{department} at {local_iso(now)}: {decision.period.value} time")
    for place, target in enumerate(decision.targets, start=1):
        who = f" ({target.name})" if target.name else ""
        click.echo(f"{place}. {target.number}  {target.label}{who}")


@click.command("call")
@click.option("--from", "from_number", required=True, help="The number you call from.")
@click.option("--at", help="Pretend the call happens at this ISO 8601 time.")
def call(from_number: str, at: str | None) -> None:
    """Call the line from the terminal: prompts as text, keys from the keyboard (a test call)."""
    overrides: dict[str, Any] = {}
    clock = clock_at(at)
    if clock is not None:
        overrides["CLOCK"] = clock
    app = create_app(overrides)
    # The terminal is the phone here: keep the service's own log lines out of the prompts.
    logging.getLogger("linje72").setLevel(logging.WARNING)
    click.echo(f"Calling the 72-hour line from {from_number} at {local_iso(app.config['CLOCK']())}")
    with app.app_context():
        trace = play_call(app, from_number, TerminalPhone(), test_call=True)
        with session_scope() as session:
            row = queries.contact_by_sid(session, trace.call_sid)
            record = contact_record(row) if row else None
    dispose(app)
    click.echo("\nThe call has ended. The contact record (a test call: never followed up or counted):")
    click.echo(json.dumps(record, ensure_ascii=False, indent=2))
