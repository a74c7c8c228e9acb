"""Storing ingesters on one shared subscription: 1 process against 3, in the same run.

    python bench/ingest_scale_out.py [--messages 1000] [--samples 50]

Starts a private Mosquitto and VictoriaMetrics, then for N = 1 and N = 3 runs N
``forewarn ingest`` processes (role = "store", one share group, QoS 1, acks after the
write) and publishes the same stream of telemetry (a fresh asset prefix per run). The
time runs from the first publish until the ingesters' own /metrics count every point
stored. Printed next to the raw line-protocol limit of the same VictoriaMetrics.
Bounded: every wait has a deadline. Needs mosquitto and victoria-metrics (`make test`).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ingest_throughput import (  # noqa: E402
    SIGNALS,
    make_batches,
    publish_all,
    rate,
    raw_vm_limit,
)
from forewarn.config import to_toml  # noqa: E402
from forewarn.runtime import free_port  # noqa: E402
from tests.servers import Mosquitto, Victoria  # noqa: E402


def stored(ports: list[int]) -> int:
    total = 0
    for port in ports:
        try:
            text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read()
        except OSError:
            continue
        for line in text.decode().splitlines():
            if line.startswith("forewarn_ingest_points_stored_total "):
                total += int(float(line.split()[1]))
    return total


def healthy(port: int) -> bool:
    try:
        return urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).status == 200
    except OSError:
        return False


def run(n: int, broker: Mosquitto, vm: Victoria, work: Path, messages: int, samples: int
        ) -> tuple[int, float]:
    folder = work / f"n{n}"
    folder.mkdir()
    base_port = free_port()
    config = folder / "ingest.toml"
    config.write_text(to_toml({
        "role": "store", "state_dir": str(folder / "state"), "metrics_port": base_port,
        "dead_letter_path": str(folder / "dl.sqlite"), "batch_max_messages": 100,
        "mqtt": {"url": broker.url, "share_group": f"bench{n}"},
        "store": {"kind": "influx", "url": vm.url, "org": "o", "bucket": "b"},
        "risk": {"enabled": False}, "api": {"url": ""}}))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    procs = [subprocess.Popen([sys.executable, "-m", "forewarn.cli", "ingest", "--config",
                               str(config)], env=env, stdout=subprocess.DEVNULL,
                              stderr=open(folder / f"ingest-{i}.log", "w"))  # noqa: SIM115
             for i in range(n)]
    ports = [base_port + slot for slot in range(n)]
    try:
        deadline = time.monotonic() + 30
        while not all(healthy(p) for p in ports) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not all(healthy(p) for p in ports):
            raise RuntimeError(f"ingesters not healthy; see {folder}/ingest-*.log")
        batches = make_batches(messages, samples, f"so{n}")
        expected = messages * samples * len(SIGNALS)
        started = time.perf_counter()
        publish_all(broker.port, batches, "json")
        deadline = time.monotonic() + 300
        done = 0
        while done < expected and time.monotonic() < deadline:
            time.sleep(0.02)
            done = stored(ports)
        return done, time.perf_counter() - started
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--samples", type=int, default=50)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        broker = Mosquitto(work / "mosquitto")
        broker.start()
        vm = Victoria(work / "vm")
        try:
            raw_rate = rate(*raw_vm_limit(vm, args.messages, args.samples))
            rows = [(n, *run(n, broker, vm, work, args.messages, args.samples))
                    for n in (1, 3)]
        finally:
            vm.stop()
            broker.stop()
    print(f"{args.messages} messages x {args.samples} samples x {len(SIGNALS)} signals, "
          f"{os.cpu_count()} cores")
    print(f"VictoriaMetrics raw line protocol: {raw_rate:,.0f} points/s")
    print(f"{'storing ingesters':>18} {'points':>9} {'seconds':>8} {'points/s':>10} "
          f"{'vs raw':>7} {'vs one':>7}")
    one = rate(rows[0][1], rows[0][2])
    for n, points, secs in rows:
        r = rate(points, secs)
        print(f"{n:>18} {points:>9,} {secs:>8.2f} {r:>10,.0f} {r / raw_rate:>7.1%} "
              f"{r / one:>6.2f}x")


if __name__ == "__main__":
    main()
