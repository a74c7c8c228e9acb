"""Dead-letter store: every message (or sample) the ingester could not store, with the reason.

Browsable by reason (``forewarn ingest dead-letters``) and replayable once the cause is
fixed (``--replay``: ``ingest/replay.py``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from contracts import sqlite
from contracts.wire import utcnow


@dataclass(frozen=True)
class DeadLetter:
    id: int
    received_at: str
    topic: str
    reason: str
    payload: bytes


class DeadLetters:
    def __init__(self, path: str | Path):
        self._db = sqlite.connect(path)
        self._lock = threading.Lock()
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS dead_letters (id INTEGER PRIMARY KEY, received_at TEXT,"
            " topic TEXT, reason TEXT, payload BLOB)")
        self._db.commit()

    def add(self, topic: str, payload: bytes, reason: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO dead_letters (received_at, topic, reason, payload) VALUES (?,?,?,?)",
                (utcnow().isoformat(), topic, reason, payload))
            self._db.commit()

    def count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0]

    def all(self) -> list[tuple[str, str, bytes]]:
        with self._lock:
            return self._db.execute(
                "SELECT topic, reason, payload FROM dead_letters ORDER BY id").fetchall()

    def find(self, reason: str | None = None, limit: int | None = None) -> list[DeadLetter]:
        """Oldest first; ``reason`` keeps those whose reason contains it (case-insensitive)."""
        sql = "SELECT id, received_at, topic, reason, payload FROM dead_letters"
        args: list[object] = []
        if reason:
            sql += " WHERE instr(lower(reason), lower(?)) > 0"
            args.append(reason)
        sql += " ORDER BY id LIMIT ?"
        args.append(-1 if limit is None else limit)
        with self._lock:
            return [DeadLetter(*row) for row in self._db.execute(sql, args).fetchall()]

    def reasons(self) -> list[tuple[str, int]]:
        """(reason up to its first colon, count), most frequent first."""
        with self._lock:
            rows = self._db.execute("SELECT reason FROM dead_letters").fetchall()
        counts: dict[str, int] = {}
        for (reason,) in rows:
            key = reason.split(":")[0]
            counts[key] = counts.get(key, 0) + 1
        return sorted(counts.items(), key=lambda kv: -kv[1])

    def remove(self, ids: list[int]) -> None:
        with self._lock:
            self._db.executemany("DELETE FROM dead_letters WHERE id=?", [(i,) for i in ids])
            self._db.commit()

    def close(self) -> None:
        self._db.close()
