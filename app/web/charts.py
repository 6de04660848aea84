"""Charts as inline SVG, drawn on the server: no script, no library, nothing fetched.

Every chart stacks the same three things, in the same colours (a colour-blind safe palette):
connected (someone pressed 1), forwarded (a staffed line took it) and not answered. Each has a
title and a description for screen readers, a tooltip on every bar, and the page puts its
numbers in a table beneath it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import gettext as _
from markupsafe import Markup, escape

from app.services.statistics import Figures, Row

WIDTH = 400
COLOURS = {"connected": "#0072B2", "forwarded": "#56B4E9", "not_answered": "#D55E00"}
_ids = itertools.count(1)


@dataclass(frozen=True)
class Part:
    key: str
    label: str
    value: int


def _parts(figures: Figures) -> list[Part]:
    return [
        Part("connected", _("Connected"), figures.connected),
        Part("forwarded", _("Forwarded to a staffed line"), figures.forwarded),
        Part("not_answered", _("Not answered"), figures.not_answered),
    ]


def legend() -> Markup:
    """The three colours and what they mean, once above the charts."""
    items = "".join(
        f'<li><svg width="14" height="14" aria-hidden="true"><rect width="14" height="14" rx="2" '
        f'fill="{COLOURS[part.key]}"/></svg> {escape(part.label)}</li>'
        for part in _parts(Figures())
    )
    return Markup(f'<ul class="legend">{items}</ul>')


def _svg(title: str, description: str, height: int, body: str) -> Markup:
    number = next(_ids)
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
        f'aria-labelledby="chart{number}-title chart{number}-desc" xmlns="http://www.w3.org/2000/svg" '
        f'font-family="system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif">'
        f'<title id="chart{number}-title">{escape(title)}</title>'
        f'<desc id="chart{number}-desc">{escape(description)}</desc>{body}</svg>'
    )


def _tooltip(label: str, figures: Figures) -> str:
    parts = ", ".join(f"{part.label}: {part.value}" for part in _parts(figures))
    return f"{label}: {figures.calls} ({parts})"


def _nice(top: int) -> int:
    """A round number at or above `top` for the scale."""
    if top <= 5:
        return 5
    step = 10 ** (len(str(top)) - 1)
    for factor in (1, 2, 2.5, 5, 10):
        if top <= factor * step:
            return int(factor * step)
    return top


def time_chart(title: str, rows: Sequence[Row], tick_every: int, short: Sequence[str]) -> Markup:
    """Stacked columns over time (days or weeks); `short` labels the ticks every `tick_every` rows."""
    height, left, bottom, top_pad = 190, 34, 22, 8
    plot = height - bottom - top_pad
    top = _nice(max((row.figures.calls for row in rows), default=0))
    count = max(1, len(rows))
    step = (WIDTH - left - 4) / count
    bar = max(1.0, step * 0.8)
    body = []
    for fraction in (0, 0.5, 1):
        y = top_pad + plot * (1 - fraction)
        body.append(
            f'<line x1="{left}" x2="{WIDTH}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d6dbe1" stroke-width="1"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="13" text-anchor="end" fill="#5b6672">'
            f"{round(top * fraction)}</text>"
        )
    for index, row in enumerate(rows):
        x = left + index * step + (step - bar) / 2
        y = top_pad + plot
        pieces = []
        for part in _parts(row.figures):
            if not part.value:
                continue
            h = plot * part.value / top
            y -= h
            colour = COLOURS[part.key]
            pieces.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{colour}"/>'
            )
        body.append(f"<g><title>{escape(_tooltip(row.label, row.figures))}</title>{''.join(pieces)}</g>")
        if index % tick_every == 0:
            body.append(
                f'<text x="{x + bar / 2:.1f}" y="{height - 6}" font-size="13" text-anchor="middle" '
                f'fill="#5b6672">{escape(short[index])}</text>'
            )
    total = sum(row.figures.calls for row in rows)
    description = _(
        "%(num)d contacts in %(bars)d bars; the table below has every number.", num=total, bars=len(rows)
    )
    return _svg(title, description, height, "".join(body))


def bar_chart(title: str, rows: Sequence[Row], limit: int = 12) -> Markup:
    """Stacked bars, one a row with its label above it, the largest `limit` rows by contacts."""
    shown = sorted(rows, key=lambda row: -row.figures.calls)[:limit]
    line = 42
    height = max(1, len(shown)) * line + 4
    top = _nice(max((row.figures.calls for row in shown), default=0))
    room = WIDTH - 60
    body = []
    for index, row in enumerate(shown):
        y = index * line
        body.append(f'<text x="0" y="{y + 15}" font-size="15" fill="#1d2733">{escape(row.label)}</text>')
        x = 0.0
        pieces = []
        for part in _parts(row.figures):
            if not part.value:
                continue
            w = room * part.value / top
            pieces.append(
                f'<rect x="{x:.1f}" y="{y + 20}" width="{w:.1f}" height="16" fill="{COLOURS[part.key]}"/>'
            )
            x += w
        body.append(f"<g><title>{escape(_tooltip(row.label, row.figures))}</title>{''.join(pieces)}</g>")
        body.append(
            f'<text x="{x + 5:.1f}" y="{y + 34}" font-size="14" fill="#1d2733">{row.figures.calls}</text>'
        )
    if not shown:
        body.append(f'<text x="0" y="16" font-size="13" fill="#5b6672">{escape(_("No contacts."))}</text>')
        height = 24
    description = (
        _(
            "The %(num)d largest of %(all)d, by contacts; the table below has every number.",
            num=len(shown),
            all=len(rows),
        )
        if len(rows) > len(shown)
        else _("The table below has every number.")
    )
    return _svg(title, description, height, "".join(body))


def band_chart(title: str, labels: Sequence[str], counts: Sequence[int]) -> Markup:
    """Columns of answered calls by time to answer."""
    height, bottom, top_pad = 170, 22, 16
    plot = height - bottom - top_pad
    top = _nice(max(counts, default=0))
    step = WIDTH / max(1, len(counts))
    bar = step * 0.7
    body = []
    for index, (label, count) in enumerate(zip(labels, counts, strict=True)):
        x = index * step + (step - bar) / 2
        h = plot * count / top
        y = top_pad + plot - h
        body.append(
            f'<g><title>{escape(label)}: {count}</title><rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" '
            f'height="{h:.1f}" fill="{COLOURS["connected"]}"/></g>'
            f'<text x="{x + bar / 2:.1f}" y="{y - 3:.1f}" font-size="12" text-anchor="middle" fill="#1d2733">'
            f"{count}</text>"
            f'<text x="{x + bar / 2:.1f}" y="{height - 6}" font-size="13" text-anchor="middle" '
            f'fill="#5b6672">{escape(label)}</text>'
        )
    return _svg(title, _("The table below has every number."), height, "".join(body))
