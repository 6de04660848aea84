"""The outage spool: what the webhooks knew of a call while the database could not be reached.

A SQLite file in WAL mode in the instance folder (`spool.sqlite3`), shared by every process
of the machine. Chosen over a file of lines per process because SQLite already gives what a
spool needs: an append is one transaction, synced to disk before it returns
(`synchronous=FULL`); threads and processes queue for the write lock by themselves; and a
record is removed once it is drained without rewriting a file that others append to. It
holds no CPR number in clear: keyed digits are stored encrypted by the caller of `append`
(the app's CPR vault), and removed pages are overwritten (`secure_delete`).
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

FILE_NAME = "spool.sqlite3"
# An outage is no reason to hold the caller past the deadline: a spool not written within this is
# logged, and the caller is forwarded all the same.
WAIT_SECONDS = 0.5

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    call_sid TEXT NOT NULL,
    at TEXT NOT NULL,
    body TEXT NOT NULL
)
"""
# Records too old for a drain to write safely, set aside for a person (`linje72 spool drain --held`).
HELD_SCHEMA = """
CREATE TABLE IF NOT EXISTS held (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    call_sid TEXT NOT NULL,
    at TEXT NOT NULL,
    body TEXT NOT NULL
)
"""


@dataclass(frozen=True)
class SpoolRecord:
    """One webhook answered without the database: what it knew of the call.

    `kind` is `forwarded` (a step of the caller's leg answered with the fallback number)
    or `ended` (the status callback). `keys` are the digits keyed in this step, encrypted
    with the CPR vault (base64), never in clear.
    """

    id: str
    call_sid: str
    at: str  # ISO 8601, from the app's clock
    kind: str
    step: str
    from_number: str | None = None
    keys: str | None = None
    forwarded_to: str | None = None
    attempt: int | None = None
    dial_status: str | None = None
    call_status: str | None = None
    duration: int | None = None
    test_call: bool = False

    @property
    def moment(self) -> datetime:
        return datetime.fromisoformat(self.at)


def new_record_id() -> str:
    return uuid.uuid4().hex


def spool_path(instance_path: str | os.PathLike[str]) -> Path:
    return Path(instance_path) / FILE_NAME


@contextmanager
def _connect(path: Path) -> Iterator[sqlite3.Connection]:
    fresh = not path.exists()
    with closing(sqlite3.connect(path, timeout=WAIT_SECONDS, isolation_level=None)) as connection:
        if fresh:
            os.chmod(path, 0o600)  # the records hold caller numbers and encrypted keys
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("PRAGMA secure_delete=ON")
        connection.execute(SCHEMA)
        connection.execute(HELD_SCHEMA)
        yield connection


def append(instance_path: str | os.PathLike[str], record: SpoolRecord) -> None:
    """Add a record, on disk before this returns."""
    body = json.dumps(asdict(record), separators=(",", ":"))
    with _connect(spool_path(instance_path)) as connection:
        connection.execute(
            "INSERT INTO records (id, call_sid, at, body) VALUES (?, ?, ?, ?)",
            (record.id, record.call_sid, record.at, body),
        )


def pending(instance_path: str | os.PathLike[str], *, held: bool = False) -> list[SpoolRecord]:
    """Return every record not yet drained (with `held`: those set aside), in the order they were written."""
    path = spool_path(instance_path)
    if not path.exists():
        return []
    table = "held" if held else "records"
    with _connect(path) as connection:
        rows = connection.execute(f"SELECT body FROM {table} ORDER BY seq").fetchall()
    return [SpoolRecord(**json.loads(body)) for (body,) in rows]


def remove(instance_path: str | os.PathLike[str], ids: Sequence[str]) -> None:
    """Forget drained records (waiting or held)."""
    if not ids:
        return
    with _connect(spool_path(instance_path)) as connection:
        connection.execute("BEGIN IMMEDIATE")
        for table in ("records", "held"):
            connection.executemany(f"DELETE FROM {table} WHERE id = ?", [(i,) for i in ids])
        connection.execute("COMMIT")


def hold(instance_path: str | os.PathLike[str], ids: Sequence[str]) -> None:
    """Set records aside: kept on disk, never drained again by themselves (one transaction)."""
    if not ids:
        return
    with _connect(spool_path(instance_path)) as connection:
        connection.execute("BEGIN IMMEDIATE")
        for i in ids:
            connection.execute(
                "INSERT OR IGNORE INTO held (seq, id, call_sid, at, body) "
                "SELECT seq, id, call_sid, at, body FROM records WHERE id = ?",
                (i,),
            )
            connection.execute("DELETE FROM records WHERE id = ?", (i,))
        connection.execute("COMMIT")


def spool_depth(instance_path: str | os.PathLike[str]) -> int:
    """Return how many records wait to be written into the database, held ones too (0 when there
    is no spool): a held record waits for a person, and the depth keeps telling until one acts."""
    path = spool_path(instance_path)
    if not path.exists():
        return 0
    with _connect(path) as connection:
        count: int = connection.execute(
            "SELECT (SELECT count(*) FROM records) + (SELECT count(*) FROM held)"
        ).fetchone()[0]
    return count


def oldest(instance_path: str | os.PathLike[str]) -> str | None:
    """Return when the oldest waiting record was written (ISO 8601), or None."""
    path = spool_path(instance_path)
    if not path.exists():
        return None
    with _connect(path) as connection:
        row = connection.execute("SELECT at FROM records ORDER BY seq LIMIT 1").fetchone()
    return row[0] if row else None


@contextmanager
def draining(instance_path: str | os.PathLike[str]) -> Iterator[bool]:
    """Hold the machine's drain lock while the block runs; yield False when another process holds it."""
    lock_path = Path(instance_path) / "spool.lock"
    with open(lock_path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
