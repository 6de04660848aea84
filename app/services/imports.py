"""Import a departments, callers, rota, discharges or HL7 file: check everything, then store.

The reading and the row-by-row checks are the pure readers' (`app.intake`); the
storing is the same service every other surface uses. Only a file without
problems is written, and then only flushed: the caller commits or rolls back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from app.config import FeedMappings, Policy
from app.data import queries
from app.intake.agreements import read_agreements
from app.intake.callers import read_callers
from app.intake.departments import read_departments
from app.intake.discharges import read_discharges
from app.intake.health_councils import read_health_councils
from app.intake.rota import Progress, ShiftRecord, read_rota, read_rota_file
from app.intake.table import SAVE_AS_CSV_UTF8, Problems, decode, plural
from app.services.agreements import agreement_codes, upsert_agreements
from app.services.directory import caller_conflicts, department_conflicts, upsert_callers, upsert_departments
from app.services.discharges import apply_discharges
from app.services.health_councils import replace_health_councils
from app.services.hl7_feed import import_messages
from app.services.rota import Author, RotaReview, publish_rota, review_rota
from app.services.stays import StayRefused
from app.values.cpr import CprVault
from app.values.times import local_minute
from routing import Gap, local_date

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
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    policy: Policy | None = None
    author: Author = Author("command line", "cli")
    file_hash: str = ""
    mappings: FeedMappings | None = None  # the HL7 feeds' code tables
    progress: Progress | None = None


def _agreements(text: str, problems: Problems, context: _Context) -> str | None:
    records = read_agreements(text, problems)
    if problems:
        return None
    done = upsert_agreements(context.session, records)
    return f"{plural(done.count, 'agreement')}: {done.added} added, {done.updated} updated"


def _health_councils(text: str, problems: Problems, context: _Context) -> str | None:
    records = read_health_councils(text, problems)
    if problems:
        return None
    done = replace_health_councils(context.session, records)
    return (
        f"{plural(done.councils, 'health council')} of {done.municipalities} "
        f"{'municipality' if done.municipalities == 1 else 'municipalities'}; "
        f"{done.removed} no longer listed removed"
    )


def _departments(text: str, problems: Problems, context: _Context) -> str | None:
    records = read_departments(text, problems, agreement_codes(context.session))
    for conflict in department_conflicts(context.session, records):
        problems.add(conflict.row, conflict.column, conflict.message)
    if problems:
        return None
    done = upsert_departments(context.session, records)
    return f"{plural(done.count, 'department')}: {done.added} added, {done.updated} updated"


def _callers(text: str, problems: Problems, context: _Context) -> str | None:
    records = read_callers(text, problems, agreement_codes(context.session))
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
    if context.policy is None:
        raise ValueError("a rota import needs the policy (its calendar finds the gaps)")
    read_warnings = problems.warnings()
    review = review_rota(
        context.session,
        context.policy,
        records,
        context.now,
        file_name=problems.name,
        read_warnings=read_warnings,
    )
    context.errors += review.errors
    context.warnings += review.warnings[len(read_warnings) :]
    context.plan = rota_plan_lines(review) + review.warnings
    if review.errors:
        return None
    # One stray row (a year typed 2062) widens the period a file replaces for its
    # department: a file that removes more shifts than it adds for any department, or
    # that leaves gaps or warnings, goes ahead only when someone has seen and confirmed it.
    shrinking = [preview for preview in review.departments if preview.shrinks]
    if (shrinking or review.needs_acknowledgement) and (
        context.confirm is None or not context.confirm(context.plan)
    ):
        reasons = []
        if shrinking:
            which = ", ".join(
                f"{p.code} ({plural(len(p.diff.removed), 'shift')} removed, {len(p.diff.added)} added)"
                for p in shrinking
            )
            reasons.append(f"it would remove more shifts than it adds for {which}")
        if review.warnings:
            reasons.append(f"{plural(len(review.warnings), 'warning')} to acknowledge")
        if review.gaps:
            reasons.append(f"it leaves {plural(len(review.gaps), 'gap')} where nobody answers")
        problems.file(
            f"not imported: {'; '.join(reasons)}; check the lines above (or confirm, e.g. with --yes)"
        )
        return None
    version = publish_rota(
        context.session,
        context.policy,
        records,
        context.now,
        context.author,
        file_name=Path(problems.name).name,
        file_hash=context.file_hash,
        acknowledged=True,
        reviewed=review,
    )
    return (
        f"{plural(version.shifts, 'shift')} for {plural(len(review.departments), 'department')}: "
        f"{version.added} added, {version.removed} removed, {version.changed} changed "
        f"(rota version {version.id})"
    )


def rota_plan_lines(review: RotaReview) -> list[str]:
    """What publishing a rota does, per department, then its gaps and notes, as lines for a terminal."""
    lines = [
        f"{p.code}: replaces {local_minute(p.start)} to {local_minute(p.end)} (local time): "
        f"{len(p.diff.added)} added, {len(p.diff.removed)} removed, {len(p.diff.changed)} changed, "
        f"{p.diff.unchanged} unchanged"
        for p in review.departments
    ]
    lines += [gap_line(gap) for gap in review.gaps]
    lines += review.notes
    return lines


def gap_line(gap: Gap) -> str:
    period = "on-call time" if gap.period == "oncall" else "day time"
    return (
        f"{gap.department}: gap in {period} from {local_minute(gap.start)} to {local_minute(gap.end)} "
        "(local time): nobody of the department answers first"
    )


def _discharges(text: str, problems: Problems, context: _Context) -> str | None:
    departments = queries.all_departments(context.session).keys()
    progress = context.progress
    # Checking and storing each take about half the time: one bar over both.
    checked = (lambda done, total: progress(done, 2 * total)) if progress else None
    records = read_discharges(text, problems, departments, local_date(context.now), checked)
    if problems:
        return None
    if context.vault is None:
        raise ValueError("discharges are imported with the CPR vault")
    stored = (lambda done, total: progress(total + done, 2 * total)) if progress else None
    try:
        done = apply_discharges(context.session, context.vault, records, context.now, progress=stored)
    except StayRefused as refused:
        if refused.field and refused.index is not None:  # a row's field: `FILE:ROW: municipality: …`
            problems.add(records[refused.index].row, refused.field, refused.reason)
        else:
            problems.file(str(refused))
        return None
    return f"{plural(done.count, 'discharge')}: {done.added} added, {done.updated} updated"


def _hl7(text: str, problems: Problems, context: _Context) -> str | None:
    if context.vault is None:
        raise ValueError("HL7 messages are imported with the CPR vault")
    mappings = context.mappings or FeedMappings({}, {})
    return import_messages(
        context.session, context.vault, mappings, text, problems, context.now, progress=context.progress
    )


# The kinds of file there are, in the order they are best imported.
IMPORTERS: dict[str, Callable[[str, Problems, _Context], str | None]] = {
    "agreements": _agreements,
    "departments": _departments,
    "callers": _callers,
    "rota": _rota,
    "discharges": _discharges,
    "hl7": _hl7,  # ADT messages, as the MLLP listener takes them (`linje72 mllp`)
    "health-councils": _health_councils,  # the region's grouping of municipalities, for its dashboard
}
IMPORT_KINDS = tuple(IMPORTERS)


# The kinds of file read as CSV text, whose encoding advice names CSV UTF-8.
CSV_KINDS = ("departments", "callers", "health-councils")


def import_path(
    session: Session,
    kind: str,
    path: Path | str,
    *,
    vault: CprVault,
    now: datetime,
    confirm: Confirm | None = None,
    policy: Policy | None = None,
    author: Author | None = None,
    options: RotaOptions | None = None,
    progress: Progress | None = None,
    mappings: FeedMappings | None = None,
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
            session,
            data,
            name=name,
            now=now,
            confirm=confirm,
            options=options,
            progress=progress,
            policy=policy,
            author=author,
        )
    if options is not None:
        raise ValueError(f"rota options given for a {kind} file")
    problems = Problems(name)
    text = decode(data, problems, advice=SAVE_AS_CSV_UTF8) if kind in CSV_KINDS else decode(data, problems)
    if text is None:
        return ImportResult(errors=problems.lines())
    return import_text(
        session,
        kind,
        text,
        name=name,
        vault=vault,
        now=now,
        confirm=confirm,
        policy=policy,
        author=author,
        file_hash=hashlib.sha256(data).hexdigest(),
        mappings=mappings,
        progress=progress,
    )


def import_rota(
    session: Session,
    data: bytes,
    *,
    name: str,
    now: datetime,
    confirm: Confirm | None = None,
    options: RotaOptions | None = None,
    progress: Progress | None = None,
    policy: Policy | None = None,
    author: Author | None = None,
) -> ImportResult:
    """Check a rota file's bytes (CSV, workbook or calendar, told by `name`); publish it when all is well."""
    options = options or RotaOptions()
    problems = Problems(name)
    context = _Context(
        session,
        None,
        now,
        confirm,
        policy=policy,
        author=author or Author("command line", "cli"),
        file_hash=hashlib.sha256(data).hexdigest(),
    )
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
    warnings = problems.warnings() + context.warnings
    if problems or context.errors or summary is None:
        return ImportResult(errors=problems.lines() + context.errors, warnings=warnings, plan=context.plan)
    return ImportResult(warnings=warnings, summary=summary, plan=context.plan)


def import_text(
    session: Session,
    kind: str,
    text: str,
    *,
    name: str,
    vault: CprVault,
    now: datetime,
    confirm: Confirm | None = None,
    policy: Policy | None = None,
    author: Author | None = None,
    file_hash: str = "",
    mappings: FeedMappings | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Check `text` (a file's contents, called `name` in errors) as `kind`; store it when nothing is wrong."""
    importer = IMPORTERS.get(kind)
    if importer is None:
        raise ValueError(f"unknown import kind {kind!r}: expected one of {', '.join(IMPORT_KINDS)}")
    problems = Problems(name)
    context = _Context(
        session,
        vault,
        now,
        confirm,
        policy=policy,
        author=author or Author("command line", "cli"),
        file_hash=file_hash or hashlib.sha256(text.encode()).hexdigest(),
        mappings=mappings,
        progress=progress,
    )
    summary = importer(text, problems, context)
    warnings = problems.warnings() + context.warnings
    if problems or context.errors or summary is None:
        return ImportResult(errors=problems.lines() + context.errors, warnings=warnings, plan=context.plan)
    return ImportResult(warnings=warnings, summary=summary, plan=context.plan)
