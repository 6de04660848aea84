"""`linje72 spool`: the calls kept in the local spool during a database outage."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from app.data.db import session_scope
from app.services import spool as outage
from app.values.times import local_iso


@click.group("spool")
def spool() -> None:
    """The calls answered during a database outage, kept on this machine until written."""


@spool.command("status")
@with_appcontext
def status() -> None:
    """Say how many records wait in this machine's spool, for how many calls, and since when."""
    found = outage.status(current_app.instance_path)
    if not found.depth:
        click.echo("The spool is empty.")
        return
    since = local_iso(found.oldest) if found.oldest else "?"
    click.echo(f"{found.depth} records of {found.calls} calls wait in the spool; the oldest from {since}.")


@spool.command("drain")
@with_appcontext
def drain() -> None:
    """Write the spooled calls into the database (safe to run again, or beside the scheduler's drain)."""
    app = current_app
    try:
        report = outage.drain(
            app.instance_path,
            lambda: session_scope(write=True),
            app.config["POLICY"],
            app.extensions["linje72.vault"],
            app.config["CLOCK"](),
        )
    except outage.UNREACHABLE as exc:
        click.echo(
            f"linje72: the database cannot be reached ({type(exc).__name__}); the spool is kept.", err=True
        )
        sys.exit(1)
    if report.busy:
        click.echo("Another process is draining the spool now.")
        return
    click.echo(
        f"Wrote {report.records} records of {report.calls} calls"
        + (f" ({report.repeated} written before)" if report.repeated else "")
        + "."
    )
    if report.dropped:
        click.echo(
            f"{report.dropped} records older than {outage.MAX_AGE.days} days were dropped, not written "
            "(see the log).",
            err=True,
        )
    if report.left:
        click.echo(f"{report.left} calls could not be written and stay in the spool (see the log).", err=True)
        sys.exit(1)
