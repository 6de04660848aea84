"""The demo: a region seeded around today, and the service running on it.

`linje72 demo` keeps its generated settings in the instance folder's settings file
(`linje72.env`, readable by its owner only), which every command reads: after it, `linje72
call`, `oncall`, `contacts export` and `import` in another terminal find the same
secret, token and database without any setting in the environment.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from app import create_app
from app.config import SETTINGS_FILE, instance_path_from
from app.data.db import get_engine, session_scope
from app.data.migrate import upgrade
from app.demo import seed_demo

DEMO_SETTINGS: dict[str, Callable[[], str]] = {
    "TWILIO_AUTH_TOKEN": lambda: secrets.token_hex(16),
    "LINJE72_SECRET_KEY": lambda: secrets.token_urlsafe(48),
    "LINJE72_FALLBACK_NUMBER": lambda: "+4538383838",
    # The demo's after-hours line is the number its acute-line caller rings from.
    "LINJE72_AFTER_HOURS_NUMBER": lambda: "+4538681813",
    "LINJE72_PUBLIC_URL": lambda: "http://127.0.0.1:5000",
}
# Settings an earlier version of the demo kept, taken over so its database stays readable.
OLD_DEMO_SETTINGS = "demo-settings.json"


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Load a demo region: departments, callers, a rota around today, discharges."""
    click.echo(_seed())


@click.command("demo")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
def demo(host: str, port: int) -> None:
    """Run the service with a demo region on the default SQLite database."""
    # The demo's database holds (fictional) CPR numbers and its settings file a secret:
    # everything it creates is its owner's only, from the start.
    os.umask(0o077)
    instance = Path(Flask("app", instance_path=instance_path_from(os.environ)).instance_path)
    written = ensure_demo_settings(instance)
    app = create_app()
    with app.app_context():
        upgrade(get_engine())
        click.echo(_seed())
    if written:
        click.echo(
            f"\nThe demo's settings are kept in {instance / SETTINGS_FILE}; every linje72 command reads them."
        )
    click.echo(
        f"\nThe console: http://{host}:{port}/ (log in with an account above)\n"
        f"The demo line answers at http://{host}:{port}/voice/incoming\n"
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


def ensure_demo_settings(instance: Path) -> list[str]:
    """Add the demo's generated settings to the instance settings file where neither it nor the
    environment has them; return the names written. The folder is 0700 and the file 0600."""
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    instance.chmod(0o700)
    path = instance / SETTINGS_FILE
    existing = path.read_text() if path.exists() else ""
    have = {line.split("=", 1)[0].strip() for line in existing.splitlines() if "=" in line}
    old_path = instance / OLD_DEMO_SETTINGS
    old = json.loads(old_path.read_text()) if old_path.exists() else {}
    missing = [name for name in DEMO_SETTINGS if name not in have and not os.environ.get(name)]
    if not missing:
        return []
    lines = [f"{name}={old.get(name) or DEMO_SETTINGS[name]()}" for name in missing]
    header = "" if existing else "# Settings of the Linje 72 demo (generated). Keep this file private.\n"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(descriptor, "a") as handle:
        if existing and not existing.endswith("\n"):
            handle.write("\n")
        handle.write(header + "\n".join(lines) + "\n")
    path.chmod(0o600)
    return missing


def _seed() -> str:
    """Seed the demo region in the current app's database and return its summary."""
    app = current_app
    with session_scope(write=True) as session:
        return seed_demo(
            session, app.extensions["linje72.vault"], app.config["POLICY"], app.config["CLOCK"]()
        )
