"""Opening a SQLite file the way every part of Forewarn does.

WAL journaling (readers never block the writer), a busy timeout instead of instant
``database is locked`` errors, and a stated durability: ``synchronous=FULL`` for data
that must survive a power cut once written (the agent's spool), ``NORMAL`` where a power
cut may lose the last transactions but never corrupts the file.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Literal

Durability = Literal["FULL", "NORMAL"]


def pragmas(durability: Durability | None = None, foreign_keys: bool = False) -> list[str]:
    """The PRAGMA statements a new connection runs (also for SQLAlchemy's connect hook)."""
    out = ["PRAGMA journal_mode=WAL", "PRAGMA busy_timeout=5000"]
    if durability is not None:
        out.append(f"PRAGMA synchronous={durability}")
    if foreign_keys:
        out.append("PRAGMA foreign_keys=ON")
    return out


def connect(path: str | Path, durability: Durability | None = None,
            autocommit: bool = False) -> sqlite3.Connection:
    """Open (creating its folder) a SQLite file shared between threads by one owner.

    ``autocommit=True`` leaves transactions to explicit ``BEGIN``/``COMMIT``.
    """
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path), check_same_thread=False,
                         **({"isolation_level": None} if autocommit else {}))
    for statement in pragmas(durability):
        db.execute(statement)
    return db
