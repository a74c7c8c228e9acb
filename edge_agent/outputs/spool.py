"""Disk-backed store-and-forward queue (SQLite, WAL, synchronous=FULL).

Messages are appended with the gateway's next sequence number, read in order with
``begin``, and deleted by ``commit`` only after the broker has acknowledged them;
anything not committed is sent again after a restart. The spool is bounded: past
``max_messages`` the oldest messages are dropped, and counted in ``dropped``.

Samples read but not yet in a message (waiting for their batch) are *staged* in the same
file as they are read, without an fsync: they survive the agent being killed (SIGKILL,
OOM killer, a crash), not a power cut. A batch is appended and its samples unstaged in
one transaction, so a sample is never lost between the two nor sent twice; after a
restart ``staged()`` hands back what the last run had read and not batched.

>>> sp = Spool(":memory:", max_messages=10)
>>> sp.append("t", lambda seq: f"m{seq}".encode()), sp.append("t", lambda seq: b"x")
(0, 1)
>>> tx = sp.begin(limit=5)
>>> [m.seq for m in tx], sp.depth()
([0, 1], 2)
>>> sp.commit(tx); sp.depth()
0
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from contracts import sqlite


@dataclass(frozen=True)
class Spooled:
    seq: int
    topic: str
    payload: bytes


class Spool:
    def __init__(self, path: str | Path, max_messages: int = 100_000):
        self.max_messages = max_messages
        # Used from the agent's loop thread and its publishing threads: one lock serialises.
        self._db = sqlite.connect(path, durability="FULL", autocommit=True)
        self._lock = threading.RLock()
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS queue (seq INTEGER PRIMARY KEY, topic TEXT NOT NULL,"
            " payload BLOB NOT NULL)")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS staged (id INTEGER PRIMARY KEY, item BLOB NOT NULL)")
        for key in ("next_seq", "dropped", "committed"):
            self._db.execute("INSERT OR IGNORE INTO meta VALUES (?, 0)", (key,))
        self._db.execute("INSERT OR IGNORE INTO meta VALUES ('stream', ?)",
                         (secrets.randbits(63),))
        # The id of this spool's sequence: a new spool starts a new stream at seq 0.
        self.stream = f"{self._meta('stream'):016x}"
        self._next_seq = self._meta("next_seq")  # cached: readable from any thread

    def _meta(self, key: str) -> int:
        with self._lock:
            return self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()[0]

    @property
    def next_seq(self) -> int:
        return self._next_seq

    @property
    def dropped(self) -> int:
        return self._meta("dropped")

    @property
    def committed(self) -> int:
        return self._meta("committed")

    def depth(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM queue").fetchone()[0]

    def stage(self, items: list[bytes]) -> list[int]:
        """Keep items (samples waiting for their batch) until ``append(unstage=...)``;
        written without an fsync: they survive a killed process, not a power cut."""
        if not items:
            return []
        with self._lock:
            db = self._db
            db.execute("PRAGMA synchronous=OFF")
            try:
                db.execute("BEGIN IMMEDIATE")
                first = db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM staged").fetchone()[0]
                ids = list(range(first, first + len(items)))
                db.executemany("INSERT INTO staged VALUES (?, ?)", zip(ids, items, strict=True))
                db.execute("COMMIT")
            finally:
                db.execute("PRAGMA synchronous=FULL")
            return ids

    def staged(self) -> list[tuple[int, bytes]]:
        """What is staged, oldest first (after a restart: what the last run left)."""
        with self._lock:
            return self._db.execute("SELECT id, item FROM staged ORDER BY id").fetchall()

    def append(self, topic: str, make_payload: Callable[[int], bytes],
               unstage: list[int] | tuple[int, ...] = ()) -> int:
        """Store one message built for the next sequence number, and drop the staged items
        it carries (``unstage``) in the same transaction; return that number."""
        with self._lock:
            return self._append(topic, make_payload, unstage)

    def _append(self, topic: str, make_payload: Callable[[int], bytes],
                unstage: list[int] | tuple[int, ...] = ()) -> int:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            if unstage:
                db.executemany("DELETE FROM staged WHERE id=?", [(i,) for i in unstage])
            seq = self._meta("next_seq")
            db.execute("INSERT INTO queue VALUES (?, ?, ?)", (seq, topic, make_payload(seq)))
            db.execute("UPDATE meta SET value=? WHERE key='next_seq'", (seq + 1,))
            over = db.execute("SELECT COUNT(*) FROM queue").fetchone()[0] - self.max_messages
            if over > 0:
                db.execute("DELETE FROM queue WHERE seq IN (SELECT seq FROM queue ORDER BY seq"
                           " LIMIT ?)", (over,))
                db.execute("UPDATE meta SET value=value+? WHERE key='dropped'", (over,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._next_seq = seq + 1
        return seq

    def begin(self, limit: int = 100) -> list[Spooled]:
        """The oldest ``limit`` messages, not yet removed."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, topic, payload FROM queue ORDER BY seq LIMIT ?", (limit,)).fetchall()
        return [Spooled(*r) for r in rows]

    def commit(self, messages: list[Spooled]) -> None:
        """Remove messages the broker has acknowledged."""
        if not messages:
            return
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            db.executemany("DELETE FROM queue WHERE seq=?", [(m.seq,) for m in messages])
            db.execute("UPDATE meta SET value=value+? WHERE key='committed'", (len(messages),))
            db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()
