"""Modbus input (TCP or RTU over serial): reads each device's map and decodes it into samples.

Contiguous addresses of one table are read in one request (up to 120 registers,
or 2000 coils/discrete inputs); a gap in the map is never read across, since real
PLCs answer such reads with exception 2. A failed read is recorded as a typed
error on the sink and the loop goes on; values that were read are kept.

Devices on one serial line (RTU) share one client, one request at a time, as
RS-485 demands; TCP devices each have their own connection.
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass, field
from typing import Protocol

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

from contracts.wire import Sample, utcnow

from ..errors import DecodeError, DeviceError, DeviceException, DeviceOffline, DeviceTimeout
from ..registers import BIT_TABLES, RegisterError, RegisterSpec, decode
from ..settings import DeviceSettings, SerialSettings

log = logging.getLogger(__name__)
MAX_REGISTERS_PER_READ = 120
MAX_BITS_PER_READ = 2000
TABLES = ("holding", "input", "coil", "discrete")


class Sink(Protocol):
    def add(self, sample: Sample) -> None: ...
    def add_error(self, error: DeviceError) -> None: ...


@dataclass(frozen=True)
class ReadBlock:
    table: str
    address: int
    count: int
    specs: tuple[RegisterSpec, ...]


def plan_reads(specs: list[RegisterSpec], max_count: int = MAX_REGISTERS_PER_READ,
               max_bits: int = MAX_BITS_PER_READ) -> list[ReadBlock]:
    """Coalesce specs into contiguous reads.

    >>> from edge_agent.registers import RegisterSpec as R
    >>> [(b.address, b.count) for b in plan_reads([R(name="a", address=0), R(name="b", address=2),
    ...                                            R(name="c", address=10)])]
    [(0, 4), (10, 2)]
    """
    blocks: list[ReadBlock] = []
    for table in TABLES:
        limit = max_bits if table in BIT_TABLES else max_count
        group = sorted((s for s in specs if s.table == table), key=lambda s: s.address)
        current: list[RegisterSpec] = []
        for spec in group:
            if current:
                start = current[0].address
                end = current[-1].address + current[-1].count
                if spec.address != end or spec.address + spec.count - start > limit:
                    blocks.append(_block(table, current))
                    current = []
            current.append(spec)
        if current:
            blocks.append(_block(table, current))
    return blocks


def _block(table: str, specs: list[RegisterSpec]) -> ReadBlock:
    start = specs[0].address
    return ReadBlock(table, start, specs[-1].address + specs[-1].count - start, tuple(specs))


_Client = AsyncModbusTcpClient | AsyncModbusSerialClient


@dataclass
class SerialLine:
    """One RS-485 line: a shared RTU client, used by one request at a time."""

    settings: SerialSettings
    timeout_s: float
    client: AsyncModbusSerialClient | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def open(self) -> AsyncModbusSerialClient:
        if self.client is None:
            s = self.settings
            self.client = AsyncModbusSerialClient(
                s.port, baudrate=s.baudrate, bytesize=s.bytesize, parity=s.parity,
                stopbits=s.stopbits, timeout=self.timeout_s, retries=0, reconnect_delay=0)
        return self.client

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None


class ModbusDevice:
    """One Modbus device over TCP or RTU; reconnects on the next poll after a failure."""

    def __init__(self, settings: DeviceSettings, line: SerialLine | None = None):
        self.settings = settings
        self.blocks = plan_reads(settings.registers)
        if settings.serial is not None and line is None:
            line = SerialLine(settings.serial, settings.timeout_s)
        self._line = line
        self._client: AsyncModbusTcpClient | None = None
        self._lock = line.lock if line is not None else asyncio.Lock()

    @property
    def where(self) -> str:
        s = self.settings
        return s.serial.port if s.serial is not None else f"{s.host}:{s.port}"

    async def _connected(self) -> _Client:
        s = self.settings
        client: _Client
        if self._line is not None:
            client = self._line.open()
        else:
            if self._client is None:
                self._client = AsyncModbusTcpClient(s.host, port=s.port, timeout=s.timeout_s,
                                                    retries=0, reconnect_delay=0)
            client = self._client
        if not client.connected:
            ok = await client.connect()
            if not ok:
                raise DeviceOffline(s.asset, s.unit, 0, f"cannot connect to {self.where}")
        return client

    async def _read(self, block: ReadBlock) -> list[int]:
        async with self._lock:
            return await self._read_locked(block)

    async def _read_locked(self, block: ReadBlock) -> list[int]:
        s = self.settings
        client = await self._connected()
        read = {"holding": client.read_holding_registers,
                "input": client.read_input_registers,
                "coil": client.read_coils,
                "discrete": client.read_discrete_inputs}[block.table]
        try:
            rr = await read(block.address, count=block.count, device_id=s.unit)
        except ModbusIOException as exc:
            self._drop_connection()
            raise DeviceTimeout(s.asset, s.unit, block.address, f"no answer: {exc}") from exc
        except (TimeoutError, ConnectionException, ConnectionError) as exc:
            self._drop_connection()
            raise DeviceOffline(s.asset, s.unit, block.address, f"connection lost: {exc}") from exc
        except ModbusException as exc:
            raise DeviceTimeout(s.asset, s.unit, block.address, str(exc)) from exc
        if rr.isError():
            raise DeviceException(s.asset, s.unit, block.address,
                                  getattr(rr, "exception_code", -1))
        words = ([int(b) for b in rr.bits] if block.table in BIT_TABLES
                 else list(rr.registers))
        if len(words) < block.count:
            raise DecodeError(s.asset, s.unit, block.address,
                              f"asked {block.count} {block.table} values, got {len(words)}")
        return words[: block.count]

    def _drop_connection(self) -> None:
        # A serial line stays open: a silent device must not cut off its neighbours.
        if self._line is None:
            self.close()

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
        if self._line is not None:
            self._line.close()


def open_devices(settings: list[DeviceSettings]) -> list[ModbusDevice]:
    """One ModbusDevice per device; RTU devices on the same serial port share one line."""
    lines: dict[str, SerialLine] = {}
    devices = []
    for d in settings:
        line = None
        if d.serial is not None:
            # AgentSettings has checked that devices on one port agree on its framing.
            line = lines.setdefault(d.serial.port, SerialLine(d.serial, d.timeout_s))
        devices.append(ModbusDevice(d, line))
    return devices
