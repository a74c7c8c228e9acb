"""Serve simulated assets as Modbus TCP slaves (pymodbus SimDevice API, 3.16).

Each asset gets its own TCP port; its holding registers are recomputed from the
physics at the moment of every read, so what the agent reads is what the asset
"measures" at that simulated instant. Registers are read-only; addresses outside
the map (including the gap in it) answer exception 2 (illegal data address).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from edge_agent.registers import RegisterSpec, encode

from .clock import SimClock
from .faults import CommsFaults, FaultConfig, apply_sensor_faults
from .fleet import FleetConfig
from .physics import Asset
from .register_map import register_map

log = logging.getLogger(__name__)


# How long an "offline" device keeps a request before a gateway-style "no response":
# longer than any sane client timeout, so the client sees a timeout.
OFFLINE_HANG_S = 5.0


@dataclass
class ServedAsset:
    asset: Asset
    host: str
    port: int
    unit: int
    specs: list[RegisterSpec]
    faults: list[FaultConfig] = field(default_factory=list)
    reads: int = 0


def _device(served: ServedAsset, clock: SimClock) -> SimDevice:
    specs = served.specs
    asset = served.asset
    comms = CommsFaults(served.faults, asset.seed, asset.id)

    async def action(func_code, start_address, address, count, registers, set_values):
        served.reads += 1
        t_h = clock.now_h()
        delay, code, silent = comms.decide(t_h)
        if silent:
            await asyncio.sleep(OFFLINE_HANG_S)
            return ExcCodes.GATEWAY_NO_RESPONSE
        if delay:
            await asyncio.sleep(delay)
        if code is not None:
            return ExcCodes(code)
        values = apply_sensor_faults(asset.read(t_h), t_h, served.faults, asset.read,
                                     asset.seed, asset.id)
        for spec in specs:
            at = spec.address - start_address
            registers[at : at + spec.count] = encode(values[spec.name], spec)
        return None

    blocks = [
        SimData(address=s.address, count=s.count, datatype=DataType.REGISTERS, readonly=True)
        for s in specs
    ]
    return SimDevice(id=served.unit, simdata=blocks, action=action)


@dataclass
class FleetServer:
    """Async context manager serving a whole fleet; ``served`` describes each device."""

    config: FleetConfig
    clock: SimClock = field(default=None)  # type: ignore[assignment]
    served: list[ServedAsset] = field(default_factory=list)
    _servers: list[ModbusTcpServer] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.clock is None:
            self.clock = self.config.clock()

    async def start(self) -> None:
        assets = self.config.build_assets()
        for index, asset in enumerate(assets):
            served = ServedAsset(asset=asset, host=self.config.host,
                                 port=self.config.port_of(index), unit=self.config.unit,
                                 specs=register_map(asset.kind),
                                 faults=self.config.assets[index].faults)
            server = ModbusTcpServer(_device(served, self.clock),
                                     address=(served.host, served.port))
            await server.serve_forever(background=True)
            self.served.append(served)
            self._servers.append(server)
        # Restart the clock so simulated hour 0 is when every device is up.
        self.clock.started_at = time.time()
        log.info("serving %d simulated devices on %s ports %s", len(self.served),
                 self.config.host, [s.port for s in self.served])

    async def stop(self) -> None:
        for server in self._servers:
            await server.shutdown()
        self._servers.clear()

    async def __aenter__(self) -> FleetServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def ground_truth(self) -> list[dict[str, object]]:
        """Per asset: kind, failure mode, simulated onset/failure hours and failure wall time."""
        out = []
        for s in self.served:
            a = s.asset
            out.append({
                "asset": a.id, "kind": a.kind, "failure_mode": a.failure_mode,
                "onset_h": a.onset_h, "failure_h": a.failure_h,
                "failure_at": self.clock.wall_time_of(a.failure_h) if a.fails else None,
                "faults": [f.model_dump(exclude_defaults=True) for f in s.faults],
            })
        return out
