"""A department's rota (vagtplan): check, preview, publish as a version, restore, read.

Every surface (the planner's upload page, `linje72 import rota`, the API for scheduling
systems, the demo) goes through `review_rota` and `publish_rota`: the same checks, the
same preview, the same versions. Nothing is live until it is published, and a publish
is one transaction: a call sees the old rota or the new one, never half.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.config import Policy
from app.data import queries
from app.data.models import Department, RotaDraft, RotaVersion, RotaVersionDepartment, Shift
from app.intake.rota import ShiftRecord, read_rota_file
from app.intake.table import Problems
from app.services.coverage import stored_shifts
from app.values.times import local_minute
from routing import (
    LONGEST_SHIFT,
    Cover,
    Gap,
    Role,
    RotaDiff,
    ShiftInfo,
    ShiftKey,
    apply_overrides,
    check_rota,
    coverage,
    diff_rota,
    gaps,
    shift_problem,
)

# How many notes of one kind a review lists before it counts the rest.
NOTES_SHOWN = 20

Scope = Mapping[str, tuple[datetime, datetime]]


class RotaRefused(ValueError):
    """A rota that cannot be published as it is; `review` says why."""

    def __init__(self, message: str, review: RotaReview | None = None) -> None:
        super().__init__(message)
        self.review = review


@dataclass(frozen=True)
class DepartmentPreview:
    """What publishing does to one department: the period it replaces, the changes, the gaps left."""

    code: str
    name: str
    start: datetime
    end: datetime
    diff: RotaDiff
    shifts: int
    gaps: list[Gap]

    @property
    def shrinks(self) -> bool:
        """More shifts removed than added: one stray row may have widened the period."""
        return len(self.diff.removed) > len(self.diff.added)


@dataclass
class RotaReview:
    """Everything a planner must see before publishing: errors block it; warnings and gaps must
    be acknowledged; notes are only shown."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    departments: list[DepartmentPreview] = field(default_factory=list)
    shifts: int = 0

    @property
    def gaps(self) -> list[Gap]:
        return [gap for preview in self.departments for gap in preview.gaps]

    @property
    def publishable(self) -> bool:
        return not self.errors

    @property
    def needs_acknowledgement(self) -> bool:
        return bool(self.warnings or self.gaps)


def where(record: ShiftRecord, file_name: str) -> str:
    """The place a finding points at: the file's row, or the record's own locator (an event, a cell)."""
    return f"{file_name}: {record.place}" if record.place else f"{file_name}:{record.row}"


def review_rota(
    session: Session,
    policy: Policy,
    records: Sequence[ShiftRecord],
    now: datetime,
    *,
    file_name: str = "rota",
    allowed: Collection[str] | None = None,
    scope: Scope | None = None,
    read_warnings: Sequence[str] = (),
) -> RotaReview:
    """Check `records` as a whole and preview what publishing them would do; write nothing.

    `allowed` are the department codes the person may edit (None: all); `scope` names the
    period replaced per department (default: from its first shift's start to its last end);
    `read_warnings` are what reading the file found, to be acknowledged with the rest.
    """
    review = RotaReview(shifts=len(records), warnings=list(read_warnings))
    departments = queries.all_departments(session)
    for record in records:
        if record.department not in departments:
            review.errors.append(
                f"{where(record, file_name)}: department: no department with code "
                f"{record.department!r} (import departments first)"
            )
        elif allowed is not None and record.department not in allowed:
            review.errors.append(
                f"{where(record, file_name)}: department: you may not edit the rota of {record.department}"
            )
        problem = shift_problem(record.start, record.end)
        if problem:
            review.errors.append(f"{where(record, file_name)}: end: {problem}")
    periods = _periods(records, scope)
    for code, (start, end) in periods.items():
        if scope is not None and code in scope:
            for record in records:
                if record.department == code and not start <= record.start < end:
                    review.errors.append(
                        f"{where(record, file_name)}: start: outside the period replaced for {code} "
                        f"({local_minute(start)} to {local_minute(end)})"
                    )
        if code not in departments and code not in {r.department for r in records}:
            review.errors.append(f"{file_name}: no department with code {code!r}")
    notes: dict[str, list[str]] = defaultdict(list)
    for finding in check_rota(records):
        record = records[finding.index]
        message = finding.message
        if finding.other is not None:
            other = records[finding.other]
            message += f" ({other.name or other.phone}, {_span(other)}, {_ref(other)})"
        line = f"{where(record, file_name)}: {finding.column}: {message}"
        if finding.severity == "error":
            review.errors.append(line)
        elif finding.severity == "warning":
            review.warnings.append(f"{where(record, file_name)}: {finding.column}: warning: {message}")
        else:
            notes[finding.message].append(line)
    for kind, lines in notes.items():
        review.notes += lines[:NOTES_SHOWN]
        if len(lines) > NOTES_SHOWN:
            review.notes.append(f"{file_name}: … and {len(lines) - NOTES_SHOWN} more: {kind}")
    if review.errors:
        return review
    review.departments = _previews(session, policy, records, periods, departments, now)
    return review


