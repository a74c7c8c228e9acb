"""How many simulated devices one `forewarn simulate serve` process serves at 1 Hz.

    python bench/simulator_scale.py [--devices 200] [--seconds 20]

Starts the simulator as its own process (one TCP port per device), polls every device's
whole register map once per second with the agent's own Modbus input from this process,
and reports polls answered per second against the target, read errors, and the
simulator process's CPU time as a share of one core (from /proc). Bounded by --seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from edge_agent.inputs.modbus import ModbusDevice  # noqa: E402
from edge_agent.settings import DeviceSettings  # noqa: E402
from forewarn.config import to_toml  # noqa: E402
from forewarn.runtime import free_port_range  # noqa: E402
from simulators.register_map import register_map  # noqa: E402
from tests.servers import wait_port  # noqa: E402

KINDS = ("pump", "motor", "compressor")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Counter:
    def __init__(self) -> None:
        self.samples = 0
        self.errors = 0

    def add(self, sample) -> None:
        self.samples += 1

    def add_error(self, error) -> None:
        self.errors += 1


async def poll(devices: list[ModbusDevice], seconds: float, sink: Counter) -> float:
    start = time.monotonic()
    tick = start
    while time.monotonic() - start < seconds:
        await asyncio.gather(*(d.poll(sink) for d in devices))
        tick += 1.0
        await asyncio.sleep(max(0.0, tick - time.monotonic()))
    return time.monotonic() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=20.0)
    args = ap.parse_args()
    base = free_port_range(args.devices)
    kinds = [KINDS[i % 3] for i in range(args.devices)]
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "fleet.toml"
        cfg.write_text(to_toml({"base_port": base, "assets": [
            {"id": f"{k}-{i:03d}", "kind": k} for i, k in enumerate(kinds)]}))
        sim = subprocess.Popen([sys.executable, "-m", "forewarn.cli", "simulate", "serve",
                                "--config", str(cfg)], stderr=subprocess.DEVNULL)
        try:
            wait_port(base + args.devices - 1, timeout=60)
            devices = [ModbusDevice(DeviceSettings(asset=f"{k}-{i:03d}", port=base + i,
                                                   registers=register_map(k)))
                       for i, k in enumerate(kinds)]
            sink = Counter()
            cpu0 = cpu_seconds(sim.pid)
            elapsed = asyncio.run(poll(devices, args.seconds, sink))
            cpu = cpu_seconds(sim.pid) - cpu0
        finally:
            sim.terminate()
            sim.wait(30)
    target = args.devices * int(args.seconds)
    regs = sum(sum(s.count for s in register_map(k)) for k in kinds)
    print(f"{args.devices} devices, {len(devices[0].blocks)} requests per poll, polled once a "
          f"second for {elapsed:.1f} s")
    print(f"polls answered      {sink.samples:>8} of {target} targeted "
          f"({sink.samples / max(target, 1):.1%}), read errors {sink.errors}")
    print(f"polls/s             {sink.samples / elapsed:>8.1f} (target {args.devices}/s), "
          f"registers/s {sink.samples / args.devices * regs / elapsed:,.0f}")
    print(f"simulator CPU       {cpu:>8.1f} s = {cpu / elapsed:.0%} of one core")


if __name__ == "__main__":
    main()
