"""Ingest throughput, each figure next to the raw limit of the same part in the same run.

    python bench/ingest_throughput.py [--messages 1000] [--samples 50]
        [--encoding json|compact]

1. raw line-protocol POSTs (5,000 lines) to a private VictoriaMetrics   (the store's limit)
2. the ingester's InfluxStore.write (bulk line protocol, kept-alive http.client) to the same server
3. the whole ingester: Mosquitto -> validate -> InfluxStore, from a persistent session
4. raw SQLite executemany vs the ingester's EmbeddedStore.write, same rows
5. the whole ingester on the embedded store

``--encoding`` is the wire encoding the messages are published in: ``json`` (v1) or
``compact`` (v2, the agent's default, deflated). Needs mosquitto and victoria-metrics
(`make test` installs them). Loops are bounded by --messages.
"""

from __future__ import annotations

import argparse
import http.client
import logging
import sqlite3
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from contracts.times import epoch_ns  # noqa: E402
from contracts.wire import ReadingBatch, Sample, telemetry_topic  # noqa: E402
from ingest.dead_letters import DeadLetters  # noqa: E402
from ingest.pipeline import Ingester  # noqa: E402
from ingest.settings import IngestSettings, StoreSettings  # noqa: E402
from ingest.stores.embedded import EmbeddedStore  # noqa: E402
from ingest.stores.influx import InfluxStore, to_lines  # noqa: E402
from tests.servers import Mosquitto, Victoria  # noqa: E402

SIGNALS = ("vibration_rms", "bearing_temp", "motor_current", "speed_rpm",
           "discharge_pressure", "flow", "run_hours", "running")


def make_batches(n_messages: int, n_samples: int, asset_prefix: str) -> list[ReadingBatch]:
    t0 = datetime.now(UTC) - timedelta(hours=2)
    out = []
    for m in range(n_messages):
        samples = [Sample(asset=f"{asset_prefix}-{s % 20:02d}",
                          ts=t0 + timedelta(milliseconds=m * n_samples + s),
                          values={k: 1.0 + i + m * 1e-3 for i, k in enumerate(SIGNALS)})
                   for s in range(n_samples)]
        out.append(ReadingBatch(gateway="gw-bench", seq=m, sent_at=t0, samples=samples))
    return out


def rate(points: int, seconds: float) -> float:
    return points / seconds if seconds > 0 else float("inf")


def raw_vm(vm: Victoria, lines: list[str], chunk: int = 5000) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", vm.port, timeout=30)
    t = time.perf_counter()
    for i in range(0, len(lines), chunk):
        conn.request("POST", "/api/v2/write?org=o&bucket=b&precision=ns",
                     body="\n".join(lines[i:i + chunk]).encode())
        r = conn.getresponse()
        r.read()
        if r.status >= 300:
            raise RuntimeError(f"raw write failed: HTTP {r.status}")
    return time.perf_counter() - t


def raw_vm_limit(vm: Victoria, messages: int, samples: int) -> tuple[int, float]:
    """(points, seconds) of the stream pre-formatted and POSTed raw: the store's limit."""
    batches = make_batches(messages, samples, "raw")
    lines = [ln for b in batches for ln in to_lines("telemetry", b.gateway, b.samples)]
    return len(lines) * len(SIGNALS), raw_vm(vm, lines)


def publish_all(url_port: int, batches: list[ReadingBatch], encoding: str) -> None:
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-pub")
    c.max_inflight_messages_set(100)
    c.connect("127.0.0.1", url_port)
    c.loop_start()
    topic = telemetry_topic("bench", "gw-bench")
    infos = [c.publish(topic, b.to_bytes() if encoding == "json" else b.to_compact(True),
                       qos=1) for b in batches]
    for info in infos:
        info.wait_for_publish(30)
    c.disconnect()
    c.loop_stop()


