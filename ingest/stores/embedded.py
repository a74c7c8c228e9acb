"""Embedded store: SQLite in WAL mode, one row per (asset, signal, time)."""

from __future__ import annotations

import json
import math
import sqlite3
import threading
from pathlib import Path

from contracts import sqlite
from contracts.times import epoch_ns
from contracts.wire import Sample

from ..records import EventRecord, Score
from .base import StoreError, StoreRejected


class EmbeddedStore:
    def __init__(self, path: str | Path):
        self._db = sqlite.connect(path, durability="FULL")  # acked = survives a power cut
        self._lock = threading.Lock()
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS points (asset TEXT NOT NULL, signal TEXT NOT NULL,"
            " ts_ns INTEGER NOT NULL, value REAL NOT NULL, gateway TEXT NOT NULL,"
            " PRIMARY KEY (asset, signal, ts_ns)) WITHOUT ROWID")
        self._db.execute(  # string registers (serial numbers, alarm texts)
            "CREATE TABLE IF NOT EXISTS texts (asset TEXT NOT NULL, signal TEXT NOT NULL,"
            " ts_ns INTEGER NOT NULL, value TEXT NOT NULL, gateway TEXT NOT NULL,"
            " PRIMARY KEY (asset, signal, ts_ns)) WITHOUT ROWID")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS scores (asset TEXT NOT NULL, ts_ns INTEGER NOT NULL,"
            " risk REAL NOT NULL, rul REAL, PRIMARY KEY (asset, ts_ns)) WITHOUT ROWID")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS events (gateway TEXT NOT NULL, asset TEXT NOT NULL,"
            " kind TEXT NOT NULL, ts_ns INTEGER NOT NULL, detail TEXT NOT NULL,"
            " PRIMARY KEY (gateway, asset, kind, ts_ns)) WITHOUT ROWID")
        self._db.commit()

    def write(self, gateway: str, samples: list[Sample]) -> int:
        # REAL column: an integer beyond 2**63 (a uint64 register) is stored as a float
        # the time once per sample, not once per value
        rows = [(s.asset, name, t, float(value), gateway)
                for s in samples for t in (epoch_ns(s.ts),) for name, value in s.values.items()]
        texts = [(s.asset, name, epoch_ns(s.ts), text, gateway)
                 for s in samples if s.texts for name, text in s.texts.items()]
        try:
            with self._lock:
                self._db.executemany("INSERT OR REPLACE INTO points VALUES (?,?,?,?,?)", rows)
                if texts:
                    self._db.executemany("INSERT OR REPLACE INTO texts VALUES (?,?,?,?,?)",
                                         texts)
                self._db.commit()
        except (sqlite3.IntegrityError, sqlite3.DataError, OverflowError) as exc:
            raise StoreRejected(f"embedded store refused the points: {exc}",
                                per_point=True) from exc
        except sqlite3.Error as exc:  # locked, disk full, I/O: may pass later
            raise StoreError(f"embedded store write failed: {exc}") from exc
        return len(rows) + len(texts)

    def write_scores(self, scores: list[Score]) -> int:
        rows = [(s.asset, s.ts_ns, s.risk,
                 s.rul if math.isfinite(s.rul) else None) for s in scores]
        try:
            with self._lock:
                self._db.executemany("INSERT OR REPLACE INTO scores VALUES (?,?,?,?)", rows)
                self._db.commit()
        except sqlite3.Error as exc:
            raise StoreError(f"embedded store write of scores failed: {exc}") from exc
        return len(rows)

    def write_events(self, events: list[EventRecord]) -> int:
        rows = [(e.gateway, e.asset, e.kind, e.ts_ns, json.dumps(e.fields)) for e in events]
        try:
            with self._lock:
                self._db.executemany("INSERT OR REPLACE INTO events VALUES (?,?,?,?,?)", rows)
                self._db.commit()
        except (sqlite3.IntegrityError, OverflowError) as exc:
            raise StoreRejected(f"embedded store refused the events: {exc}",
                                per_point=True) from exc
        except sqlite3.Error as exc:
            raise StoreError(f"embedded store write of events failed: {exc}") from exc
        return len(rows)

    def events(self, gateway: str | None = None) -> list[tuple[str, str, str, int, dict]]:
        """(gateway, asset, kind, ts_ns, fields), oldest first."""
        sql = "SELECT gateway, asset, kind, ts_ns, detail FROM events"
        args: tuple = ()
        if gateway is not None:
            sql, args = sql + " WHERE gateway=?", (gateway,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY ts_ns", args).fetchall()
        return [(g, a, k, t, json.loads(d)) for g, a, k, t, d in rows]

    def scores(self, asset: str) -> list[tuple[int, float, float | None]]:
        """(ts_ns, risk, rul) of one asset, oldest first."""
        with self._lock:
            return self._db.execute(
                "SELECT ts_ns, risk, rul FROM scores WHERE asset=? ORDER BY ts_ns",
                (asset,)).fetchall()

    def count(self, asset: str | None = None) -> int:
        with self._lock:
            if asset is None:
                return self._db.execute("SELECT COUNT(*) FROM points").fetchone()[0]
            return self._db.execute(
                "SELECT COUNT(*) FROM points WHERE asset=?", (asset,)).fetchone()[0]

    def series(self, asset: str, signal: str) -> list[tuple[int, float]]:
        """(ts_ns, value) of one signal, oldest first."""
        with self._lock:
            return self._db.execute(
                "SELECT ts_ns, value FROM points WHERE asset=? AND signal=? ORDER BY ts_ns",
                (asset, signal)).fetchall()

    def close(self) -> None:
        self._db.close()
