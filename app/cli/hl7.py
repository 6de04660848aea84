"""The MLLP listener command: HL7 v2 ADT messages from the hospitals' EHR."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from app.data.db import session_scope
from app.mllp.listener import make_server
from app.mllp.server import Limits
from app.services.feed_maps import feed_maps, unknown_targets


@click.command("mllp")
@click.option("--port", type=click.IntRange(0, 65535), required=True, help="The TCP port to listen on.")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option(
    "--idle-timeout",
    type=click.FloatRange(min=1),
    default=600.0,
    show_default=True,
    help="Seconds a connection may stay silent between messages before it is closed.",
)
@click.option(
    "--frame-timeout",
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    help="Seconds a begun message may take to arrive whole.",
)
@with_appcontext
def mllp(port: int, host: str, idle_timeout: float, frame_timeout: float) -> None:
    """Listen for HL7 v2 ADT messages (MLLP) and answer each with an ACK (AA, AE or AR)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    mappings = app.config["FEED_MAPPINGS"]
    with session_scope() as session:
        faults = unknown_targets(feed_maps(session, mappings))
    if faults:
        for fault in faults:
            click.echo(f"linje72: LINJE72_FEED_MAPPINGS ({mappings.path}): {fault}", err=True)
        sys.exit(2)
    limits = Limits(idle_seconds=idle_timeout, frame_seconds=frame_timeout)
    try:
        server = make_server(app, host, port, limits)
    except OSError as exc:
        click.echo(f"linje72: cannot listen on {host}:{port}: {exc.strerror or exc}", err=True)
        sys.exit(1)
    click.echo(f"Listening for HL7 v2 (MLLP) on {host}:{server.port}; Ctrl-C ends it.", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
