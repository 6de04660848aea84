"""A caller's voice message on a follow-up task, played through the app (never from the provider).

Only the task's department's staff and admins hear it (the region does not); another department's
task, or one without a stored message, is a 404. Every playing is audited, naming the task and the
patient's pseudonym, never a CPR number. The audio is not cached anywhere on the way.
"""

from __future__ import annotations

from flask import abort, current_app
from flask_login import current_user
from werkzeug.wrappers import Response

from app.data.db import session_scope
from app.services import audit
from app.services.voice import message_for_follow_up
from app.values.access import Permission
from app.web import bp
from app.web.guard import record, requires


@bp.get("/followup/<int:follow_up_id>/message")
@requires(Permission.PLAY_MESSAGES)
def play_message(follow_up_id: int) -> Response:
    """The decrypted audio of the task's message, with its content type."""
    vault = current_app.extensions["linje72.vault"]
    with session_scope(write=True) as db:
        played = message_for_follow_up(db, vault, follow_up_id, current_user.visible)
        if played is None:
            abort(404)
        record(
            db,
            audit.VIEW,
            f"follow-up {played.follow_up_id}",
            f"voice message played ({played.seconds} s); patient {played.patient_ref or 'not identified'}",
        )
    response = Response(played.audio, mimetype=played.content_type)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Disposition"] = f'inline; filename="follow-up-{follow_up_id}.mp3"'
    return response
