"""The planner's rota pages: upload, preview the draft, publish or discard it, versions, restore."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from app.data.db import session_scope
from app.data.models import RotaVersion
from app.services import audit
from app.services.directory import all_departments_listed
from app.services.rota import (
    Author,
    RotaRefused,
    discard_draft,
    find_version,
    publish_draft,
    restore_version,
    review_draft,
    upload_rota,
    versions,
)
from app.values.access import Permission
from app.web import bp
from app.web.forms import ActionForm, PublishForm, UploadForm
from app.web.guard import now, record, requires

# A year of a big department's rota is well under a megabyte; more is a wrong file.
MAX_UPLOAD = 5 * 1024 * 1024
ROLES = ("oncall", "day", "backup", "nurse")
# "rota.csv:7: phone: warning: …", "rota.ics: event 3 (UID x): start: …", "rota.csv: no department …"
FINDING = re.compile(
    r"^(?P<where>.+?(?::\d+)?(?:: (?:event|sheet|cell|row) [^:]*)?): "
    r"(?:(?P<column>[a-z_]{2,20}): )?(?P<message>.*)$"
)


@dataclass(frozen=True)
class Finding:
    """One line of what the checks found, split so the page can show where, which column and what."""

    where: str
    column: str
    message: str

    @property
    def row(self) -> str:
        """The file's row number when the finding names one (an iCalendar event is named as it is)."""
        _file, colon, number = self.where.rpartition(":")
        return number if colon and number.isdigit() else ""


def findings(lines: list[str]) -> list[Finding]:
    parsed = []
    for line in lines:
        match = FINDING.match(line)
        if match is None:
            parsed.append(Finding("", "", line))
            continue
        message = match["message"]
        message = message.removeprefix("warning: ")
        parsed.append(Finding(match["where"], match["column"] or "", message))
    return parsed


def _author(source: str = "web") -> Author:
    return Author(current_user.email, source, current_user.user_id)


def _editable(db: Session) -> list[tuple[str, str]]:
    """The departments whose rota this account may change: (code, name)."""
    visible = current_user.visible
    return [
        (d.code, f"{d.code} · {d.name}")
        for d in all_departments_listed(db)
        if visible is None or d.code in visible
    ]


def _file_name(raw: str) -> str:
    # Some browsers send the whole path of the file on the planner's machine: keep its name only.
    return raw.replace("\\", "/").rsplit("/", 1)[-1].strip()[:255]