def _ref(record: ShiftRecord) -> str:
    return record.place or f"row {record.row}"


def _span(record: ShiftRecord) -> str:
    return f"{local_minute(record.start)} to {local_minute(record.end)}"


def _periods(records: Iterable[ShiftRecord], scope: Scope | None) -> dict[str, tuple[datetime, datetime]]:
    """Per department: the period the records replace."""
    periods: dict[str, tuple[datetime, datetime]] = dict(scope or {})
    for record in records:
        if scope is not None and record.department in scope:
            continue
        if record.department in periods:
            start, end = periods[record.department]
            periods[record.department] = (min(start, record.start), max(end, record.end))
        else:
            periods[record.department] = (record.start, record.end)
    return dict(sorted(periods.items()))


def _previews(
    session: Session,
    policy: Policy,
    records: Sequence[ShiftRecord],
    periods: Mapping[str, tuple[datetime, datetime]],
    departments: Mapping[str, Department],
    now: datetime,
) -> list[DepartmentPreview]:
    by_department: dict[str, list[ShiftRecord]] = defaultdict(list)
    for record in records:
        by_department[record.department].append(record)
    live = _live_keys(session, {departments[code].id: period for code, period in periods.items()})
    ids = [departments[code].id for code in periods]
    earliest = min((max(start, now) for start, _ in periods.values()), default=now)
    latest = max((end for _, end in periods.values()), default=now)
    overrides = queries.overrides_between(session, ids, earliest, latest) if ids else {}
    # A department that takes its nights from a pool is covered then by the pool's rota: the
    # published one, with this file's shifts in place of those it replaces when it gives the pool's.
    pools = {code: queries.pool_of(session, departments[code]) for code in periods}
    pool_ids = [p.id for p in pools.values() if p is not None]
    published = stored_shifts(session, pool_ids, earliest, latest)
    pool_overrides = queries.overrides_between(session, pool_ids, earliest, latest) if pool_ids else {}
    previews = []
    for code, (start, end) in periods.items():
        department = departments[code]
        mine = by_department.get(code, [])
        new = [(r.role.value, r.start, r.end, r.name, r.phone) for r in mine]
        covers = apply_overrides(
            [ShiftInfo(r.role, r.start, r.end, r.phone, r.name) for r in mine],
            overrides.get(department.id, []),
        )
        # Only the time still ahead can be mended: gaps are looked for from now on.
        from_ = max(start, now)
        pool = pools[code]
        pool_covers: list[Cover] = []
        if pool is not None:
            pool_shifts = published[pool.id]
            if pool.code in periods:
                p_start, p_end = periods[pool.code]
                pool_shifts = [s for s in pool_shifts if not p_start <= s.start < p_end] + [
                    ShiftInfo(r.role, r.start, r.end, r.phone, r.name) for r in by_department[pool.code]
                ]
            pool_covers = apply_overrides(pool_shifts, pool_overrides[pool.id])
        calendar = queries.calendar_of(session, code, policy.calendar)  # its agreement's, if any
        stretches = coverage(
            queries.department_info(department),
            calendar,
            covers,
            from_,
            end,
            pool=queries.department_info(pool) if pool is not None else None,
            pool_covers=pool_covers,
        )
        found = gaps(code, stretches) if from_ < end else []
        previews.append(
            DepartmentPreview(
                code,
                department.name,
                start,
                end,
                diff_rota(live.get(department.id, []), new),
                len(mine),
                found,
            )
        )
    return previews


