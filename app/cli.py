"""The `linje72` command line: a Flask CLI group with the product's commands."""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import select

from app import create_app
from app.config import ConfigError
from app.db import get_engine, new_session, will_write
from app.timeparse import TimeError, local_iso, parse_time


class CliGroup(FlaskGroup):
    """A Flask CLI group that turns a configuration error into one clear line."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().main(*args, **kwargs)
        except ConfigError as exc:
            click.echo(f"linje72: configuration error: {exc}", err=True)
            sys.exit(2)


cli = CliGroup(create_app=lambda: create_app(), help="Linje 72: the unified 72-hour number.")


def main() -> None:
    cli.main(prog_name="linje72")


def register_commands(app: Flask) -> None:
    """Add the product's commands to the app's CLI (so `flask` has them too)."""
    for command in (init_db, import_file, contacts, oncall, seed_demo_command, scheduler):
        app.cli.add_command(command)


def _clock_at(at: str | None) -> Any:
    if at is None:
        return None
    try:
        moment = parse_time(at)
    except TimeError as exc:
        raise click.BadParameter(str(exc), param_hint="--at") from None
    return lambda: moment


def _now(at: str | None) -> datetime:
    clock = _clock_at(at) or current_app.config["CLOCK"]
    now: datetime = clock()
    return now


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create or upgrade the database schema to the newest migration."""
    from app.migrate import upgrade

    upgrade(get_engine())
    click.echo("The database schema is up to date.")


@click.command("import")
@click.argument("kind", type=click.Choice(["departments", "callers", "rota", "discharges"]))
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def import_file(kind: str, path: Path) -> None:
    """Import a departments, callers, rota or discharges file (all or nothing)."""
    from app.imports import import_path

    session = will_write(new_session())
    try:
        result = import_path(
            session,
            kind,
            path,
            vault=current_app.extensions["linje72.vault"],
            now=current_app.config["CLOCK"](),
        )
        if result.errors:
            session.rollback()
            for error in result.errors:
                click.echo(error, err=True)
            click.echo(f"{path}: refused; nothing was changed.", err=True)
            sys.exit(1)
        session.commit()
        click.echo(f"{path}: {result.summary}")
    finally:
        session.close()


@click.group("contacts")
def contacts() -> None:
    """The contact log: one record per call."""


@contacts.command("export")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json")
@click.option("--since", help="Only contacts started at or after this ISO 8601 time.")
@with_appcontext
def export_contacts(fmt: str, since: str | None) -> None:
    """Write every contact, oldest first, to standard output."""
    from app.export import write_contacts

    start = None
    if since:
        try:
            start = parse_time(since)
        except TimeError as exc:
            raise click.BadParameter(str(exc), param_hint="--since") from None
    session = new_session()
    try:
        write_contacts(session, sys.stdout, fmt, since=start)
    finally:
        session.close()


@click.command("oncall")
@click.argument("department")
@click.option("--at", help="An ISO 8601 time instead of now.")
@with_appcontext
def oncall(department: str, at: str | None) -> None:
    """Show who a call about DEPARTMENT would ring now (or --at), in order."""
    from app.services import department_chain_at

    now = _now(at)
    session = new_session()
    try:
        decision = department_chain_at(session, current_app.config["POLICY"], department, now)
    finally:
        session.close()
    if decision is None:
        click.echo(f"linje72: no department with code {department!r}", err=True)
        sys.exit(1)
    click.echo(f"{department} at {local_iso(now)}: {decision.period.value} time")
    for place, target in enumerate(decision.targets, start=1):
        who = f" ({target.name})" if target.name else ""
        click.echo(f"{place}. {target.number}  {target.label}{who}")


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Load a demo region: departments, callers, a rota around today, discharges."""
    click.echo(_seed_demo())


def _seed_demo() -> str:
    """Seed the demo region in the current app's database and return its summary."""
    from app.demo import seed_demo

    session = will_write(new_session())
    try:
        summary = seed_demo(session, current_app.extensions["linje72.vault"], current_app.config["CLOCK"]())
        session.commit()
    finally:
        session.close()
    return summary


