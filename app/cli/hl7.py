"""The MLLP listener command: HL7 v2 ADT messages from the hospitals' EHR."""

from __future__ import annotations

import contextlib
import os
import signal
import sys

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from app.data.db import dispose, session_scope
from app.mllp.listener import make_server
from app.mllp.server import Limits, MllpServer
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
@click.option(
    "--workers",
    type=click.IntRange(1, 32),
    default=1,
    show_default=True,
    help="Processes taking connections on the port (each message is still one transaction).",
)
@with_appcontext
def mllp(port: int, host: str, idle_timeout: float, frame_timeout: float, workers: int) -> None:
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
    click.echo(
        f"Listening for HL7 v2 (MLLP) on {host}:{server.port} with {workers} process(es); Ctrl-C ends it.",
        err=True,
    )
    children = _fork_workers(app, server, workers - 1)
    # A stop (Ctrl-C, or SIGTERM from a service manager) ends the workers too.
    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        for pid in children:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        server.server_close()


def _stop(_signal: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _fork_workers(app: Flask, server: MllpServer, count: int) -> list[int]:
    """Start `count` more processes serving the same listening socket; return their ids.

    Each process has its own interpreter (no shared lock between them) and its own database
    connections: none made before the fork may be shared, so the pools are emptied first.
    """
    if count == 0:
        return []
    dispose(app)
    children = []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:  # the worker: serve until told to stop, then leave without the parent's cleanup
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            try:
                server.serve_forever()
            finally:
                os._exit(0)
        children.append(pid)
    return children
