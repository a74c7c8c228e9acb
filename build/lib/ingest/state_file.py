"""The ingester's state on disk, so a restarted ingester goes on as if it had never stopped.

Per (gateway, stream) the sequence tracker's highest and missing numbers; per asset the
scorer's state (``AssetState.snapshot``: feature windows, the bucket being averaged,
alarm streak, latest score, its work order); and the model digest the asset states were
made with. The ingester saves what a batch changed, in one SQLite transaction with
``synchronous=FULL``, *before* it acknowledges the batch: whatever the broker will not
deliver again is in the state file, and whatever it will deliver again finds the
sequence tracker as it was before (so it is processed, not mistaken for a duplicate).

Asset states are pickled: the file is the ingester's own, written and read by one
process under its instance lock, never taken from elsewhere.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

from contracts import sqlite

StreamKey = tuple[str, str]


class StateFile:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite.connect(self.path, durability="FULL")
        self._db.executescript(
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
            "CREATE TABLE IF NOT EXISTS streams (gateway TEXT NOT NULL, stream TEXT NOT NULL,"
            " state TEXT NOT NULL, PRIMARY KEY (gateway, stream));"
            "CREATE TABLE IF NOT EXISTS assets (asset TEXT PRIMARY KEY, state BLOB NOT NULL);")
        self._db.commit()

    def save(self, streams: dict[StreamKey, dict], assets: dict[str, dict],
             meta: dict[str, str]) -> None:
        with self._db:  # one transaction
            self._db.executemany(
                "INSERT OR REPLACE INTO streams VALUES (?,?,?)",
                [(g, s, json.dumps(st)) for (g, s), st in streams.items()])
            self._db.executemany(
                "INSERT OR REPLACE INTO assets VALUES (?,?)",
                [(a, pickle.dumps(st, protocol=pickle.HIGHEST_PROTOCOL))
                 for a, st in assets.items()])
            self._db.executemany("INSERT OR REPLACE INTO meta VALUES (?,?)", meta.items())

    def streams(self) -> dict[StreamKey, dict]:
        return {(g, s): json.loads(st)
                for g, s, st in self._db.execute("SELECT gateway, stream, state FROM streams")}

    def assets(self) -> dict[str, dict]:
        rows = self._db.execute("SELECT asset, state FROM assets")
        return {a: pickle.loads(st) for a, st in rows}

    def meta(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT key, value FROM meta").fetchall())

    def drop_assets(self) -> None:
        with self._db:
            self._db.execute("DELETE FROM assets")

    def close(self) -> None:
        self._db.close()
