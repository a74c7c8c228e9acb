"""Registers per second the agent gets through one Modbus RTU line, against the line's
theoretical limit at its baud rate.

    python bench/rtu_line.py [--baud 9600 19200] [--devices 4] [--seconds 15]

The simulated fleet serves ``--devices`` devices on one RTU line over a virtual cable
that delivers bytes no faster than a real line at that baud rate (``RtuConfig.paced``:
start, 8 data and stop bits per character). The agent polls every device as often as it
can (``poll_interval_s`` far below what the line allows, so the line is never idle for
want of a request) for ``--seconds``, and its own counters give the polls done.

The limit, per poll of one device: every request of its read plan costs the request
frame (8 bytes) and the response (5 bytes plus 2 per register, or 1 per 8 bits), plus
the 3.5-character silence before each frame that RTU requires: (8 + 5 + data + 7)
characters. Registers/s = polls/s x registers (or bits) per poll; printed next to it.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edge_agent.inputs.modbus import plan_reads  # noqa: E402
from edge_agent.pipeline import Agent  # noqa: E402
from edge_agent.registers import BIT_TABLES  # noqa: E402
from forewarn.runtime import free_port  # noqa: E402
from simulators.agent_config import agent_settings_for  # noqa: E402
from simulators.fleet import AssetConfig, FleetConfig, RtuConfig  # noqa: E402
from simulators.modbus_server import FleetServer  # noqa: E402
from simulators.register_map import register_map  # noqa: E402

KINDS = ("pump", "motor", "compressor")


def poll_cost_chars(kind: str) -> tuple[float, int]:
    """(characters on the line per poll of one device, registers and bits it reads)."""
    chars, items = 0.0, 0
    for block in plan_reads(register_map(kind)):
        data = math.ceil(block.count / 8) if block.table in BIT_TABLES else 2 * block.count
        chars += 8 + 5 + data + 7
        items += block.count
    return chars, items


async def measure(baud: int, devices: int, seconds: float, folder: Path) -> dict[str, float]:
    rtu = RtuConfig(port=str(folder / f"tty-{baud}"), baudrate=baud, paced=True)
    fleet = FleetConfig(seed=2, time_scale=0, rtu=rtu, assets=[
        AssetConfig(id=f"{KINDS[i % 3]}-{i:02d}", kind=KINDS[i % 3]) for i in range(devices)])
    async with FleetServer(fleet):
        settings = agent_settings_for(
            fleet, gateway_id="gw-rtu", site="bench", poll_interval_s=0.001,
            metrics_port=None, mqtt={"url": f"mqtt://127.0.0.1:{free_port()}"},
            spool={"path": str(folder / f"spool-{baud}.sqlite")},
            detector={"enabled": False})
        agent = Agent(settings)
        stop = asyncio.Event()
        running = asyncio.create_task(agent.run(stop, drain_timeout=0.0))
        await asyncio.sleep(2.0)  # connected and settled
        c = agent.counters
        polls0, errors0, t0 = c.samples_polled, sum(c.read_errors.values()), time.monotonic()
        await asyncio.sleep(seconds)
        polls = c.samples_polled - polls0
        errors = sum(c.read_errors.values()) - errors0
        took = time.monotonic() - t0
        stop.set()
        await running
    per_kind = {a.kind: poll_cost_chars(a.kind) for a in fleet.assets}
    # every device is polled in turn: the average poll over the fleet's mix
    chars = sum(per_kind[a.kind][0] for a in fleet.assets) / devices
    items = sum(per_kind[a.kind][1] for a in fleet.assets) / devices
    limit_polls = 1.0 / (chars * rtu.char_s)
    return {"baud": baud, "polls_per_s": polls / took, "limit_polls_per_s": limit_polls,
            "items_per_s": polls / took * items, "limit_items_per_s": limit_polls * items,
            "errors": errors, "requests_per_poll": len(plan_reads(register_map("pump")))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--baud", type=int, nargs="+", default=[9600, 19200])
    ap.add_argument("--devices", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=15.0)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for baud in args.baud:
            print(f"{baud} baud, {args.devices} devices, {args.seconds:.0f} s ...",
                  file=sys.stderr, flush=True)
            rows.append(asyncio.run(measure(baud, args.devices, args.seconds, Path(tmp))))
    print(f"{'baud':>6} {'polls/s':>8} {'limit':>8} {'regs+bits/s':>12} {'limit':>8} "
          f"{'of limit':>8} {'errors':>6}")
    for r in rows:
        print(f"{r['baud']:>6} {r['polls_per_s']:>8.2f} {r['limit_polls_per_s']:>8.2f} "
              f"{r['items_per_s']:>12.0f} {r['limit_items_per_s']:>8.0f} "
              f"{r['items_per_s'] / r['limit_items_per_s']:>8.1%} {r['errors']:>6.0f}")
    print("limit: request + response frames and the 3.5-character silences of each "
          "request of the read plan, at 10 bits per character")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
