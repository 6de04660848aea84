"""Import a departments, callers, rota or discharges file: check everything, then store.

The reading and the row-by-row checks are the pure readers' (`app.intake`); the
storing is the same service every other surface uses. Only a file without
problems is written, and then only flushed: the caller commits or rolls back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from app.data import queries
from app.intake.callers import read_callers
from app.intake.departments import read_departments
from app.intake.discharges import read_discharges
from app.intake.rota import read_rota
from app.intake.table import Problems, decode, plural
from app.services.directory import caller_conflicts, upsert_callers, upsert_departments
from app.services.discharges import store_discharges
from app.services.rota import replace_rota
from app.values.cpr import CprVault
from routing import local_date


@dataclass
class ImportResult:
    """What an import found wrong (nothing stored then), or what it stored; warnings either way."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    summary: str = ""


@dataclass(frozen=True)
class _Context:
    session: Session
    vault: CprVault
    now: datetime


def _departments(text: str, problems: Problems, context: _Context) -> str | None:
    records = read_departments(text, problems)
    if problems:
        return None
    done = upsert_departments(context.session, records)
    return f"{plural(done.count, 'department')}: {done.added} added, {done.updated} updated"


def _callers(text: str, problems: Problems, context: _Context) -> str | None:
    records = read_callers(text, problems)
    for conflict in caller_conflicts(context.session, records):
        problems.add(conflict.row, conflict.column, conflict.message)
    if problems:
        return None
    done = upsert_callers(context.session, records)
    return f"{plural(done.count, 'caller')}: {done.added} added, {done.updated} updated"


def _rota(text: str, problems: Problems, context: _Context) -> str | None:
    records = read_rota(text, problems, queries.all_departments(context.session).keys())
    if problems:
        return None
    change = replace_rota(context.session, records)
    return (
        f"{plural(change.added, 'shift')} for {plural(change.departments, 'department')}: "
        f"{change.added} added, {change.removed} replaced"
    )


def _discharges(text: str, problems: Problems, context: _Context) -> str | None:
    departments = queries.all_departments(context.session).keys()
    records = read_discharges(text, problems, departments, local_date(context.now))
    if problems:
        return None
    done = store_discharges(context.session, context.vault, records)
    return f"{plural(done.count, 'discharge')}: {done.added} added, {done.updated} updated"


# The kinds of file there are, in the order they are best imported.
IMPORTERS: dict[str, Callable[[str, Problems, _Context], str | None]] = {
    "departments": _departments,
    "callers": _callers,
    "rota": _rota,
    "discharges": _discharges,
}
IMPORT_KINDS = tuple(IMPORTERS)


def import_path(
    session: Session, kind: str, path: Path | str, *, vault: CprVault, now: datetime
) -> ImportResult:
    """Check the file at `path` as `kind` and, when nothing is wrong, store it (flush only)."""
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return ImportResult(errors=[f"{name}: no such file"])
    except IsADirectoryError:
        return ImportResult(errors=[f"{name}: is a directory, not a file"])
    except OSError as exc:
        return ImportResult(errors=[f"{name}: cannot be read: {exc.strerror or exc}"])
    problems = Problems(name)
    text = decode(data, problems)
    if text is None:
        return ImportResult(errors=problems.lines())
    return import_text(session, kind, text, name=name, vault=vault, now=now)


def import_text(
    session: Session, kind: str, text: str, *, name: str, vault: CprVault, now: datetime
) -> ImportResult:
    """Check `text` (a file's contents, called `name` in errors) as `kind`; store it when nothing is wrong."""
    importer = IMPORTERS.get(kind)
    if importer is None:
        raise ValueError(f"unknown import kind {kind!r}: expected one of {', '.join(IMPORT_KINDS)}")
    problems = Problems(name)
    summary = importer(text, problems, _Context(session, vault, now))
    if problems or summary is None:
        return ImportResult(errors=problems.lines(), warnings=problems.warnings())
    return ImportResult(warnings=problems.warnings(), summary=summary)
