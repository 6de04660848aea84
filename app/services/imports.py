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
from app.intake.rota import Progress, ShiftRecord, read_rota, read_rota_file
from app.intake.table import SAVE_AS_CSV_UTF8, Problems, decode, plural
from app.services.directory import caller_conflicts, upsert_callers, upsert_departments
from app.services.discharges import store_discharges
from app.services.rota import plan_rota, replace_rota
from app.values.cpr import CprVault
from app.values.times import local_minute
from routing import local_date

# Shown the lines of what a rota import would do; returns whether to go ahead.
Confirm = Callable[[list[str]], bool]


@dataclass
class ImportResult:
    """What an import found wrong (nothing stored then), or what it stored; warnings either way.

    `plan` holds what a rota import replaces, per department, whether or not it went ahead.
    """

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    summary: str = ""
    plan: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RotaOptions:
    """How to read a rota file: a workbook's sheet; a calendar's department and role."""

    sheet: str | None = None
    department: str | None = None
    role: str | None = None


@dataclass
class _Context:
    session: Session
    vault: CprVault | None  # None for a rota, which holds no CPR numbers
    now: datetime
    confirm: Confirm | None = None
    plan: list[str] = field(default_factory=list)


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
    records = read_rota(text, problems, queries.all_departments(context.session).keys(), context.now)
    return _store_rota(records, problems, context)


def _store_rota(records: list[ShiftRecord], problems: Problems, context: _Context) -> str | None:
    if problems:
        return None
    plans = plan_rota(context.session, records)
    context.plan = [
        f"{plan.department}: replaces {local_minute(plan.start)} to {local_minute(plan.end)} (local time): "
        f"{plural(plan.removed, 'shift')} removed, {plan.added} added"
        for plan in plans
    ]
    # One stray row (a year typed 2062) widens the period a file replaces for its
    # department: a file that removes more shifts than it adds for any department goes
    # ahead only when someone has seen and confirmed it.
    shrinking = [plan for plan in plans if plan.removed > plan.added]
    if shrinking and (context.confirm is None or not context.confirm(context.plan)):
        which = ", ".join(
            f"{plan.department} ({plural(plan.removed, 'shift')} removed, {plan.added} added)"
            for plan in shrinking
        )
        problems.file(
            f"not imported: it would remove more shifts than it adds for {which}; "
            "check the periods above (or confirm, e.g. with --yes)"
        )
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
    if context.vault is None:
        raise ValueError("discharges are imported with the CPR vault")
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


# The kinds of file read as CSV text, whose encoding advice names CSV UTF-8.
CSV_KINDS = ("departments", "callers")


def import_path(
    session: Session,
    kind: str,
    path: Path | str,
    *,
    vault: CprVault,
    now: datetime,
    confirm: Confirm | None = None,
    options: RotaOptions | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Check the file at `path` as `kind` and, when nothing is wrong, store it (flush only).

    A rota may be a CSV file, an Excel workbook or a calendar (`options` for the last
    two); `progress` is told how far the checking of a rota has come.
    """
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return ImportResult(errors=[f"{name}: no such file"])
    except IsADirectoryError:
        return ImportResult(errors=[f"{name}: is a directory, not a file"])
    except OSError as exc:
        return ImportResult(errors=[f"{name}: cannot be read: {exc.strerror or exc}"])
    if kind == "rota":
        return import_rota(
            session, data, name=name, now=now, confirm=confirm, options=options, progress=progress
        )
    if options is not None:
        raise ValueError(f"rota options given for a {kind} file")
    problems = Problems(name)
    text = decode(data, problems, advice=SAVE_AS_CSV_UTF8) if kind in CSV_KINDS else decode(data, problems)
    if text is None:
        return ImportResult(errors=problems.lines())
    return import_text(session, kind, text, name=name, vault=vault, now=now, confirm=confirm)


def import_rota(
    session: Session,
    data: bytes,
    *,
    name: str,
    now: datetime,
    confirm: Confirm | None = None,
    options: RotaOptions | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Check a rota file's bytes (a CSV, workbook or calendar, told by `name`); store it when all is well."""
    options = options or RotaOptions()
    problems = Problems(name)
    context = _Context(session, None, now, confirm)
    records = read_rota_file(
        data,
        name,
        problems,
        queries.all_departments(session).keys(),
        now,
        sheet=options.sheet,
        department=options.department,
        role=options.role,
        progress=progress,
    )
    summary = _store_rota(records, problems, context)
    if problems or summary is None:
        return ImportResult(errors=problems.lines(), warnings=problems.warnings(), plan=context.plan)
    return ImportResult(warnings=problems.warnings(), summary=summary, plan=context.plan)


def import_text(
    session: Session,
    kind: str,
    text: str,
    *,
    name: str,
    vault: CprVault,
    now: datetime,
    confirm: Confirm | None = None,
) -> ImportResult:
    """Check `text` (a file's contents, called `name` in errors) as `kind`; store it when nothing is wrong."""
    importer = IMPORTERS.get(kind)
    if importer is None:
        raise ValueError(f"unknown import kind {kind!r}: expected one of {', '.join(IMPORT_KINDS)}")
    problems = Problems(name)
    context = _Context(session, vault, now, confirm)
    summary = importer(text, problems, context)
    if problems or summary is None:
        return ImportResult(errors=problems.lines(), warnings=problems.warnings(), plan=context.plan)
    return ImportResult(warnings=problems.warnings(), summary=summary, plan=context.plan)