@bp.route("/rota/upload", methods=["GET", "POST"])
@requires(Permission.EDIT_ROTA)
def upload() -> str | Response | tuple[str, int]:
    """Upload a rota file; its errors, or a draft to preview. Nothing is live until it is published."""
    too_big = (request.content_length or 0) > MAX_UPLOAD + 64 * 1024
    if too_big:
        request.max_content_length = None  # read nothing of it; the message below says why
    form = UploadForm(formdata=None) if too_big else UploadForm()
    with session_scope() as db:
        choices = _editable(db)
    form.department.choices = [("", _("choose for an iCalendar file"))] + choices
    form.role.choices = [(role, _(role)) for role in ROLES]
    if request.method == "GET":
        return render_template("upload.html", form=form, errors=[], warnings=[])
    if too_big:
        return _refused(
            form, [_("The file is larger than %(num)d MB: is it the right file?", num=MAX_UPLOAD // 2**20)]
        )
    if not form.validate_on_submit():
        abort(400)
    upload = form.file.data
    data = upload.read(MAX_UPLOAD + 1) if upload else b""
    name = _file_name(upload.filename or "") if upload else ""
    if not name or not data:
        return _refused(form, [_("Choose the rota file to upload (CSV, Excel or iCalendar).")])
    if len(data) > MAX_UPLOAD:
        return _refused(
            form, [_("The file is larger than %(num)d MB: is it the right file?", num=MAX_UPLOAD // 2**20)]
        )
    options = {
        key: value
        for key, value in (
            ("sheet", (form.sheet.data or "").strip()),
            ("department", form.department.data or ""),
            ("role", form.role.data if form.department.data else ""),
        )
        if value
    }
    with session_scope(write=True) as db:
        result = upload_rota(
            db,
            current_app.config["POLICY"],
            data,
            name,
            now(),
            _author(),
            allowed=current_user.visible,
            options=options,
        )
        draft_id = result.draft.id if result.draft is not None else None
        if draft_id is not None:
            record(
                db,
                audit.CHANGE,
                "rota draft",
                f"#{draft_id} uploaded from {name} ({result.review.shifts} shifts)",
            )
    if draft_id is None:
        return _refused(form, result.errors, result.review.warnings, name)
    return redirect(url_for("web.draft", draft_id=draft_id))


def _refused(
    form: UploadForm, errors: list[str], warnings: list[str] | None = None, name: str = ""
) -> tuple[str, int]:
    """The upload page again, with what is wrong: nothing was stored."""
    return (
        render_template(
            "upload.html",
            form=form,
            errors=findings(errors),
            warnings=findings(warnings or []),
            file_name=name,
        ),
        422,
    )


def _preview(db: Session, draft_id: int, problem: str = "") -> str:
    try:
        draft, review = review_draft(
            db, current_app.config["POLICY"], draft_id, now(), _author(), allowed=current_user.visible
        )
    except RotaRefused:
        abort(404)  # another person's draft, or one already published or discarded
    return render_template(
        "draft.html",
        draft=draft,
        review=review,
        errors=findings(review.errors),
        warnings=findings(review.warnings),
        notes=findings(review.notes),
        form=PublishForm(formdata=None),
        action=ActionForm(formdata=None),
        problem=problem,
        now=now(),
    )


@bp.get("/rota/drafts/<int:draft_id>")
@requires(Permission.EDIT_ROTA)
def draft(draft_id: int) -> str:
    """What publishing the draft would do, department by department; its warnings and gaps."""
    with session_scope(write=True) as db:
        page = _preview(db, draft_id)
        record(db, audit.VIEW, "rota draft", f"#{draft_id}")
    return page


@bp.post("/rota/drafts/<int:draft_id>/publish")
@requires(Permission.EDIT_ROTA)
def publish(draft_id: int) -> str | Response | tuple[str, int]:
    """Publish the draft (checked again against the rota as it is now); warnings and gaps acknowledged."""
    form = PublishForm()
    form.validate_on_submit()
    with session_scope(write=True) as db:
        try:
            version = publish_draft(
                db,
                current_app.config["POLICY"],
                draft_id,
                now(),
                _author(),
                acknowledged=bool(form.acknowledged.data),
                allowed=current_user.visible,
            )
        except RotaRefused as refused:
            db.rollback()
            if refused.review is None:
                abort(404)
            if refused.review.errors:
                problem = _("Not published: the errors below must be mended first (upload a corrected file).")
            else:
                problem = _("Not published: tick “I have read the warnings and gaps” first.")
            return _preview(db, draft_id, problem), 409
        number, file_name = version.id, version.file_name
        record(
            db,
            audit.CHANGE,
            "rota",
            f"published version #{number} from draft #{draft_id} ({file_name}): "
            f"{version.added} added, {version.removed} removed, {version.changed} changed",
        )
    flash(
        _("Published: version #%(num)d is live now. Calls are routed by it from this moment.", num=number),
        "ok",
    )
    return redirect(url_for("web.version", version_id=number))


@bp.post("/rota/drafts/<int:draft_id>/discard")
@requires(Permission.EDIT_ROTA)
def discard(draft_id: int) -> Response:
    """Throw the draft away; nothing of it was ever live."""
    ActionForm().validate_on_submit()
    with session_scope(write=True) as db:
        try:
            discard_draft(db, draft_id, _author())
        except RotaRefused:
            abort(404)
        record(db, audit.CHANGE, "rota draft", f"#{draft_id} discarded")
    flash(_("The draft was discarded. Nothing was changed."), "info")
    return redirect(url_for("web.upload"))


@bp.get("/rota/versions")
@requires(Permission.EDIT_ROTA)
def version_list() -> str:
    """Every publish of the account's departments, newest first."""
    visible = current_user.visible
    with session_scope(write=True) as db:
        rows = versions(db, visible, limit=100)
        record(db, audit.VIEW, "rota versions", f"{len(rows)} versions")
        return render_template("versions.html", rows=rows, visible=visible, action=ActionForm(formdata=None))


def _version(db: Session, version_id: int) -> RotaVersion:
    """The version, when it touches a department the account sees (else 404: not even whether it exists)."""
    found = find_version(db, version_id, current_user.visible)
    if found is None:
        abort(404)
    return found


@bp.get("/rota/versions/<int:version_id>")
@requires(Permission.EDIT_ROTA)
def version(version_id: int) -> str:
    """One publish: who, when, from which file, each department's period and shifts; restore it."""
    visible = current_user.visible
    with session_scope(write=True) as db:
        found = _version(db, version_id)
        record(db, audit.VIEW, "rota version", f"#{version_id}")
        return render_template(
            "version.html", version=found, visible=visible, action=ActionForm(formdata=None)
        )


@bp.post("/rota/versions/<int:version_id>/restore")
@requires(Permission.EDIT_ROTA)
def restore(version_id: int) -> Response:
    """Publish an earlier version's shifts again over its periods, as a new version."""
    ActionForm().validate_on_submit()
    with session_scope(write=True) as db:
        _version(db, version_id)
        if request.form.get("confirm") != "y":
            flash(_("Not restored: tick the box to confirm first."), "error")
            return redirect(url_for("web.version", version_id=version_id))
        try:
            restored = restore_version(
                db,
                current_app.config["POLICY"],
                version_id,
                now(),
                _author("restore"),
                allowed=current_user.visible,
            )
        except RotaRefused as refused:
            db.rollback()
            flash(_("Not restored: %(reason)s", reason=str(refused)), "error")
            return redirect(url_for("web.version", version_id=version_id))
        number = restored.id
        record(db, audit.CHANGE, "rota", f"restored version #{version_id} as version #{number}")
    flash(
        _("Version #%(old)d restored: it is live again as version #%(num)d.", old=version_id, num=number),
        "ok",
    )
    return redirect(url_for("web.version", version_id=number))
