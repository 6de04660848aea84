"""Console accounts from the command line: add, list, disable, reset a password."""

from __future__ import annotations

import getpass
import sys
from datetime import datetime

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from app.data.db import session_scope
from app.services import audit
from app.services.accounts import (
    AccountError,
    add_user,
    disable_user,
    generate_password,
    list_users,
    reset_password,
)
from app.values.access import ConsoleRole
from app.values.times import local_minute


def _actor() -> str:
    """Who changed accounts from the command line, for the audit log."""
    try:
        return f"command line ({getpass.getuser()})"
    except (KeyError, OSError):
        return "command line"


def _password(generate: bool) -> tuple[str, bool]:
    """Return the new password and whether it was generated (then it is printed once)."""
    if generate:
        return generate_password(), True
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt="Repeat the password"), False
    line = sys.stdin.readline().rstrip("\n")
    if not line:
        raise click.UsageError("no password on standard input (or give --generate)")
    return line, False


def _audit(db: Session, now: datetime, email: str, detail: str) -> None:
    """Record a change to an account made from the command line."""
    audit.record(db, now, audit.CHANGE, actor=_actor(), target=f"account {email}", detail=detail)


def _fail(exc: AccountError) -> None:
    click.echo(f"linje72: {exc}", err=True)
    sys.exit(1)


@click.group("user")
def user() -> None:
    """Console accounts: admin, planner, department, region."""


@user.command("add")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice([role.value for role in ConsoleRole]))
@click.option(
    "--department", "departments", multiple=True, help="A department the account works for (repeat)."
)
@click.option("--language", type=click.Choice(["da", "en"]), default="da", show_default=True)
@click.option("--generate", is_flag=True, help="Generate a password and print it once.")
@with_appcontext
def add(email: str, role: str, departments: tuple[str, ...], language: str, generate: bool) -> None:
    """Add an account; the password is asked twice (hidden), read from standard input, or generated."""
    password, generated = _password(generate)
    now = current_app.config["CLOCK"]()
    try:
        with session_scope(write=True) as db:
            account = add_user(db, email, role, departments, password, now, language)
            detail = f"role={account.role} departments={','.join(departments) or '-'}"
            _audit(db, now, account.email, "added; " + detail)
            created = account.email
    except AccountError as exc:
        _fail(exc)
    click.echo(f"Added {created} ({role}).")
    if generated:
        click.echo(f"Password (shown once): {password}")


@user.command("list")
@with_appcontext
def list_accounts() -> None:
    """List the accounts: email, role, departments, state, last login."""
    with session_scope() as db:
        for account in list_users(db):
            state = "disabled" if account.disabled else "active"
            departments = ",".join(d.code for d in account.departments) or "-"
            last = local_minute(account.last_login_at) if account.last_login_at else "never"
            click.echo(
                f"{account.email:<32} {account.role:<10} {departments:<24} {state:<8} last login {last}"
            )


@user.command("disable")
@click.argument("email")
@with_appcontext
def disable(email: str) -> None:
    """Disable an account: it can no longer log in, and its open sessions end."""
    now = current_app.config["CLOCK"]()
    try:
        with session_scope(write=True) as db:
            account = disable_user(db, email)
            audit.record(
                db, now, audit.CHANGE, actor=_actor(), target=f"account {account.email}", detail="disabled"
            )
    except AccountError as exc:
        _fail(exc)
    click.echo(f"Disabled {email.strip().lower()}.")


@user.command("reset-password")
@click.argument("email")
@click.option("--generate", is_flag=True, help="Generate a password and print it once.")
@with_appcontext
def reset(email: str, generate: bool) -> None:
    """Set a new password; a lockout is lifted and open sessions end."""
    password, generated = _password(generate)
    now = current_app.config["CLOCK"]()
    try:
        with session_scope(write=True) as db:
            account = reset_password(db, email, password)
            _audit(db, now, account.email, "password reset")
    except AccountError as exc:
        _fail(exc)
    click.echo(f"New password set for {email.strip().lower()}.")
    if generated:
        click.echo(f"Password (shown once): {password}")
