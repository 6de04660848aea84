"""The `linje72` command line: a Flask CLI group with the product's commands.

The commands are registered on the group itself, so `linje72 --help` lists them
even before any setting is made; each command loads the app (and its settings)
only when it runs.
"""

from __future__ import annotations

import sys
from typing import Any

import click
from flask import Flask
from flask.cli import FlaskGroup, ScriptInfo

from app import create_app
from app.cli.agreements import agreements
from app.cli.alerts import coverage, planner_phone
from app.cli.calls import call, oncall
from app.cli.data import contacts, import_file, init_db
from app.cli.demo import demo, seed_demo_command
from app.cli.feeds import feed
from app.cli.hl7 import mllp
from app.cli.jobs import scheduler
from app.cli.report import report
from app.cli.retention import pseudonym_key, purge, rotate_key
from app.cli.security import security
from app.cli.spool import spool
from app.cli.tokens import token
from app.cli.users import user
from app.config import ConfigError
from app.data.db import dispose

COMMANDS = (
    agreements,
    init_db,
    import_file,
    contacts,
    oncall,
    call,
    seed_demo_command,
    demo,
    scheduler,
    security,
    user,
    token,
    coverage,
    planner_phone,
    feed,
    purge,
    rotate_key,
    pseudonym_key,
    mllp,
    report,
    spool,
)


class CliGroup(FlaskGroup):
    """A Flask CLI group that lists its commands without an app and names a bad setting in one line."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        # FlaskGroup would load the app to find more commands, and print a traceback
        # when a setting is missing; every command of ours is on the group already.
        return sorted(super(FlaskGroup, self).list_commands(ctx))

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        finally:
            # An app this group made for the command: its pooled connections end with it
            # (an app handed in, as a test runner does, belongs to whoever made it).
            info = ctx.find_object(ScriptInfo)
            app = getattr(info, "_loaded_app", None) if info else None
            if app is not None and info is not None and info.create_app is self.create_app:
                dispose(app)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().main(*args, **kwargs)
        except ConfigError as exc:
            click.echo(f"linje72: configuration error: {exc}", err=True)
            sys.exit(2)


cli = CliGroup(
    create_app=lambda: create_app(),
    help=(
        "Linje 72: the unified 72-hour number.\n\nSettings come from the environment, or from the "
        "instance folder's linje72.env (the demo writes one), or from the file LINJE72_SETTINGS_FILE names."
    ),
)
for _command in COMMANDS:
    cli.add_command(_command)


def main() -> None:
    cli.main(prog_name="linje72")


def register_commands(app: Flask) -> None:
    """Add the product's commands to the app's CLI (so `flask` has them too)."""
    for command in COMMANDS:
        if command.name not in app.cli.commands:
            app.cli.add_command(command)
