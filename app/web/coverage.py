"""Coverage at a glance: a department's next 14 days, the region's next 7, and the gaps in them."""

from __future__ import annotations

from datetime import datetime

from flask import abort, current_app, render_template, request
from flask_login import current_user
from sqlalchemy.orm import Session

from app.data.db import session_scope
from app.services import audit
from app.services.agreements import DEFAULT_AGREEMENT, agreement_names
from app.services.coverage import DepartmentCoverage, department_coverage
from app.services.directory import hospitals
from app.values.access import Permission
from app.web import bp
from app.web.guard import now, record, requires
from app.web.timeline import Warning, day_rows, days_ahead, kind, strip_markup, warnings
from routing import Stretch

TIMELINE_DAYS = 14
OVERVIEW_DAYS = 7


def gaps_ahead(db: Session, codes: tuple[str, ...] | None) -> tuple[list[Warning], datetime]:
    """The gaps of the account's departments in the next week, earliest first, and where the week ends."""
    moment = now()
    end = days_ahead(moment, OVERVIEW_DAYS)
    found = department_coverage(db, current_app.config["POLICY"].calendar, moment, end, codes, gaps_only=True)
    return warnings([(gap, c.name) for c in found for gap in c.gaps], moment), end


@bp.app_template_filter("kind")
def stretch_kind(stretch: Stretch) -> str:
    return kind(stretch)


@bp.get("/coverage")
@requires(Permission.VIEW_COVERAGE)
def overview() -> str:
    """Every department's next seven days on one screen: covered, the department's phone, or a gap."""
    moment = now()
    end = days_ahead(moment, OVERVIEW_DAYS)
    hospital = request.args.get("hospital", "")
    only_gaps = request.args.get("gaps") == "1"
    agreement = request.args.get("agreement", "")[:16]
    visible = current_user.visible
    with session_scope() as db:
        # One call for every department: three queries however many there are.
        found = department_coverage(
            db,
            current_app.config["POLICY"].calendar,
            moment,
            end,
            visible,
            hospital if visible is None else "",
            agreement=agreement,
        )
        names = hospitals(db) if visible is None else sorted({c.hospital for c in found})
        agreements = agreement_names(db)
    if visible is not None and hospital:
        found = [c for c in found if c.hospital == hospital]
    listed = warnings([(gap, c.name) for c in found for gap in c.gaps], moment)
    shown: list[DepartmentCoverage] = [c for c in found if c.gaps] if only_gaps else found
    return render_template(
        "coverage.html",
        rows=[(c, strip_markup(c.stretches, moment, OVERVIEW_DAYS)) for c in shown],
        days=day_rows([], moment, OVERVIEW_DAYS),
        count=len(found),
        warnings=listed,
        hospitals=names,
        hospital=hospital,
        only_gaps=only_gaps,
        agreements=agreements,
        agreement=agreement,
        default_agreement=DEFAULT_AGREEMENT,
        now=moment,
        end=end,
    )


@bp.get("/coverage/<code>")
@requires(Permission.VIEW_COVERAGE)
def timeline(code: str) -> str:
    """One department's next 14 days: who covers each stretch, the overrides, the gaps to the minute."""
    visible = current_user.visible
    if visible is not None and code not in visible:
        abort(404)  # never another department's rota, nor whether it exists
    moment = now()
    end = days_ahead(moment, TIMELINE_DAYS)
    with session_scope(write=True) as db:
        found = department_coverage(db, current_app.config["POLICY"].calendar, moment, end, [code])
        if not found:
            abort(404)
        record(db, audit.VIEW, "coverage timeline", code)
    department = found[0]
    return render_template(
        "timeline.html",
        department=department,
        rows=day_rows(department.stretches, moment, TIMELINE_DAYS),
        warnings=warnings([(gap, department.name) for gap in department.gaps], moment),
        now=moment,
        end=end,
    )