def whole_ingester(broker: Mosquitto, store_settings: dict, batches: list[ReadingBatch],
                   workdir: Path, name: str, encoding: str) -> tuple[float, int]:
    settings = IngestSettings.model_validate({
        "mqtt": {"url": broker.url, "client_id": f"bench-{name}"},
        "store": store_settings, "dead_letter_path": str(workdir / f"dl-{name}.sqlite"),
        "state_dir": str(workdir / f"state-{name}"),
        "batch_max_messages": 100, "risk": {"enabled": False}, "api": {"url": None}})
    from ingest.stores import open_store

    def run(until_points: int, timeout: float) -> tuple[Ingester, float]:
        ing = Ingester(settings, open_store(settings.store), DeadLetters(settings.dead_letter_path))
        stop = threading.Event()
        th = threading.Thread(target=ing.run, args=(stop,))
        th.start()
        ing.wait_connected(10)
        t = time.perf_counter()
        deadline = time.monotonic() + timeout
        while ing.counters.points_stored < until_points and time.monotonic() < deadline:
            time.sleep(0.005)
        elapsed = time.perf_counter() - t
        stop.set()
        th.join(30)
        return ing, elapsed

    run(0, 0)  # create the persistent session
    publish_all(broker.port, batches, encoding)
    expected = sum(len(s.values) for b in batches for s in b.samples)
    ing, elapsed = run(expected, 300)
    return elapsed, ing.counters.points_stored


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--samples", type=int, default=50)
    ap.add_argument("--encoding", choices=("json", "compact"), default="json")
    args = ap.parse_args()
    n_points = args.messages * args.samples * len(SIGNALS)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        broker = Mosquitto(work / "mosquitto")
        broker.start()
        vm = Victoria(work / "vm")
        try:
            # 1. raw limit of the store
            rows.append(("VictoriaMetrics raw line protocol (5,000-line POSTs)",
                         *raw_vm_limit(vm, args.messages, args.samples)))
            # 2. the store class
            store = InfluxStore(StoreSettings(kind="influx", url=vm.url, org="o", bucket="b"))
            st_batches = make_batches(args.messages, args.samples, "store")
            t = time.perf_counter()
            for i in range(0, len(st_batches), 100):
                store.write("gw-bench", [s for b in st_batches[i:i + 100] for s in b.samples])
            rows.append(("InfluxStore.write (bulk)", n_points, time.perf_counter() - t))
            store.close()
            # 3. the whole ingester to VictoriaMetrics
            ing_batches = make_batches(args.messages, args.samples, "ing")
            s, stored = whole_ingester(broker, {"kind": "influx", "url": vm.url, "org": "o",
                                                "bucket": "b"}, ing_batches, work, "influx",
                                       args.encoding)
            rows.append((f"whole ingester ({args.encoding}): Mosquitto -> VictoriaMetrics",
                         stored, s))
            # 4. embedded store vs raw SQLite
            emb_batches = make_batches(args.messages, args.samples, "emb")
            raw_rows = [(s.asset, k, epoch_ns(s.ts), v, "gw-bench") for b in emb_batches
                        for s in b.samples for k, v in s.values.items()]
            db = sqlite3.connect(work / "raw.sqlite")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")  # as the embedded store: acked = durable
            db.execute("CREATE TABLE points (asset TEXT NOT NULL, signal TEXT NOT NULL, ts_ns "
                       "INTEGER NOT NULL, value REAL NOT NULL, gateway TEXT NOT NULL, PRIMARY KEY"
                       " (asset, signal, ts_ns)) WITHOUT ROWID")
            t = time.perf_counter()
            step = 100 * args.samples * len(SIGNALS)
            for i in range(0, len(raw_rows), step):
                db.executemany("INSERT OR REPLACE INTO points VALUES (?,?,?,?,?)",
                               raw_rows[i:i + step])
                db.commit()
            rows.append(("SQLite raw executemany (same schema)", len(raw_rows),
                         time.perf_counter() - t))
            emb = EmbeddedStore(work / "emb.sqlite")
            t = time.perf_counter()
            for i in range(0, len(emb_batches), 100):
                emb.write("gw-bench", [s for b in emb_batches[i:i + 100] for s in b.samples])
            rows.append(("EmbeddedStore.write", n_points, time.perf_counter() - t))
            # 5. the whole ingester to the embedded store
            s, stored = whole_ingester(broker, {"kind": "embedded",
                                                "path": str(work / "ing-emb.sqlite")},
                                       make_batches(args.messages, args.samples, "ie"), work, "emb",
                                       args.encoding)
            rows.append((f"whole ingester ({args.encoding}): Mosquitto -> embedded store",
                         stored, s))
        finally:
            vm.stop()
            broker.stop()
    raw_vm_rate = rate(rows[0][1], rows[0][2])
    raw_sql_rate = rate(rows[3][1], rows[3][2])
    print(f"{args.messages} messages x {args.samples} samples x {len(SIGNALS)} signals "
          f"= {n_points:,} points per row")
    print(f"{'what':55} {'points':>9} {'seconds':>8} {'points/s':>11} {'vs raw':>7}")
    for i, (what, pts, secs) in enumerate(rows):
        base = raw_vm_rate if i < 3 else raw_sql_rate
        print(f"{what:55} {pts:>9,} {secs:>8.2f} {rate(pts, secs):>11,.0f} "
              f"{rate(pts, secs) / base:>7.1%}")


if __name__ == "__main__":
    main()
