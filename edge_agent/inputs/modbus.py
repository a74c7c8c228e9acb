"""Modbus input (TCP or RTU over serial): reads each device's map and decodes it into samples.

Contiguous addresses of one table are read in one request (up to 120 registers,
or 2000 coils/discrete inputs), and across gaps of up to ``max_gap`` unlisted registers.
Many PLCs answer a read that touches an address they do not have with exception 2: such
a read is split until the refused registers are found, which are then never asked for
again. A failed read is recorded as a typed error on the sink and the loop goes on;
values that were read are kept.

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
from ..registers import BIT_TABLES, RegisterError, RegisterSpec, decode, decode_text
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
               max_bits: int = MAX_BITS_PER_READ, max_gap: int = 0) -> list[ReadBlock]:
    """Coalesce specs into as few reads as possible: contiguous ones, and across gaps of
    at most ``max_gap`` registers (or bits), within the per-request limits.

    >>> from edge_agent.registers import RegisterSpec as R
    >>> specs = [R(name="a", address=0), R(name="b", address=2), R(name="c", address=10)]
    >>> [(b.address, b.count) for b in plan_reads(specs)]
    [(0, 4), (10, 2)]
    >>> [(b.address, b.count) for b in plan_reads(specs, max_gap=6)]
    [(0, 12)]
    """
    blocks: list[ReadBlock] = []
    for table in TABLES:
        limit = max_bits if table in BIT_TABLES else max_count
        group = sorted((s for s in specs if s.table == table), key=lambda s: s.address)
        current: list[RegisterSpec] = []
        for spec in group:
            if current:
                start = current[0].address
                end = max(c.address + c.count for c in current)
                if spec.address - end > max_gap or spec.address + spec.count - start > limit:
                    blocks.append(_block(table, current))
                    current = []
            current.append(spec)
        if current:
            blocks.append(_block(table, current))
    return blocks


def split_block(block: ReadBlock) -> list[ReadBlock]:
    """A refused read in smaller pieces: its gap-free runs, or, if it has none, halves.

    >>> from edge_agent.registers import RegisterSpec as R
    >>> b = plan_reads([R(name="a", address=0), R(name="b", address=5),
    ...                 R(name="c", address=7)], max_gap=4)[0]
    >>> [(x.address, x.count) for x in split_block(b)]
    [(0, 2), (5, 4)]
    >>> [(x.address, x.count) for x in split_block(split_block(b)[1])]
    [(5, 2), (7, 2)]
    """
    runs = plan_reads(list(block.specs), max_gap=0)
    if len(runs) > 1:
        return runs
    half = len(block.specs) // 2
    return [_block(block.table, list(block.specs[:half])),
            _block(block.table, list(block.specs[half:]))]


def _block(table: str, specs: list[RegisterSpec]) -> ReadBlock:
    start = specs[0].address
    end = max(s.address + s.count for s in specs)
    return ReadBlock(table, start, end - start, tuple(specs))


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
        self.blocks = plan_reads(settings.registers, max_gap=settings.max_gap)
        self.refused: list[RegisterSpec] = []  # registers the device answered exception 2 for
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
        """Read every block; add one sample with what was read, and one error per failed
        block. A read refused with exception 2 (illegal data address) is split until the
        refused registers are found; the plan then keeps the pieces and never asks for
        those registers again (for the life of this process; the learnt plan is logged)."""
        s = self.settings
        ts = utcnow()
        values: dict[str, float] = {}
        texts: dict[str, str] = {}
        plan: list[ReadBlock] = []
        pending = list(self.blocks)
        while pending:
            block = pending.pop(0)
            try:
                regs = await self._read(block)
            except DeviceException as err:
                if err.code == 2 and len(block.specs) > 1:
                    pending[:0] = split_block(block)  # find what the device refuses
                    continue
                if err.code == 2:
                    self.refused.extend(block.specs)
                    log.warning("%s refuses %s (exception 2 at %s %d): not asked again",
                                s.asset, block.specs[0].name, block.table, block.address)
                else:
                    plan.append(block)
                sink.add_error(err)
                continue
            except DeviceError as err:
                sink.add_error(err)
                plan.append(block)
                if isinstance(err, DeviceOffline):
                    plan.extend(pending)
                    break  # the other blocks would fail the same way
                continue
            plan.append(block)
            self._decode(block, regs, values, texts, sink)
        if plan != self.blocks:
            log.info("%s: learnt read plan, %d requests (was %d): %s; refused: %s", s.asset,
                     len(plan), len(self.blocks),
                     ", ".join(f"{b.table}@{b.address}+{b.count}" for b in plan),
                     ", ".join(r.name for r in self.refused) or "none")
            self.blocks = plan
        if values or texts:
            sink.add(Sample(asset=s.asset, ts=ts, values=values, texts=texts))

    def _decode(self, block: ReadBlock, regs: list[int], values: dict[str, float],
                texts: dict[str, str], sink: Sink) -> None:
        """Decode a block into ``values``, and its string registers into ``texts``."""
        s = self.settings
        for spec in block.specs:
            at = spec.address - block.address
            try:
                if spec.dtype == "string":
                    texts[spec.name] = decode_text(
                        regs[at : at + spec.count], spec)
                    continue
                value = decode(regs[at : at + spec.count], spec)
            except RegisterError as exc:
                sink.add_error(DecodeError(s.asset, s.unit, spec.address, str(exc)))
                continue
            if not math.isfinite(value):
                sink.add_error(DecodeError(s.asset, s.unit, spec.address,
                                           f"{spec.name} decoded to {value}"))
                continue
            values[spec.name] = value

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
