"""Commands for the stored data: the schema, file imports, the contact export."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from app.cli.times import option_time
from app.data.db import get_engine, session_scope
from app.data.migrate import upgrade
from app.services.export import write_contacts
from app.services.imports import IMPORT_KINDS, RotaOptions, import_path
from app.services.rota import Author
from routing import ROLES


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create or upgrade the database schema to the newest migration."""
    upgrade(get_engine())
    click.echo("The database schema is up to date.")


# A file this large takes long enough to check that a terminal shows how far it has come.
PROGRESS_FROM = 2000


@click.command("import")
@click.argument("kind", type=click.Choice(IMPORT_KINDS))
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--yes",
    is_flag=True,
    help="Publish a rota that leaves gaps, has warnings, or removes more shifts than it adds.",
)
@click.option("--sheet", metavar="NAME", help="A rota workbook's sheet (default: the first).")
@click.option("--department", metavar="CODE", help="The department of a rota calendar's (.ics) events.")
@click.option("--role", type=click.Choice(ROLES), help="The role of a rota calendar's (.ics) events.")
@with_appcontext
def import_file(
    kind: str, path: Path, yes: bool, sheet: str | None, department: str | None, role: str | None
) -> None:
    """Import a departments, callers, rota, discharges or hl7 file (all or nothing).

    A rota is a CSV file, an Excel workbook (.xlsx, --sheet to choose a sheet) or a
    calendar (.ics, with --department and --role). It replaces, per department, the
    shifts inside the period the file covers for it, as a new rota version; the
    periods, the changes and the gaps it leaves are shown, and a file with gaps or
    warnings, or that would remove more shifts than it adds, is published only when
    confirmed (or with --yes). An hl7 file holds ADT messages (MLLP-framed, or each
    starting at its MSH segment), read with the mapping file LINJE72_FEED_MAPPINGS names.
    """
    given = {"--sheet": sheet, "--department": department, "--role": role}
    if kind != "rota" and any(value is not None for value in given.values()):
        named = ", ".join(option for option, value in given.items() if value is not None)
        raise click.UsageError(f"{named}: only for a rota file")
    vault = current_app.extensions["linje72.vault"]
    now = current_app.config["CLOCK"]()
    shown: list[str] = []

    def confirm(plan: list[str]) -> bool:
        for line in plan:
            click.echo(line, err=": warning: " in line)
        shown.extend(plan)
        if yes:
            return True
        if not sys.stdin.isatty():
            return False
        return click.confirm("Publish this rota, with what is shown above?", default=False)

    options = RotaOptions(sheet, department, role) if kind == "rota" else None
    with session_scope(write=True) as session, ProgressBar(f"Checking {path.name}") as progress:
        result = import_path(
            session,
            kind,
            path,
            vault=vault,
            now=now,
            confirm=confirm,
            options=options,
            progress=progress,
            policy=current_app.config["POLICY"],
            author=Author(f"command line ({_user()})", "cli"),
            mappings=current_app.config["FEED_MAPPINGS"],
        )
        progress.close()
        for line in result.plan:
            if line not in shown and line not in result.warnings:
                click.echo(line)
        for warning in result.warnings:
            if warning not in shown:
                click.echo(warning, err=True)
        if result.errors:
            # Leaving the scope by the exit below rolls the session back.
            for error in result.errors:
                click.echo(error, err=True)
            click.echo(f"{path}: refused; nothing was changed.", err=True)
            sys.exit(1)
    click.echo(f"{path}: {result.summary}")


class ProgressBar:
    """A progress bar on standard error, for a large file checked at a terminal; nothing otherwise."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._bar: Any = None
        self._done = 0

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            if total <= PROGRESS_FROM or not sys.stderr.isatty():
                return
            self._bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self._bar.__enter__()
        self._bar.update(done - self._done)
        self._done = done

    def close(self) -> None:
        """End the bar, so that what follows starts on a line of its own."""
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


@click.group("contacts")
def contacts() -> None:
    """The contact log: one record per call."""


@contacts.command("export")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json")
@click.option("--since", help="Only contacts started at or after this ISO 8601 time.")
@with_appcontext
def export_contacts(fmt: str, since: str | None) -> None:
    """Write every contact, oldest first, to standard output."""
    start = option_time(since, "--since")
    with session_scope() as session:
        write_contacts(session, sys.stdout, fmt, since=start)


def _user() -> str:
    """The operating-system account that runs the command, as the version's author."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown user"
