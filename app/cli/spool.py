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
    if not found.depth and not found.held:
        click.echo("The spool is empty.")
        return
    if found.depth:
        since = local_iso(found.oldest) if found.oldest else "?"
        click.echo(
            f"{found.depth} records of {found.calls} calls wait in the spool; the oldest from {since}."
        )
    if found.held:
        click.echo(
            f"{found.held} records of {found.held_calls} calls are held aside, older than "
            f"{outage.MAX_AGE.days} days: check the calls are not in the contact log, then "
            "`linje72 spool drain --held`."
        )


@spool.command("drain")
@click.option(
    "--held",
    "include_held",
    is_flag=True,
    help="Write the records held aside too (older than the spool keeps by itself), once checked by hand.",
)
@with_appcontext
def drain(include_held: bool) -> None:
    """Write the spooled calls into the database (safe to run again, or beside the scheduler's drain)."""
    app = current_app
    try:
        report = outage.drain(
            app.instance_path,
            lambda: session_scope(write=True),
            app.config["POLICY"],
            app.extensions["linje72.vault"],
            app.config["CLOCK"](),
            include_held=include_held,
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
    if report.held:
        click.echo(
            f"{report.held} records older than {outage.MAX_AGE.days} days were held aside, not written "
            "(see the log and `linje72 spool status`).",
            err=True,
        )
    if report.left:
        click.echo(f"{report.left} calls could not be written and stay in the spool (see the log).", err=True)
        sys.exit(1)