def _live_keys(
    session: Session, periods: Mapping[int, tuple[datetime, datetime]]
) -> dict[int, list[ShiftKey]]:
    """The published shifts that start inside each department's period, as the preview compares them
    (one query for all the departments: a region's year is one read, not three hundred)."""
    found: dict[int, list[ShiftKey]] = defaultdict(list)
    if not periods:
        return found
    earliest = min(start for start, _ in periods.values())
    latest = max(end for _, end in periods.values())
    rows = session.execute(
        select(Shift.department_id, Shift.role, Shift.start_at, Shift.end_at, Shift.name, Shift.phone).where(
            Shift.department_id.in_(list(periods)), Shift.start_at >= earliest, Shift.start_at < latest
        )
    )
    for department_id, role, start, end, name, phone in rows:
        first, last = periods[department_id]
        if first <= start < last:
            found[department_id].append((role, start, end, name, phone))
    return found


@dataclass(frozen=True)
class Author:
    """Who publishes, and through which surface (web, cli, api, restore, demo)."""

    actor: str
    source: str
    user_id: int | None = None


def publish_rota(
    session: Session,
    policy: Policy,
    records: Sequence[ShiftRecord],
    now: datetime,
    author: Author,
    *,
    file_name: str = "",
    file_hash: str = "",
    acknowledged: bool = False,
    allowed: Collection[str] | None = None,
    scope: Scope | None = None,
    restored_from: int | None = None,
    read_warnings: Sequence[str] = (),
    reviewed: RotaReview | None = None,
) -> RotaVersion:
    """Check `records` again and make them the live rota of their periods, as one new version.

    Raises RotaRefused when the checks find errors, or warnings or gaps that were not
    acknowledged. `reviewed` is a review of these same records made in this same
    transaction (nothing can have changed since), which saves doing it twice. Flushes,
    never commits: the caller's transaction makes it live at once.
    """
    review = reviewed or review_rota(
        session,
        policy,
        records,
        now,
        file_name=file_name or "rota",
        allowed=allowed,
        scope=scope,
        read_warnings=read_warnings,
    )
    if not review.publishable:
        raise RotaRefused(f"not published: {len(review.errors)} problem(s) must be mended first", review)
    if review.needs_acknowledgement and not acknowledged:
        raise RotaRefused(
            f"not published: {len(review.warnings)} warning(s) and {len(review.gaps)} gap(s) "
            "must be acknowledged first",
            review,
        )
    departments = queries.all_departments(session)
    version = RotaVersion(
        published_at=now,
        user_id=author.user_id,
        actor=author.actor,
        source=author.source,
        file_name=file_name[:255],
        file_hash=file_hash,
        shifts=len(records),
        added=sum(len(p.diff.added) for p in review.departments),
        removed=sum(len(p.diff.removed) for p in review.departments),
        changed=sum(len(p.diff.changed) for p in review.departments),
        restored_from_id=restored_from,
    )
    session.add(version)
    session.flush()
    by_department: dict[str, list[ShiftRecord]] = defaultdict(list)
    for record in records:
        by_department[record.department].append(record)
    rows: list[dict[str, object]] = []
    # A year's rota repeats a few thousand start and end times across its 300,000 shifts:
    # each is written out once.
    written: dict[datetime, str] = {}

    def iso(moment: datetime) -> str:
        text = written.get(moment)
        if text is None:
            text = written[moment] = moment.isoformat()
        return text

    # The replaced shifts go in one statement a department on the transaction's connection: the
    # ORM's delete would flush the versions' snapshots one department at a time before each.
    connection = session.connection()
    for preview in review.departments:
        department = departments[preview.code]
        connection.execute(
            delete(Shift).where(
                Shift.department_id == department.id,
                Shift.start_at >= preview.start,
                Shift.start_at < preview.end,
            )
        )
        mine = by_department.get(preview.code, [])
        session.add(
            RotaVersionDepartment(
                version_id=version.id,
                department_id=department.id,
                period_start=preview.start,
                period_end=preview.end,
                shifts=[_snapshot(record, iso) for record in mine],
                added=len(preview.diff.added),
                removed=len(preview.diff.removed),
                changed=len(preview.diff.changed),
            )
        )
        rows += [
            {
                "department_id": department.id,
                "role": record.role.value,
                "start_at": record.start,
                "end_at": record.end,
                "name": record.name,
                "phone": record.phone,
                "version_id": version.id,
            }
            for record in mine
        ]
    queries.insert_shifts(session, rows)
    session.flush()
    return version


