"""Commands for keeping personal data short and safe: purge by hand, rotate the CPR key."""

from __future__ import annotations

import sys
import time
from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext

from app.data.db import session_scope
from app.services import keys, retention
from app.values.cpr import CprVault, derive_pseudonym_key
from app.values.times import local_iso


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Only say what would be removed; change nothing.")
@with_appcontext
def purge(dry_run: bool) -> None:
    """Remove personal data older than LINJE72_RETENTION_DAYS, as the nightly job does."""
    kept: timedelta = current_app.config["RETENTION"]
    now = current_app.config["CLOCK"]()
    window = current_app.config["POLICY"].window
    report = retention.purge(lambda: session_scope(write=True), now, kept, window, dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    click.echo(
        f"Retention {kept.days} days: {verb} what ended before {local_iso(now - kept)}"
        + (" (dry run: nothing changed)" if dry_run else "")
    )
    for label, count in report.lines():
        click.echo(f"  {label:<46} {count:>8}")


# A batch of 500 takes ~50 ms: a pause of 20 ms gives waiting webhooks the database in between.
PAUSE = 0.02


@click.command("rotate-key")
@click.option("--batch", default=keys.BATCH, show_default=True, type=click.IntRange(1, 10_000))
@click.option(
    "--pause",
    default=PAUSE,
    show_default=True,
    type=click.FloatRange(0, 10),
    help="Seconds between batches, so that calls waiting for the database come first.",
)
@with_appcontext
def rotate_key(batch: int, pause: float) -> None:
    """Rewrite every stored CPR number under LINJE72_SECRET_KEY (safe to stop and run again)."""
    vault: CprVault = current_app.extensions["linje72.vault"]
    previous = f"key id {vault.previous_key_id}" if vault.previous_key_id else "none"
    with session_scope() as session:
        left = keys.left_to_rotate(session, vault)
    click.echo(f"Rotating to key id {vault.key_id} (previous: {previous}).")
    stays, calls, messages = left["stays"], left["calls"], left["voice messages"]
    click.echo(f"Left to rewrite: {stays} stays, {calls} calls, {messages} voice messages.")

    def progress(store: str, done: int, remaining: int) -> None:
        click.echo(f"  {store}: {done} rewritten, {remaining} left")

    try:
        report = keys.rotate(
            lambda: session_scope(write=True),
            vault,
            batch=batch,
            progress=progress,
            rest=(lambda: time.sleep(pause)) if pause else None,
        )
    except keys.KeysMissing as exc:
        click.echo(f"linje72: {exc}. Nothing was changed.", err=True)
        sys.exit(2)
    click.echo(
        f"Rewritten: {report.stays} stays, {report.calls} calls, {report.voice_messages} voice messages; "
        f"{report.patients} patients' records moved to the new lookup key."
    )
    if report.left:
        click.echo(
            f"linje72: {report.left} CPR numbers are still under another key, written meanwhile by a process "
            "with the old settings: restart every process with the new settings and run "
            "`linje72 rotate-key` again.",
            err=True,
        )
        sys.exit(1)
    if vault.previous_key_id:
        click.echo(
            f"Done: every stored CPR number is under key id {vault.key_id}. LINJE72_SECRET_KEY_PREVIOUS can "
            "now be removed (then restart every process)."
        )
    else:
        click.echo(f"Done: every stored CPR number is under key id {vault.key_id}.")


@click.command("pseudonym-key")
@with_appcontext
def pseudonym_key() -> None:
    """Print the export pseudonyms' key, to keep as LINJE72_PSEUDONYM_KEY before rotating the secret."""
    if current_app.config.get("LINJE72_PSEUDONYM_KEY"):
        click.echo("LINJE72_PSEUDONYM_KEY is set already: the pseudonyms do not change with the secret.")
        return
    key = derive_pseudonym_key(current_app.config["LINJE72_SECRET_KEY"]).hex()
    click.echo("Keep this secret as LINJE72_PSEUDONYM_KEY (it is shown here only); pseudonyms then stay")
    click.echo("the same when LINJE72_SECRET_KEY is rotated:")
    click.echo(key)
