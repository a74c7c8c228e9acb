"""Modbus TCP input: reads each device's register map and decodes it into samples.

Contiguous registers of one table are read in one request (up to 120 registers);
a gap in the map is never read across, since real PLCs answer such reads with
exception 2. A failed read is recorded as a typed error on the sink and the loop
goes on; values that were read are kept.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Protocol

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

from ..errors import DecodeError, DeviceError, DeviceException, DeviceOffline, DeviceTimeout
from ..registers import RegisterError, RegisterSpec, decode
from ..settings import DeviceSettings
from ..wire import Sample, utcnow

log = logging.getLogger(__name__)
MAX_REGISTERS_PER_READ = 120


class Sink(Protocol):
    def add(self, sample: Sample) -> None: ...
    def add_error(self, error: DeviceError) -> None: ...


@dataclass(frozen=True)
class ReadBlock:
    table: str
    address: int
    count: int
    specs: tuple[RegisterSpec, ...]


def plan_reads(specs: list[RegisterSpec],
               max_count: int = MAX_REGISTERS_PER_READ) -> list[ReadBlock]:
    """Coalesce specs into contiguous reads.

    >>> from edge_agent.registers import RegisterSpec as R
    >>> [(b.address, b.count) for b in plan_reads([R(name="a", address=0), R(name="b", address=2),
    ...                                            R(name="c", address=10)])]
    [(0, 4), (10, 2)]
    """
    blocks: list[ReadBlock] = []
    for table in ("holding", "input"):
        group = sorted((s for s in specs if s.table == table), key=lambda s: s.address)
        current: list[RegisterSpec] = []
        for spec in group:
            if current:
                start = current[0].address
                end = current[-1].address + current[-1].count
                if spec.address != end or spec.address + spec.count - start > max_count:
                    blocks.append(_block(table, current))
                    current = []
            current.append(spec)
        if current:
            blocks.append(_block(table, current))
    return blocks


def _block(table: str, specs: list[RegisterSpec]) -> ReadBlock:
    start = specs[0].address
    return ReadBlock(table, start, specs[-1].address + specs[-1].count - start, tuple(specs))


class ModbusDevice:
    """One Modbus TCP device; reconnects on the next poll after a failure."""

    def __init__(self, settings: DeviceSettings):
        self.settings = settings
        self.blocks = plan_reads(settings.registers)
        self._client: AsyncModbusTcpClient | None = None

    async def _connected(self) -> AsyncModbusTcpClient:
        s = self.settings
        if self._client is None:
            self._client = AsyncModbusTcpClient(s.host, port=s.port, timeout=s.timeout_s,
                                                retries=0, reconnect_delay=0)
        if not self._client.connected:
            ok = await self._client.connect()
            if not ok:
                raise DeviceOffline(s.asset, s.unit, 0, f"cannot connect to {s.host}:{s.port}")
        return self._client

    async def _read(self, block: ReadBlock) -> list[int]:
        s = self.settings
        client = await self._connected()
        read = (client.read_holding_registers if block.table == "holding"
                else client.read_input_registers)
        try:
            rr = await read(block.address, count=block.count, device_id=s.unit)
        except ModbusIOException as exc:
            self.close()
            raise DeviceTimeout(s.asset, s.unit, block.address, f"no answer: {exc}") from exc
        except (TimeoutError, ConnectionException, ConnectionError) as exc:
            self.close()
            raise DeviceOffline(s.asset, s.unit, block.address, f"connection lost: {exc}") from exc
        except ModbusException as exc:
            raise DeviceTimeout(s.asset, s.unit, block.address, str(exc)) from exc
        if rr.isError():
            raise DeviceException(s.asset, s.unit, block.address,
                                  getattr(rr, "exception_code", -1))
        if len(rr.registers) < block.count:
            raise DecodeError(s.asset, s.unit, block.address,
                              f"asked {block.count} registers, got {len(rr.registers)}")
        return rr.registers

    async def poll(self, sink: Sink) -> None:
        """Read every block; add one sample with what was read, and one error per failed block."""
        s = self.settings
        ts = utcnow()
        values: dict[str, float] = {}
        for block in self.blocks:
            try:
                regs = await self._read(block)
            except DeviceError as err:
                sink.add_error(err)
                if isinstance(err, DeviceOffline):
                    break  # the other blocks would fail the same way
                continue
            for spec in block.specs:
                at = spec.address - block.address
                try:
                    value = decode(regs[at : at + spec.count], spec)
                except RegisterError as exc:
                    sink.add_error(DecodeError(s.asset, s.unit, spec.address, str(exc)))
                    continue
                if not math.isfinite(value):
                    sink.add_error(DecodeError(s.asset, s.unit, spec.address,
                                               f"{spec.name} decoded to {value}"))
                    continue
                values[spec.name] = value
        if values:
            sink.add(Sample(asset=s.asset, ts=ts, values=values))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