def _snapshot(record: ShiftRecord, iso: Callable[[datetime], str] = datetime.isoformat) -> list[str]:
    return [record.role.value, iso(record.start), iso(record.end), record.name, record.phone]


def _from_snapshot(code: str, item: Sequence[str], row: int) -> ShiftRecord:
    role, start, end, name, phone = item
    return ShiftRecord(
        code, Role(role), datetime.fromisoformat(start), datetime.fromisoformat(end), phone, name, row
    )


def restore_version(
    session: Session,
    policy: Policy,
    version_id: int,
    now: datetime,
    author: Author,
    *,
    allowed: Collection[str] | None = None,
) -> RotaVersion:
    """Publish an earlier version's shifts again over its periods, as a new version."""
    old = session.get(RotaVersion, version_id)
    if old is None:
        raise RotaRefused(f"no rota version {version_id}")
    records: list[ShiftRecord] = []
    scope: dict[str, tuple[datetime, datetime]] = {}
    for part in old.departments:
        code = part.department.code
        scope[code] = (part.period_start, part.period_end)
        records += [_from_snapshot(code, item, n) for n, item in enumerate(part.shifts, start=1)]
    if allowed is not None and not set(scope) <= set(allowed):
        raise RotaRefused(f"version {version_id} covers departments you may not edit")
    return publish_rota(
        session,
        policy,
        records,
        now,
        author,
        file_name=old.file_name,
        file_hash=old.file_hash,
        acknowledged=True,  # restoring puts back what was acknowledged when it was published
        allowed=allowed,
        scope=scope,
        restored_from=old.id,
    )


def versions(session: Session, visible: Collection[str] | None, limit: int = 50) -> list[RotaVersion]:
    """The newest publishes first, those touching a visible department only."""
    query = select(RotaVersion).order_by(RotaVersion.published_at.desc(), RotaVersion.id.desc())
    if visible is not None:
        query = query.where(
            RotaVersion.id.in_(
                select(RotaVersionDepartment.version_id)
                .join(Department)
                .where(Department.code.in_(list(visible)))
            )
        )
    return list(session.scalars(query.limit(limit)))


def find_version(session: Session, version_id: int, visible: Collection[str] | None) -> RotaVersion | None:
    """The version, when it touches a department the person sees (None: not even whether it exists)."""
    found = session.get(RotaVersion, version_id)
    if found is None or visible is None:
        return found
    return found if any(part.department.code in visible for part in found.departments) else None


# ---- drafts: an upload checked and kept until the planner publishes or discards it ----


def save_draft(
    session: Session,
    records: Sequence[ShiftRecord],
    review: RotaReview,
    now: datetime,
    author: Author,
    *,
    file_name: str,
    file_hash: str,
    scope: Scope | None = None,
    read_warnings: Sequence[str] = (),
) -> RotaDraft:
    draft = RotaDraft(
        created_at=now,
        user_id=author.user_id,
        actor=author.actor,
        source=author.source,
        file_name=file_name[:255],
        file_hash=file_hash,
        records=[
            {
                "department": r.department,
                "role": r.role.value,
                "start": r.start.isoformat(),
                "end": r.end.isoformat(),
                "name": r.name,
                "phone": r.phone,
                "row": r.row,
                "place": r.place,
            }
            for r in records
        ],
        scope={code: [start.isoformat(), end.isoformat()] for code, (start, end) in (scope or {}).items()},
        findings={
            "read": list(read_warnings),
            "errors": review.errors,
            "warnings": review.warnings,
            "notes": review.notes,
        },
    )
    session.add(draft)
    session.flush()
    return draft


def draft_records(draft: RotaDraft) -> list[ShiftRecord]:
    records = []
    for item in draft.records:
        record = ShiftRecord(
            item["department"],
            Role(item["role"]),
            datetime.fromisoformat(item["start"]),
            datetime.fromisoformat(item["end"]),
            item["phone"],
            item["name"],
            item["row"],
            item.get("place", ""),
        )
        records.append(record)
    return records


