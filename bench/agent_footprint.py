"""The edge agent's CPU, memory, poll regularity and data age, next to a bare poller.

    python bench/agent_footprint.py [--devices 100 300 1000] [--seconds 90] [--warmup 60]

For each device count, in the same run:

1. a device process serves that many Modbus TCP devices (one port each), 50 holding
   registers apiece (int16 tenths with realistic names), values moving on every read;
2. a *bare poller* (pymodbus, one ``read_holding_registers`` of all 50 per device per
   second, nothing decoded, nothing sent: the floor of polling) runs for ``--seconds``;
3. ``forewarn agent`` polls the same devices once a second with everything on
   (decoding, all seven detectors, the durable spool, the compact wire encoding, MQTT
   to a private Mosquitto) for ``--seconds``.

Measured as an outsider would: CPU time of the whole process tree from /proc over the
steady part of the run (after ``--warmup`` s: by default past the detectors' own
warm-up, 30 values per signal and 50 samples per asset for the multivariate one, so
what is measured is the agent as it runs for months) as a share of one core, peak RSS
(VmHWM), and, at a subscriber of the broker, every sample decoded: its poll interval
per device (p50/p99 gap between one sample's read time and the next's), its age on
arrival (arrival minus read time, p50/p99) and the wire bytes per value. Needs
mosquitto (``make test`` installs it). Bounded by ``--seconds`` per run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REGISTERS = 50
NAMES = [f"{part}_{what}" for part in ("bearing_de", "bearing_nde", "winding_u",
                                       "winding_v", "winding_w", "gearbox", "inlet",
                                       "outlet", "casing", "seal")
         for what in ("temp_c", "vib_mm_s", "pressure_bar", "current_a", "flow_m3_h")]


# -- the device process ------------------------------------------------------------------
def serve(count: int, base_port: int) -> None:
    from pymodbus.server import ModbusTcpServer
    from pymodbus.simulator import DataType, SimData, SimDevice

    levels = [random.Random(i).randint(200, 800) for i in range(REGISTERS)]
    rng = random.Random(1)

    async def action(func_code, start_address, address, count_, registers, set_values):
        for i in range(min(len(registers), REGISTERS)):
            registers[i] = levels[i] + rng.randint(-3, 3)
        return None

    async def main() -> None:
        servers = []
        for i in range(count):
            bits = [SimData(address=0, count=1, datatype=DataType.BITS, readonly=True)]
            words = [SimData(address=0, count=REGISTERS, datatype=DataType.REGISTERS,
                             readonly=True)]
            device = SimDevice(id=1, simdata=(bits, list(bits), words, list(words)),
                               action=action)
            server = ModbusTcpServer(device, address=("127.0.0.1", base_port + i))
            await server.serve_forever(background=True)
            servers.append(server)
        print("ready", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


# -- the bare poller ---------------------------------------------------------------------
def bare(count: int, base_port: int, seconds: float) -> None:
    from pymodbus.client import AsyncModbusTcpClient

    async def device(port: int, stop_at: float) -> None:
        client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=2, retries=0)
        await client.connect()
        tick = time.monotonic() + random.random()
        while time.monotonic() < stop_at:
            await asyncio.sleep(max(0.0, tick - time.monotonic()))
            await client.read_holding_registers(0, count=REGISTERS, device_id=1)
            tick += 1.0
        client.close()

    async def main() -> None:
        stop_at = time.monotonic() + seconds
        await asyncio.gather(*(device(base_port + i, stop_at) for i in range(count)))

    asyncio.run(main())


# -- measuring ---------------------------------------------------------------------------
def tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            kids = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            kids = []
        todo.extend(int(k) for k in kids)
    return out


def cpu_s(pid: int) -> float:
    total = 0.0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def peak_rss_mb(pid: int) -> float:
    total = 0.0
    for p in tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            continue
    return total


def measured(proc: subprocess.Popen, seconds: float, warmup: float) -> tuple[float, float]:
    """(CPU share of one core over the steady part, peak RSS MB) of a running process."""
    time.sleep(warmup)
    c0, t0 = cpu_s(proc.pid), time.monotonic()
    time.sleep(max(1.0, seconds - warmup))
    cpu = (cpu_s(proc.pid) - c0) / (time.monotonic() - t0)
    return cpu, peak_rss_mb(proc.pid)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def agent_config(count: int, base_port: int, broker: str, spool: Path,
                 detect: bool = True, spread: bool = False) -> dict:
    return {
        "gateway_id": "gw-bench", "site": "bench", "poll_interval_s": 1.0,
        "spread_polls": spread,
        "metrics_port": 0, "mqtt": {"url": broker, "client_id": "bench-agent"},
        "spool": {"path": str(spool)},
        "detector": {"run_signal": "", "enabled": detect},
        "devices": [{"asset": f"pump-{i:04d}", "port": base_port + i, "timeout_s": 2.0,
                     "registers": [{"name": NAMES[r], "address": r, "dtype": "int16",
                                    "scale": 0.1} for r in range(REGISTERS)]}
                    for i in range(count)]}


def run(count: int, seconds: float, warmup: float, mosquitto, detect: bool = True,
        spread: bool = False) -> dict[str, float]:
    import paho.mqtt.client as mqtt

    from contracts.wire import SUBSCRIBE_ALL, decode_telemetry
    from forewarn.config import to_toml
    from forewarn.runtime import free_port_range

    base = free_port_range(count)
    devices = subprocess.Popen([sys.executable, __file__, "--serve", str(count), str(base)],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out: dict[str, float] = {"devices": count, "detect": detect}
    try:
        assert devices.stdout is not None and devices.stdout.readline().strip() == "ready"
        poller = subprocess.Popen([sys.executable, __file__, "--bare", str(count), str(base),
                                   str(seconds)])
        out["bare_cpu"], out["bare_rss"] = measured(poller, seconds, warmup)
        poller.wait(30)

        arrivals: list[tuple[float, str, float]] = []  # (arrival, asset, read time)
        wire = {"bytes": 0, "values": 0}
        lock = threading.Lock()

        def on_message(client, userdata, msg) -> None:
            now = time.time()
            if not msg.topic.endswith("/telemetry"):
                return
            batch = decode_telemetry(msg.topic, msg.payload).batch
            with lock:
                wire["bytes"] += len(msg.payload)
                for s in batch.samples if batch else []:
                    wire["values"] += len(s.values) + len(s.unchanged)
                    arrivals.append((now, s.asset, s.ts.timestamp()))

        sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-watch")
        sub.on_message = on_message
        sub.connect("127.0.0.1", mosquitto.port)
        sub.subscribe(SUBSCRIBE_ALL, qos=1)
        sub.loop_start()
        with tempfile.TemporaryDirectory() as tmp:
            cfg = Path(tmp) / "agent.toml"
            cfg.write_text(to_toml(agent_config(count, base, mosquitto.url,
                                                Path(tmp) / "spool.sqlite", detect, spread)))
            agent = subprocess.Popen([sys.executable, "-m", "forewarn.cli", "agent",
                                      "--config", str(cfg)], stderr=subprocess.DEVNULL)
            started = time.time()
            out["agent_cpu"], out["agent_rss"] = measured(agent, seconds, warmup)
            agent.terminate()
            agent.wait(60)
        time.sleep(1.0)
        sub.loop_stop()
        sub.disconnect()
    finally:
        devices.terminate()
        devices.wait(30)
    steady = [a for a in arrivals if a[2] >= started + warmup]
    ages = [arrival - read for arrival, _, read in steady]
    by_asset: dict[str, list[float]] = {}
    for _, asset, read in steady:
        by_asset.setdefault(asset, []).append(read)
    gaps = [b - a for reads in by_asset.values() for a, b in zip(sorted(reads),
                                                                 sorted(reads)[1:], strict=False)]
    window = seconds - warmup
    out.update({
        "polls_per_s": len(steady) / window, "devices_seen": len(by_asset),
        "gap_p50": pct(gaps, 0.5), "gap_p99": pct(gaps, 0.99), "gap_max": max(gaps or [0]),
        "age_p50": pct(ages, 0.5), "age_p99": pct(ages, 0.99),
        "bytes_per_value": wire["bytes"] / max(1, wire["values"]),
    })
    return out


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), int(sys.argv[3]))
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "--bare":
        bare(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--devices", type=int, nargs="+", default=[100, 300, 1000])
    ap.add_argument("--seconds", type=float, default=90.0,
                    help="each run's length, the warm-up included")
    ap.add_argument("--warmup", type=float, default=60.0,
                    help="seconds not measured at the start of each run (detectors learn)")
    ap.add_argument("--without-detection", action="store_true",
                    help="also run each count with the detectors off, to show their share")
    ap.add_argument("--spread-polls", action="store_true",
                    help="run the agent with spread_polls = true")
    args = ap.parse_args()
    if args.warmup >= args.seconds:
        ap.error("--warmup must be shorter than --seconds (the run's length includes it)")
    from tests.servers import Mosquitto

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(Path(tmp))
        broker.start()
        try:
            for n in args.devices:
                print(f"{n} devices x {REGISTERS} registers at 1 s: bare poller, then the "
                      f"agent, {args.seconds:.0f} s each ...", file=sys.stderr, flush=True)
                results.append(run(n, args.seconds, args.warmup, broker,
                                   spread=args.spread_polls))
                if args.without_detection:
                    results.append(run(n, args.seconds, args.warmup, broker, detect=False,
                                       spread=args.spread_polls))
        finally:
            broker.stop()
    print(f"{'devices':>7} {'detect':>6} {'bare CPU':>9} {'agent CPU':>9} {'ratio':>6} "
          f"{'bare RSS':>9} {'agent RSS':>9} {'polls/s':>8} {'gap p50':>8} {'gap p99':>8} "
          f"{'age p50':>8} {'age p99':>8} {'B/value':>8}")
    for r in results:
        print(f"{r['devices']:>7.0f} {'on' if r['detect'] else 'off':>6} "
              f"{r['bare_cpu']:>9.1%} {r['agent_cpu']:>9.1%} "
              f"{r['agent_cpu'] / max(r['bare_cpu'], 1e-9):>5.1f}x {r['bare_rss']:>7.0f}MB "
              f"{r['agent_rss']:>7.0f}MB {r['polls_per_s']:>8.1f} {r['gap_p50']:>7.3f}s "
              f"{r['gap_p99']:>7.3f}s {r['age_p50']:>7.3f}s {r['age_p99']:>7.3f}s "
              f"{r['bytes_per_value']:>8.2f}")
    print("CPU: share of one core, whole process tree, steady part; RSS: peak (VmHWM); "
          "gap: time between one device's consecutive reads; age: arrival at a broker "
          "subscriber minus read time")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
