"""Rota gaps from the command line: the gaps ahead, and the numbers that hear of them."""

from __future__ import annotations

import sys
from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext

from app.cli.times import now_at
from app.cli.users import _actor
from app.data import queries
from app.data.db import session_scope
from app.services import audit
from app.services.coverage import find_gaps
from app.services.planner_phones import (
    PlannerPhoneRefused,
    add_planner_phone,
    planner_phones,
    remove_planner_phone,
)
from app.values.times import local_minute

GAPS_FOUND = 1  # the exit status when there is a gap: scripts and monitoring can act on it
NO_SUCH_DEPARTMENT = 2


def duration(span: timedelta) -> str:
    """Return e.g. '17 h', '2 d 6 h', '45 min', '1 h 30 min'."""
    minutes = int(span.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
    return " ".join(part for part in parts if part) or "0 min"


@click.command("coverage")
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 60), help="How many days ahead.")
@click.option("--department", help="Only this department (its code).")
@click.option("--at", help="Look ahead from this ISO 8601 time instead of now.")
@with_appcontext
def coverage(days: int, department: str | None, at: str | None) -> None:
    """List the rota's gaps ahead: time in which nobody of a department answers first. Exit 1 on gaps."""
    now = now_at(at)
    with session_scope() as session:
        if department is not None and queries.find_department(session, department) is None:
            click.echo(f"linje72: no department with code {department!r}", err=True)
            sys.exit(NO_SUCH_DEPARTMENT)
        codes = [department] if department else None
        gaps = find_gaps(session, current_app.config["POLICY"].calendar, now, timedelta(days=days), codes)
    ahead = f"the next {days} day{'s' if days != 1 else ''}"
    if not gaps:
        click.echo(f"no gaps in {ahead}")
        return
    width = max(len(gap.department) for gap in gaps)
    for gap in gaps:
        click.echo(
            f"{gap.department:<{width}}  {gap.period.value:<6}  {local_minute(gap.start)} to "
            f"{local_minute(gap.end)}  {duration(gap.end - gap.start)}"
            + (f"  (on-call pool {gap.pool})" if gap.pool else "")
        )
    total = sum((gap.end - gap.start for gap in gaps), timedelta())
    departments = len({gap.department for gap in gaps})
    click.echo(
        f"{len(gaps)} gap{'s' if len(gaps) != 1 else ''} in {ahead}, {duration(total)} in all, "
        f"in {departments} department{'s' if departments != 1 else ''}"
    )
    sys.exit(GAPS_FOUND)


@click.group("planner-phone")
def planner_phone() -> None:
    """The numbers that hear of a department's rota gaps (SMS, or a call to a landline)."""


def _refused(exc: PlannerPhoneRefused) -> None:
    click.echo(f"linje72: {exc}", err=True)
    sys.exit(1)


@planner_phone.command("add")
@click.argument("department")
@click.argument("number")
@click.option("--name", default="", help="Whose number it is, e.g. the planner's name.")
@click.option("--landline", is_flag=True, help="Call this number: it cannot take an SMS.")
@with_appcontext
def add(department: str, number: str, name: str, landline: bool) -> None:
    """Let NUMBER hear of DEPARTMENT's gaps: an SMS, or with --landline a call."""
    now = current_app.config["CLOCK"]()
    try:
        with session_scope(write=True) as session:
            added = add_planner_phone(session, department, number, name=name, mobile=not landline)
            how = "call" if landline else "SMS"
            audit.record(
                session,
                now,
                audit.CHANGE,
                actor=_actor(),
                target=f"alert numbers of {department}",
                detail=f"added {added.phone.phone} ({how})",
            )
            phone = added.phone.phone
    except PlannerPhoneRefused as exc:
        _refused(exc)
        return
    if added.warning:
        click.echo(f"warning: {added.warning}", err=True)
    click.echo(f"{phone} now hears of the gaps of {department} by {how}")


@planner_phone.command("list")
@click.argument("department", required=False)
@with_appcontext
def list_phones(department: str | None) -> None:
    """List the alert numbers of every department, or of DEPARTMENT."""
    with session_scope() as session:
        if department is not None and queries.find_department(session, department) is None:
            click.echo(f"linje72: no department with code {department!r}", err=True)
            sys.exit(NO_SUCH_DEPARTMENT)
        rows = [
            (row.department.code, row.phone, "sms" if row.mobile else "call", row.name)
            for row in planner_phones(session, [department] if department else None)
        ]
    if not rows:
        click.echo("no alert numbers: nobody hears of the gaps (add one with `linje72 planner-phone add`)")
        return
    for code, phone, how, name in rows:
        click.echo(f"{code}  {phone}  {how:<4}  {name}".rstrip())


@planner_phone.command("remove")
@click.argument("department")
@click.argument("number")
@with_appcontext
def remove(department: str, number: str) -> None:
    """Stop NUMBER hearing of DEPARTMENT's gaps."""
    now = current_app.config["CLOCK"]()
    try:
        with session_scope(write=True) as session:
            row = remove_planner_phone(session, department, number)
            phone = row.phone
            left = len(planner_phones(session, [department]))
            audit.record(
                session,
                now,
                audit.CHANGE,
                actor=_actor(),
                target=f"alert numbers of {department}",
                detail=f"removed {phone}",
            )
    except PlannerPhoneRefused as exc:
        _refused(exc)
        return
    click.echo(f"{phone} no longer hears of the gaps of {department}")
    if not left:
        click.echo(f"warning: nobody hears of the gaps of {department} now", err=True)