def draft_scope(draft: RotaDraft) -> dict[str, tuple[datetime, datetime]] | None:
    if not draft.scope:
        return None
    return {
        code: (datetime.fromisoformat(start), datetime.fromisoformat(end))
        for code, (start, end) in draft.scope.items()
    }


def find_draft(session: Session, draft_id: int, author: Author) -> RotaDraft:
    """The author's own draft still waiting to be published (another's is not found)."""
    draft = session.get(RotaDraft, draft_id)
    if draft is None or draft.status != "draft" or draft.actor != author.actor:
        raise RotaRefused(f"no draft {draft_id} waiting to be published")
    return draft


def review_draft(
    session: Session,
    policy: Policy,
    draft_id: int,
    now: datetime,
    author: Author,
    *,
    allowed: Collection[str] | None = None,
) -> tuple[RotaDraft, RotaReview]:
    """The draft, reviewed again against the rota as it is now (it may have changed since)."""
    draft = find_draft(session, draft_id, author)
    review = review_rota(
        session,
        policy,
        draft_records(draft),
        now,
        file_name=draft.file_name,
        allowed=allowed,
        scope=draft_scope(draft),
        read_warnings=draft.findings.get("read", []),
    )
    return draft, review


def publish_draft(
    session: Session,
    policy: Policy,
    draft_id: int,
    now: datetime,
    author: Author,
    *,
    acknowledged: bool,
    allowed: Collection[str] | None = None,
) -> RotaVersion:
    """Publish a checked upload: the checks run again against the rota as it is now."""
    draft = find_draft(session, draft_id, author)
    version = publish_rota(
        session,
        policy,
        draft_records(draft),
        now,
        Author(author.actor, draft.source, author.user_id),
        file_name=draft.file_name,
        file_hash=draft.file_hash,
        acknowledged=acknowledged,
        allowed=allowed,
        scope=draft_scope(draft),
        read_warnings=draft.findings.get("read", []),
    )
    draft.status = "published"
    draft.version_id = version.id
    session.flush()
    return version


def discard_draft(session: Session, draft_id: int, author: Author) -> None:
    find_draft(session, draft_id, author).status = "discarded"
    session.flush()


# ---- reading the rota ----


def shifts_between(session: Session, department_id: int, start: datetime, end: datetime) -> list[Shift]:
    """The department's published shifts that overlap [start, end), earliest first."""
    return list(
        session.scalars(
            select(Shift)
            .where(
                Shift.department_id == department_id,
                Shift.start_at > start - LONGEST_SHIFT,
                Shift.start_at < end,
                Shift.end_at > start,
            )
            .order_by(Shift.start_at, Shift.id)
        )
    )


# ---- an uploaded file: read, review, keep as a draft ----


@dataclass
class Upload:
    """A rota file read and reviewed: the draft to publish, or why it cannot be."""

    review: RotaReview
    draft: RotaDraft | None = None
    read_errors: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return self.read_errors + self.review.errors


def upload_rota(
    session: Session,
    policy: Policy,
    data: bytes,
    file_name: str,
    now: datetime,
    author: Author,
    *,
    allowed: Collection[str] | None = None,
    options: Mapping[str, str] | None = None,
) -> Upload:
    """Read a rota file (CSV, Excel or iCalendar), check it whole and keep it as a draft.

    Nothing is live until `publish_draft`. A file with errors is kept as no draft at all:
    the errors come back, each naming the file's row (or event) and what is wrong.
    `options` are what the file itself cannot say: `sheet` (Excel), `department` and
    `role` (iCalendar).
    """
    problems = Problems(file_name)
    given = options or {}
    records = read_rota_file(
        data,
        file_name,
        problems,
        queries.all_departments(session).keys(),
        now,
        sheet=given.get("sheet") or None,
        department=given.get("department") or None,
        role=given.get("role") or None,
    )
    if problems:
        return Upload(RotaReview(warnings=problems.warnings()), read_errors=problems.lines())
    review = review_rota(
        session, policy, records, now, file_name=file_name, allowed=allowed, read_warnings=problems.warnings()
    )
    if not review.publishable:
        return Upload(review)
    digest = hashlib.sha256(data).hexdigest()
    return Upload(
        review, save_draft(session, records, review, now, author, file_name=file_name, file_hash=digest)
    )
