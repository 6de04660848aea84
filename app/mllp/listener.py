"""The listener's glue: each message one service call in one transaction, logged by id, never by patient."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy.orm import Session

from app.data.db import session_scope
from app.intake.hl7v2 import Ack, FeedMaps, refusal
from app.mllp.server import Answer, Limits, MllpServer, Refuse
from app.services.feed_maps import feed_maps
from app.services.hl7_feed import Receipt, failed_message, receive_message

log = logging.getLogger("linje72.mllp")


# The code tables (the mapping file's and our department codes) are kept this long between
# messages: a department added to the database is accepted by the listener within it.
MAPS_KEPT = timedelta(seconds=30)


def answerer(app: Flask) -> Answer:
    """Return the function that applies one message's bytes and gives its ACK's bytes."""
    vault = app.extensions["linje72.vault"]
    mappings = app.config["FEED_MAPPINGS"]
    kept: list[tuple[datetime, FeedMaps]] = []
    lock = threading.Lock()

    def maps(session: Session, now: datetime) -> FeedMaps:
        with lock:
            if not kept or now - kept[0][0] > MAPS_KEPT or now < kept[0][0]:
                kept[:] = [(now, feed_maps(session, mappings))]
            return kept[0][1]

    def answer(payload: bytes) -> bytes:
        with app.app_context():
            now = app.config["CLOCK"]()
            try:
                with session_scope(write=True) as session:
                    receipt = receive_message(session, vault, mappings, payload, now, maps(session, now))
                    if receipt.code is not Ack.ACCEPTED:
                        session.rollback()  # nothing of a message that is not accepted is kept
            except Exception:
                log.exception("a message could not be applied (an error on our side)")
                receipt = failed_message(payload, now)
        _log(receipt)
        return receipt.ack.encode()

    return answer


def refuser(app: Flask) -> Refuse:
    """Return the function that gives the AR for bytes that cannot be framed."""

    def refuse(reason: str) -> bytes:
        return refusal(reason, app.config["CLOCK"]()).encode()

    return refuse


def _log(receipt: Receipt) -> None:
    event = f" (ADT^{receipt.event})" if receipt.event else ""
    name = receipt.message_id or "without an id"
    if receipt.code is Ack.ACCEPTED:
        log.info("message %s%s acknowledged AA: %s", name, event, receipt.text)
    else:
        log.warning("message %s%s acknowledged %s: %s", name, event, receipt.code, receipt.text)


def make_server(app: Flask, host: str, port: int, limits: Limits | None = None) -> MllpServer:
    """Return the listener bound to `host`:`port` (0: any free port), not yet serving."""
    return MllpServer((host, port), answerer(app), refuser(app), limits)
