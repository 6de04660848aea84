"""The scheduler command: exactly one such process per deployment."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from schedules.jobs import SchedulerRunning, run_scheduler


@click.command("scheduler")
@with_appcontext
def scheduler() -> None:
    """Run the scheduled jobs (exactly one such process per deployment)."""
    try:
        run_scheduler(current_app._get_current_object())  # type: ignore[attr-defined]
    except SchedulerRunning as exc:
        click.echo(f"linje72: {exc}", err=True)
        sys.exit(1)