@click.command("scheduler")
@with_appcontext
def scheduler() -> None:
    """Run the scheduled jobs (exactly one such process per deployment)."""
    from schedules.jobs import SchedulerRunning, run_scheduler

    try:
        run_scheduler(current_app._get_current_object())  # type: ignore[attr-defined]
    except SchedulerRunning as exc:
        click.echo(f"linje72: {exc}", err=True)
        sys.exit(1)


@cli.command("call", with_appcontext=False)
@click.option("--from", "from_number", required=True, help="The number you call from.")
@click.option("--at", help="Pretend the call happens at this ISO 8601 time.")
def call(from_number: str, at: str | None) -> None:
    """Call the line from the terminal: prompts as text, keys from the keyboard."""
    from ivr.simulator import TerminalPhone, play_call

    overrides: dict[str, Any] = {}
    clock = _clock_at(at)
    if clock is not None:
        overrides["CLOCK"] = clock
    app = _app_with_demo_settings(overrides)
    # The terminal is the phone here: keep the service's own log lines out of the prompts.
    logging.getLogger("linje72").setLevel(logging.WARNING)
    from app.export import contact_record
    from app.models import Contact

    click.echo(f"Calling the 72-hour line from {from_number} at {local_iso(app.config['CLOCK']())}")
    with app.app_context():
        trace = play_call(app, from_number, TerminalPhone())
        session = new_session()
        try:
            row = session.scalars(select(Contact).where(Contact.call_sid == trace.call_sid)).first()
            record = contact_record(row) if row else None
        finally:
            session.close()
            get_engine().dispose()
    click.echo("\nThe call has ended. The contact record:")
    click.echo(json.dumps(record, ensure_ascii=False, indent=2))


@cli.command("demo", with_appcontext=False)
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
def demo(host: str, port: int) -> None:
    """Run the service with a demo region on the default SQLite database."""
    from app.migrate import upgrade

    app = _app_with_demo_settings({})
    with app.app_context():
        upgrade(get_engine())
        click.echo(_seed_demo())
    click.echo(
        f"\nThe demo line answers at http://{host}:{port}/voice/incoming\n"
        f"Webhook signatures are checked with TWILIO_AUTH_TOKEN={app.config['TWILIO_AUTH_TOKEN']}\n"
        "Call it from the terminal in another shell, as a known home nurse:\n"
        "    .venv/bin/linje72 call --from '+45 32 50 10 10'\n"
        "or as an unknown caller (you will be asked for a unit code, e.g. 4713):\n"
        "    .venv/bin/linje72 call --from '+45 22 33 44 55'\n"
        "The demo patients' CPR numbers are listed above.\n"
    )
    from werkzeug.serving import run_simple

    # Not app.run(): Flask ignores that inside its own CLI.
    run_simple(host, port, app, threaded=True)


def _app_with_demo_settings(overrides: Mapping[str, Any]) -> Flask:
    """Create the app; settings missing from the environment come from the demo's own file.

    The demo keeps a generated auth token, secret key and fallback number in the
    instance folder, so that `linje72 call` finds the demo's patients later.
    """
    missing = [name for name in DEMO_SETTINGS if not os.environ.get(name)]
    settings: dict[str, Any] = {}
    if missing:
        path = Path(Flask("app", instance_relative_config=True).instance_path) / "demo-settings.json"
        if path.exists():
            stored = json.loads(path.read_text())
        else:
            stored = {name: make() for name, make in DEMO_SETTINGS.items()}
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(stored, indent=2))
            path.chmod(0o600)
        settings = {name: stored[name] for name in missing}
    settings.update(overrides)
    return create_app(settings)


DEMO_SETTINGS = {
    "TWILIO_AUTH_TOKEN": lambda: secrets.token_hex(16),
    "LINJE72_SECRET_KEY": lambda: secrets.token_urlsafe(48),
    "LINJE72_FALLBACK_NUMBER": lambda: "+4538383838",
}
