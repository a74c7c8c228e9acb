"""Service API speed, each figure next to the raw limit of the same database in the same run.

    python bench/api_throughput.py [--batches 100] [--batch 1000] [--assets 10000]
        [--workers 1 2]

1. raw: the same health rows inserted with sqlite3 executemany into a migrated database
   (INSERT OR IGNORE, one transaction per batch, the API's pragmas)
2. scores/s through ``POST /api/v1/health/batch`` (batches of --batch) to ``forewarn api``
   running on SQLite with each of --workers worker processes (1 2), sent over --clients
   (8) kept-alive connections in parallel (goal in issue #11: >= 100,000/s)
3. the fleet view: ``GET /api/v1/assets?limit=10000`` over --assets assets, p50/p99 of
   --views requests timed to the last byte of the response (goal: p99 <= 100 ms),
   against a raw SELECT of the same rows and columns through sqlite3

Loops are bounded by the arguments.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from contracts.sqlite import pragmas  # noqa: E402
from forewarn.runtime import free_port  # noqa: E402
from service_api.bootstrap import issue_token  # noqa: E402
from service_api.db import migrate  # noqa: E402
from tests.servers import wait_port  # noqa: E402


def records(batch: int, b: int, assets: int, t0: datetime) -> list[dict]:
    return [{"asset_id": f"a{(b * batch + i) % assets:05d}",
             "ts": (t0 + timedelta(seconds=b * batch + i)).isoformat(),
             "risk": ((b * batch + i) % 997) / 997,
             "detail": {"rul": 100.0, "rul_unit": "h", "top_signal": "vibration_rms"}}
            for i in range(batch)]


def raw_insert(path: Path, bodies: list[list[dict]]) -> float:
    db = sqlite3.connect(path, isolation_level=None)
    for s in pragmas(foreign_keys=True):
        db.execute(s)
    t = time.perf_counter()
    for recs in bodies:
        db.execute("BEGIN IMMEDIATE")
        db.executemany(
            "INSERT OR IGNORE INTO health_scores (asset_id, ts, risk, detail) "
            "VALUES (?, ?, ?, ?)",
            [(r["asset_id"], r["ts"], r["risk"], json.dumps(r["detail"])) for r in recs])
        db.execute("COMMIT")
    dt = time.perf_counter() - t
    db.close()
    return sum(map(len, bodies)) / dt


def register_assets(path: Path, n: int) -> None:
    db = sqlite3.connect(path)
    now = datetime.now(UTC).isoformat()
    db.executemany(
        "INSERT INTO assets (id, name, equipment_class, site, area, line, path, region, make,"
        " model, criticality, gateway, customer, purchase_contract, service_contract,"
        " created_at, version) VALUES (?, ?, 'pump', 'plant', '', '', ?, 'eu', '', '', 3, "
        "'', '', '', '', ?, 1)", [(f"a{i:05d}", f"Asset {i}", f"plant/a{i:05d}", now)
                                 for i in range(n)])
    db.commit()
    db.close()


class Server:
    def __init__(self, folder: Path, url: str, workers: int = 1):
        self.port = free_port()
        cfg = folder / "api.toml"
        cfg.write_text(f'database_url = "{url}"\nport = {self.port}\ndashboard = false\n'
                       f'workers = {workers}\n')
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "forewarn.cli", "api", "--config", str(cfg)],
            stdout=subprocess.DEVNULL, stderr=open(folder / "api.log", "w"),  # noqa: SIM115
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        wait_port(self.port, timeout=30)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def post_scores(port: int, headers: dict, payloads: list[bytes], clients: int) -> float:
    """Send every payload once over ``clients`` kept-alive connections in parallel (one
    thread each, payloads dealt round-robin); scores/s to the last answer."""
    stored, failures = [], []

    def client(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for i, body in enumerate(payloads[k::clients]):
            conn.request("POST", "/api/v1/health/batch", body, headers)
            resp = conn.getresponse()
            out = json.loads(resp.read())
            if resp.status != 200:
                failures.append(f"HTTP {resp.status}: {out}")
                return
            stored.append(out["stored"])
            if k == 0 and (i + 1) % max(1, len(payloads) // clients // 5) == 0:
                print(f"  ... {(i + 1) * clients}/{len(payloads)} batches", file=sys.stderr)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    dt = time.perf_counter() - t
    if failures:
        raise SystemExit(failures[0])
    n = sum(len(json.loads(p)["records"]) for p in payloads)
    assert sum(stored) == n, (sum(stored), n)
    return n / dt


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batches", type=int, default=100)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--assets", type=int, default=10_000)
    ap.add_argument("--views", type=int, default=50)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2],
                    help="API worker processes to measure score ingestion with")
    ap.add_argument("--clients", type=int, default=8,
                    help="client connections sending at once (each worker process accepts "
                         "whole connections, so a few workers need a few more clients)")
    a = ap.parse_args()
    t0 = datetime.now(UTC) - timedelta(days=30)
    bodies = [records(a.batch, b, a.assets, t0) for b in range(a.batches)]
    payloads = [json.dumps({"records": recs}).encode() for recs in bodies]
    n = a.batches * a.batch
    rates: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="forewarn-api-bench-") as tmp:
        folder = Path(tmp)
        raw_db = folder / "raw.sqlite"
        migrate(f"sqlite:///{raw_db}")
        register_assets(raw_db, a.assets)
        raw = raw_insert(raw_db, bodies)
        for workers in a.workers:  # a fresh database each time: every score is new
            api_db = folder / f"api-{workers}.sqlite"
            migrate(f"sqlite:///{api_db}")
            register_assets(api_db, a.assets)
            token = issue_token(f"sqlite:///{api_db}", "bench", create_role="service")
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
            server = Server(folder, f"sqlite:///{api_db}", workers)
            try:
                rates[workers] = post_scores(server.port, headers, payloads, a.clients)
                if workers != a.workers[0]:
                    continue
                # the fleet view, on the first server
                view_db = api_db
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
                times = []
                for _ in range(a.views):
                    t = time.perf_counter()
                    conn.request("GET", f"/api/v1/assets?limit={a.assets}", headers=headers)
                    resp = conn.getresponse()
                    body = resp.read()
                    times.append(time.perf_counter() - t)  # to the last byte, not parsed
                    page = json.loads(body)
                    assert len(page["items"]) == a.assets, page.get("detail")
                size = len(body)
            finally:
                server.stop()
        db = sqlite3.connect(view_db)
        raw_times = []
        for _ in range(a.views):
            t = time.perf_counter()
            rows = db.execute("SELECT * FROM assets ORDER BY risk DESC, id LIMIT ?",
                              (a.assets,)).fetchall()
            raw_times.append(time.perf_counter() - t)
            assert len(rows) == a.assets
        db.close()

    def p(xs, q):
        return statistics.quantiles(xs, n=100)[q - 1] * 1000 if len(xs) > 1 else xs[0] * 1000

    print(f"health scores, {n:,} in batches of {a.batch:,} ({a.assets:,} assets), SQLite:")
    print(f"  raw sqlite3 executemany        {raw:12,.0f} rows/s")
    for workers, rate in rates.items():
        label = (f"POST /api/v1/health/batch, {workers} worker{'s' if workers > 1 else ''}, "
                 f"{a.clients} clients")
        print(f"  {label:<38} {rate:12,.0f} scores/s  ({rate / raw:.1%} of raw; "
              "goal 100,000/s)")
    print(f"fleet view, {a.assets:,} assets ({size / 1e6:.1f} MB of JSON), {a.views} requests, "
          f"time to the last byte ({a.workers[0]} worker(s)):")
    print(f"  raw SELECT                     p50 {p(raw_times, 50):7.1f} ms  "
          f"p99 {p(raw_times, 99):7.1f} ms")
    print(f"  GET /api/v1/assets             p50 {p(times, 50):7.1f} ms  "
          f"p99 {p(times, 99):7.1f} ms  (goal p99 <= 100 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
