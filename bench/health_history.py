"""Health history over a long range: the downsampled read the asset page makes, next to
the raw limit of the same database in the same run.

    python bench/health_history.py [--minutes 525600] [--points 400]

One asset with one score a minute (default: a year, 525,600 rows) in a migrated SQLite
database. Timed, twice each: ``crud.health.history`` (count, then one ``GROUP BY`` in
SQL, as ``GET /api/v1/assets/{id}/health`` runs it), and the raw limit — sqlite3 reading
every row of the range once (``SELECT count(*), max(risk)``), which any exact
downsampling must do. Loops are bounded by the arguments.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service_api.access import Principal  # noqa: E402
from service_api.crud import health  # noqa: E402
from service_api.db import make_engine, migrate, session_factory  # noqa: E402

FMT = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores times on SQLite


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=int, default=525_600)
    ap.add_argument("--points", type=int, default=400)
    a = ap.parse_args()
    t0 = datetime(2025, 11, 1, tzinfo=UTC)
    t1 = t0 + timedelta(minutes=a.minutes)
    with tempfile.TemporaryDirectory(prefix="forewarn-history-bench-") as tmp:
        path = Path(tmp) / "api.sqlite"
        migrate(f"sqlite:///{path}")
        db = sqlite3.connect(path)
        db.execute(
            "INSERT INTO assets (id, name, equipment_class, site, area, line, path, region, "
            "make, model, criticality, gateway, customer, purchase_contract, "
            "service_contract, created_at, version) VALUES ('p1', '', '', '', '', '', 'p1', "
            "'', '', '', 3, '', '', '', '', ?, 1)", (t0.strftime(FMT),))
        db.executemany(
            "INSERT INTO health_scores (asset_id, ts, risk, detail) VALUES ('p1', ?, ?, '{}')",
            (((t0 + timedelta(minutes=i)).strftime(FMT), (i % 1000) / 1000)
             for i in range(a.minutes)))
        db.commit()
        raw = []
        for _ in range(2):
            t = time.perf_counter()
            n, _top = db.execute(
                "SELECT count(*), max(risk) FROM health_scores WHERE asset_id = 'p1' AND "
                "ts >= ? AND ts < ?", (t0.strftime(FMT), t1.strftime(FMT))).fetchone()
            raw.append(time.perf_counter() - t)
        db.close()
        sessions = session_factory(make_engine(f"sqlite:///{path}"))
        ours = []
        for _ in range(2):
            with sessions() as s:
                t = time.perf_counter()
                h = health.history(s, "p1", Principal("bench", "viewer"), t0, t1, a.points)
                ours.append(time.perf_counter() - t)
        assert sum(p.n for p in h.points) == n == a.minutes, (n, a.minutes)
    print(f"health history, {a.minutes:,} scores of one asset -> {len(h.points)} points:")
    print(f"  raw sqlite3 scan of the range     {min(raw) * 1000:8.1f} ms")
    print(f"  history (GROUP BY in SQL)         {min(ours) * 1000:8.1f} ms  "
          f"({min(ours) / min(raw):.1f}x the raw scan)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
