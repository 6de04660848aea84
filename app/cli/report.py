"""`linje72 report`: the month's monitoring report, as one self-contained HTML file."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import force_locale

from app.data.db import session_scope
from app.services.retention import count_statistics
from app.services.statistics import Filters, monitoring, month_period
from app.values.callers import LANGUAGES
from app.values.times import local_minute
from app.web.dashboard import render_report


@click.command("report")
@click.option("--month", required=True, metavar="YYYY-MM", help="The calendar month (Copenhagen days).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Default: linje72-YYYY-MM.html.")
@click.option("--language", type=click.Choice(LANGUAGES), default="da", show_default=True)
@with_appcontext
def report(month: str, out: Path | None, language: str) -> None:
    """Write the month's monitoring report: the dashboard's figures, charts and tables in one HTML
    file with nothing to fetch (inline styles and SVG). Print it to PDF from any browser.

    Calls ended and follow-ups closed since the scheduler last counted them are counted first.
    """
    try:
        start, end = month_period(month)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--month") from None
    now = current_app.config["CLOCK"]()
    count_statistics(lambda: session_scope(write=True), now)
    target = out or Path(f"linje72-{month}.html")
    with session_scope() as session:
        figures = monitoring(session, Filters(start, end))
    with current_app.test_request_context(), force_locale(language):
        html = render_report(figures, local_minute(now))
    try:
        target.write_text(html, encoding="utf-8")
    except OSError as exc:
        click.echo(f"{target}: cannot be written: {exc.strerror or exc}", err=True)
        sys.exit(1)
    click.echo(f"{target}: {figures.total.calls} contacts, {start.isoformat()} to {end.isoformat()}")
