"""MLLP, the framing HL7 v2 travels in over TCP: each message between 0x0B and 0x1C 0x0D.

Pure: bytes in, frames out. The listener that owns the sockets is `app.mllp`.
"""

from __future__ import annotations

START = b"\x0b"
END = b"\x1c\x0d"
# Some senders put a line break between frames; that much outside a frame is not garbage.
BETWEEN_FRAMES = b"\r\n \t"
MAX_MESSAGE = 1024 * 1024  # 1 MiB: an ADT message is a few kilobytes


class FramingError(ValueError):
    """The bytes are not MLLP: the connection cannot be read any further."""


def frame(payload: bytes) -> bytes:
    """Return a message wrapped for MLLP."""
    return START + payload + END


class Deframer:
    """Collects the bytes of one connection and hands out each complete frame's payload."""

    def __init__(self, max_size: int = MAX_MESSAGE) -> None:
        self.max_size = max_size
        self._buffer = bytearray()
        self._in_frame = False

    @property
    def partial(self) -> bool:
        """Say whether a frame has begun and not yet ended (a sender that stops now is stalling)."""
        return self._in_frame

    def feed(self, data: bytes) -> list[bytes]:
        """Return the payloads `data` completes; raise FramingError on bytes outside a frame, or too many."""
        frames = []
        self._buffer += data
        while self._buffer:
            if not self._in_frame:
                start = self._buffer.find(START)
                junk = bytes(self._buffer if start < 0 else self._buffer[:start])
                if junk.strip(BETWEEN_FRAMES):
                    raise FramingError(f"{len(junk)} bytes outside a frame (MLLP starts each with 0x0B)")
                if start < 0:
                    self._buffer.clear()
                    break
                del self._buffer[: start + 1]
                self._in_frame = True
            end = self._buffer.find(END)
            if end < 0:
                # The end block may be split across reads: keep the 0x1C until the next one.
                if len(self._buffer) > self.max_size:
                    raise FramingError(f"a message longer than {self.max_size} bytes")
                break
            if end > self.max_size:
                raise FramingError(f"a message longer than {self.max_size} bytes")
            frames.append(bytes(self._buffer[:end]))
            del self._buffer[: end + len(END)]
            self._in_frame = False
        return frames
