"""API tokens from the command line: one per calling system, shown once, revocable."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from app.data.db import session_scope
from app.services import audit
from app.services.tokens import SCOPES, TokenError, add_token, list_tokens, revoke_token
from app.values.times import local_minute


@click.group("token")
def token() -> None:
    """API tokens of the calling systems (EHR, scheduling systems, switchboards)."""


@token.command("add")
@click.argument("name")
@click.option(
    "--scope", "scopes", multiple=True, required=True, type=click.Choice(SCOPES), help="Repeat for more."
)
@with_appcontext
def add(name: str, scopes: tuple[str, ...]) -> None:
    """Make a token for the system NAME; it is printed once and stored only as a hash."""
    now = current_app.config["CLOCK"]()
    try:
        with session_scope(write=True) as session:
            record, secret = add_token(session, name, scopes, now)
            audit.record(
                session,
                now,
                audit.CHANGE,
                actor="command line",
                target=f"API token {name}",
                detail=f"added; scopes={record.scopes}",
            )
    except TokenError as exc:
        click.echo(f"linje72: {exc}", err=True)
        sys.exit(1)
    click.echo(f"Token for {name} (scopes: {' '.join(sorted(set(scopes)))}), shown once:")
    click.echo(secret)


@token.command("list")
@with_appcontext
def list_command() -> None:
    """List the tokens: name, scopes, made, last used, revoked."""
    with session_scope() as session:
        for record in list_tokens(session):
            used = local_minute(record.last_used_at) if record.last_used_at else "never"
            state = f"revoked {local_minute(record.revoked_at)}" if record.revoked_at else "active"
            click.echo(
                f"{record.name:<24} {record.scopes:<24} made {local_minute(record.created_at)}  "
                f"used {used}  {state}"
            )


@token.command("revoke")
@click.argument("name")
@with_appcontext
def revoke(name: str) -> None:
    """Revoke a token: the system's next request is refused."""
    now = current_app.config["CLOCK"]()
    try:
        with session_scope(write=True) as session:
            revoke_token(session, name, now)
            audit.record(
                session, now, audit.CHANGE, actor="command line", target=f"API token {name}", detail="revoked"
            )
    except TokenError as exc:
        click.echo(f"linje72: {exc}", err=True)
        sys.exit(1)
    click.echo(f"Revoked the token {name}.")
