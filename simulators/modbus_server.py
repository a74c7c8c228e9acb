"""Serve simulated assets as Modbus slaves over TCP or RTU (pymodbus SimDevice API, 3.16).

Over TCP each asset gets its own port; over RTU all assets share one serial line,
each with its own unit id (1, 2, ...). Registers, coils and discrete inputs are
recomputed from the physics at the moment of every read, so what the agent reads
is what the asset "measures" at that simulated instant. Everything is read-only;
addresses outside the map (including the gap in it) answer exception 2 (illegal
data address).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from edge_agent.registers import RegisterSpec

from .clock import SimClock
from .faults import CommsFaults, FaultConfig, apply_sensor_faults
from .fleet import FleetConfig
from .null_modem import NullModem
from .physics import Asset
from .register_codec import encode
from .register_map import register_map

log = logging.getLogger(__name__)


# How long an "offline" device keeps a request before a gateway-style "no response":
# longer than any sane client timeout, so the client sees a timeout.
OFFLINE_HANG_S = 5.0


# Function code of a read -> the table it reads.
_TABLE_OF_FC = {1: "coil", 2: "discrete", 3: "holding", 4: "input"}
_SIM_TABLES = ("coil", "discrete", "holding", "input")  # pymodbus's order of the 4 blocks
_BITS = 16  # bits per SimData register in a bit table


@dataclass
class ServedAsset:
    asset: Asset
    host: str
    port: int
    unit: int
    specs: list[RegisterSpec]
    faults: list[FaultConfig] = field(default_factory=list)
    reads: int = 0
    serial_port: str | None = None  # the agent's end of the RTU line, when served over RTU

    @property
    def where(self) -> str:
        return self.serial_port or f"{self.host}:{self.port}"


def _blocks(specs: list[RegisterSpec]) -> tuple[list[SimData], ...]:
    """The four pymodbus blocks (coils, discrete inputs, holding, input registers)."""
    out: tuple[list[SimData], ...] = ([], [], [], [])
    for i, table in enumerate(_SIM_TABLES):
        mine = [s for s in specs if s.table == table]
        if not mine:
            continue
        if table in ("coil", "discrete"):
            words = max(s.address for s in mine) // _BITS + 1
            out[i].append(SimData(address=0, count=words, datatype=DataType.BITS,
                                  readonly=True))
        else:
            out[i].extend(SimData(address=s.address, count=s.count,
                                  datatype=DataType.REGISTERS, readonly=True) for s in mine)
    return out


def _fill(table: str, start: int, registers: list[int], specs: list[RegisterSpec],
          values: dict[str, float]) -> None:
    """Write the specs of ``table`` into the registers pymodbus is about to answer with."""
    for spec in specs:
        if spec.table != table:
            continue
        if table in ("coil", "discrete"):
            word, bit = divmod(spec.address, _BITS)
            at = word - start
            if 0 <= at < len(registers):
                mask = 1 << bit
                registers[at] = (registers[at] | mask) if values[spec.name] else (
                    registers[at] & ~mask)
            continue
        at = spec.address - start
        if at >= 0 and at + spec.count <= len(registers):
            registers[at : at + spec.count] = encode(values[spec.name], spec)


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
        table = _TABLE_OF_FC.get(func_code)
        if table is None:
            return None
        values = apply_sensor_faults(asset.read(t_h), t_h, served.faults, asset.read,
                                     asset.seed, asset.id)
        _fill(table, start_address, registers, specs, values)
        return None

    return SimDevice(id=served.unit, simdata=_blocks(specs), action=action)


@dataclass
class FleetServer:
    """Async context manager serving a whole fleet; ``served`` describes each device."""

    config: FleetConfig
    clock: SimClock = field(default=None)  # type: ignore[assignment]
    served: list[ServedAsset] = field(default_factory=list)
    _servers: list[ModbusTcpServer | ModbusSerialServer] = field(default_factory=list)
    _cable: NullModem | None = None

    def __post_init__(self) -> None:
        if self.clock is None:
            self.clock = self.config.clock()

    async def start(self) -> None:
        cfg = self.config
        rtu = cfg.rtu
        for index, asset in enumerate(cfg.build_assets()):
            self.served.append(ServedAsset(
                asset=asset, host=cfg.host, port=cfg.port_of(index), unit=cfg.unit_of(index),
                specs=register_map(asset.kind), faults=cfg.assets[index].faults,
                serial_port=rtu.port if rtu else None))
        if rtu is None:
            for served in self.served:
                server = ModbusTcpServer(_device(served, self.clock),
                                         address=(served.host, served.port))
                await server.serve_forever(background=True)
                self._servers.append(server)
            where = f"{cfg.host} ports {[s.port for s in self.served]}"
        else:
            device_end = rtu.device
            if device_end is None:  # a virtual cable; the agent's end appears at rtu.port
                self._cable = NullModem(links=(None, rtu.port),
                                        char_s=rtu.char_s if rtu.paced else 0.0)
                await self._cable.__aenter__()
                device_end = self._cable.ends[0]
            server = ModbusSerialServer([_device(s, self.clock) for s in self.served],
                                        port=device_end, baudrate=rtu.baudrate,
                                        parity=rtu.parity, stopbits=rtu.stopbits)
            await server.serve_forever(background=True)
            self._servers.append(server)
            where = f"RTU line {rtu.port} units 1-{len(self.served)}"
        # Restart the clock so simulated hour 0 is when every device is up.
        self.clock.started_at = time.time()
        log.info("serving %d simulated devices on %s", len(self.served), where)

    async def stop(self) -> None:
        for server in self._servers:
            await server.shutdown()
        self._servers.clear()
        if self._cable is not None:
            await self._cable.__aexit__(None, None, None)
            self._cable = None

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
                "onset_h": a.onset_at_h, "failure_h": a.fails_at_h,
                "maintenance_h": list(a.maintenance_h),
                "failure_at": self.clock.wall_time_of(a.fails_at_h) if a.fails else None,  # type: ignore[arg-type]
                "faults": [f.model_dump(exclude_defaults=True) for f in s.faults],
            })
        return out
