"""A threaded TCP server speaking MLLP: one thread per connection, many messages per connection.

It knows nothing of HL7 beyond the framing: each complete frame's payload goes to
`answer`, whose bytes go back framed. A connection that sends bytes outside a frame,
a frame over the size limit, or stalls mid-frame is answered once more (`refuse`, when
there is something to say) and closed; other connections never notice.
"""

from __future__ import annotations

import logging
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from app.intake.mllp import MAX_MESSAGE, Deframer, FramingError, frame

log = logging.getLogger("linje72.mllp")

# The ACK for one message's bytes; and the AR for a connection whose bytes cannot be framed.
Answer = Callable[[bytes], bytes]
Refuse = Callable[[str], bytes]


@dataclass(frozen=True)
class Limits:
    """How long and how much a connection may take."""

    # A sender's connection stays open between messages (interface engines keep it for
    # days): only one silent for this long is closed, and the sender reconnects.
    idle_seconds: float = 600.0
    # A message begun must end within this: a sender stalled mid-frame holds a thread.
    frame_seconds: float = 30.0
    max_message: int = MAX_MESSAGE
    max_connections: int = 64


class MllpServer(socketserver.ThreadingTCPServer):
    """Listens on `address` and answers every framed message with `answer`'s bytes."""

    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(
        self, address: tuple[str, int], answer: Answer, refuse: Refuse, limits: Limits | None = None
    ) -> None:
        self.answer = answer
        self.refuse = refuse
        self.limits = limits or Limits()
        self._slots = threading.BoundedSemaphore(self.limits.max_connections)
        super().__init__(address, _Connection)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def process_request(self, request: socket.socket, client_address: tuple[str, int]) -> None:  # type: ignore[override]
        if not self._slots.acquire(blocking=False):
            log.warning(
                "connection from %s refused: %d connections open already",
                client_address[0],
                self.limits.max_connections,
            )
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: socket.socket, client_address: tuple[str, int]) -> None:  # type: ignore[override]
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


class _Connection(socketserver.BaseRequestHandler):
    """One sender's connection: frames in, one answer per frame out, until it closes or misbehaves."""

    server: MllpServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        limits = self.server.limits
        peer = self.client_address[0]
        deframer = Deframer(limits.max_message)
        frame_began = 0.0
        log.info("connection from %s opened", peer)
        while True:
            if deframer.partial:
                left = frame_began + limits.frame_seconds - time.monotonic()
                sock.settimeout(max(left, 0.001))
            else:
                sock.settimeout(limits.idle_seconds)
            try:
                data = sock.recv(65536)
            except TimeoutError:
                if deframer.partial:
                    log.warning(
                        "connection from %s closed: a message not finished within %ss",
                        peer,
                        limits.frame_seconds,
                    )
                else:
                    log.info("connection from %s closed: idle for %ss", peer, limits.idle_seconds)
                return
            except OSError as exc:
                log.info("connection from %s ended: %s", peer, exc.strerror or exc)
                return
            if not data:
                if deframer.partial:
                    log.warning("connection from %s closed by the sender in the middle of a message", peer)
                else:
                    log.info("connection from %s closed by the sender", peer)
                return
            was_partial = deframer.partial
            try:
                payloads = deframer.feed(data)
            except FramingError as exc:
                log.warning("connection from %s closed: %s", peer, exc)
                self._send(sock, self.server.refuse(str(exc)))
                return
            for payload in payloads:
                try:
                    reply = self.server.answer(payload)
                except Exception:
                    # No answer to send: closing tells the sender the message was not taken,
                    # so that it sends it again.
                    log.exception("connection from %s closed: a message could not be answered", peer)
                    return
                if not self._send(sock, reply):
                    return
            if deframer.partial and (payloads or not was_partial):
                frame_began = time.monotonic()

    def _send(self, sock: socket.socket, reply: bytes) -> bool:
        try:
            sock.sendall(frame(reply))
        except OSError as exc:
            log.warning(
                "connection from %s: the answer could not be sent: %s",
                self.client_address[0],
                exc.strerror or exc,
            )
            return False
        return True
