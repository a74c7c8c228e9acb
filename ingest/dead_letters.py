"""Dead-letter store: every message that failed validation, kept whole with the reason."""

from __future__ import annotations

import threading
from pathlib import Path

from contracts import sqlite
from contracts.wire import utcnow


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

    def close(self) -> None:
        self._db.close()
