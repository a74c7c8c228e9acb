"""Register specs and the pure encode/decode between 16-bit Modbus registers and values.

Byte/word orders name the four bytes of a 32-bit value A B C D, A most significant:
``ABCD`` big-endian (Modbus default), ``CDAB`` word-swapped, ``BADC`` byte-swapped,
``DCBA`` little-endian. The same letters generalise to 64-bit values (word order
reversed for ``CDAB``/``DCBA``, bytes swapped inside words for ``BADC``/``DCBA``).

Coils and discrete inputs hold one bit each: their dtype is ``bool`` and they
decode to 0 or 1.

A ``string`` spans ``length`` registers, two characters each, the first in the high byte
(``ABCD``; ``BADC`` swaps the bytes of each word, as some PLCs store text; ``CDAB`` and
``DCBA`` also reverse the word order); NULs and spaces at the end are padding.

>>> decode_text([0x5345, 0x522D, 0x3432, 0x0000],
...             RegisterSpec(name="serial", address=0, dtype="string", length=4))
'SER-42'

>>> decode([0x41C8, 0x0000], RegisterSpec(name="t", address=0, dtype="float32", order="ABCD"))
25.0
>>> decode([0x0000, 0x41C8], RegisterSpec(name="t", address=0, dtype="float32", order="CDAB"))
25.0
>>> spec = RegisterSpec(name="p", address=0, dtype="int16", scale=0.1, offset=-10)
>>> decode(encode(12.5, spec), spec)
12.5
>>> decode([1], RegisterSpec(name="run", address=3, table="discrete", dtype="bool"))
1
"""

from __future__ import annotations

import decimal
import functools
import math
import struct
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.ids import ID_PATTERN

Dtype = Literal["bool", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32",
                "float64", "string"]
Order = Literal["ABCD", "CDAB", "BADC", "DCBA"]
Table = Literal["holding", "input", "coil", "discrete"]
BIT_TABLES = ("coil", "discrete")

_FORMAT: dict[str, tuple[str, int]] = {
    "bool": ("?", 1),
    "int16": ("h", 1),
    "uint16": ("H", 1),
    "int32": ("i", 2),
    "uint32": ("I", 2),
    "int64": ("q", 4),
    "uint64": ("Q", 4),
    "float32": ("f", 2),
    "float64": ("d", 4),
}


class RegisterError(ValueError):
    """Registers cannot be decoded with the given spec (wrong count, out of range value)."""


class RegisterSpec(BaseModel):
    """Where a signal lives on a device and how to turn its registers into a value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=ID_PATTERN)
    address: int = Field(ge=0, le=65535, description="0-based register address")
    table: Table = "holding"
    dtype: Dtype = "float32"
    order: Order = "ABCD"
    scale: float = 1.0
    offset: float = 0.0
    unit: str = ""
    length: int | None = Field(default=None, ge=1, le=123, description=(
        "string: how many registers (two characters each)"))
    deadband: float = Field(default=0.0, ge=0, allow_inf_nan=False, description=(
        "report by exception: a value within this distance of the value last sent is not "
        "sent again (marked unchanged) until max_interval_s has passed"))
    deadband_pct: float = Field(default=0.0, ge=0, le=100, description=(
        "the same, as a percentage of the value last sent"))
    max_interval_s: float | None = Field(default=None, gt=0, allow_inf_nan=False, description=(
        "heartbeat: send the value at least this often; set alone, a value is sent when it "
        "changes at all (default with a deadband: 60 s)"))

    @property
    def by_exception(self) -> bool:
        """Whether this register is reported by exception (deadband or heartbeat set)."""
        return bool(self.deadband or self.deadband_pct or self.max_interval_s)

    @property
    def count(self) -> int:
        if self.dtype == "string":
            return self.length or 1
        return _FORMAT[self.dtype][1]

    @model_validator(mode="after")
    def _fits(self) -> RegisterSpec:
        if self.address + self.count - 1 > 65535:
            raise ValueError(f"{self.name}: {self.dtype} at {self.address} runs past 65535")
        if self.scale == 0:
            raise ValueError(f"{self.name}: scale must not be 0")
        if (self.table in BIT_TABLES) != (self.dtype == "bool"):
            raise ValueError(f"{self.name}: dtype bool goes with tables {BIT_TABLES} and only "
                             f"there; got dtype {self.dtype} in table {self.table}")
        if self.dtype == "bool" and (self.scale, self.offset) != (1.0, 0.0):
            raise ValueError(f"{self.name}: a bit takes no scale or offset")
        if (self.dtype == "string") != (self.length is not None):
            raise ValueError(f"{self.name}: length (registers) goes with dtype string and "
                             f"only there")
        if self.dtype == "string" and (self.scale, self.offset, self.deadband,
                                       self.deadband_pct) != (1.0, 0.0, 0.0, 0.0):
            raise ValueError(f"{self.name}: a string takes no scale, offset or deadband")
        return self


def _reorder(words: list[int], order: str) -> list[int]:
    """Map between device register order and big-endian ABCD word order (an involution)."""
    if order in ("CDAB", "DCBA"):
        words = words[::-1]
    if order in ("BADC", "DCBA"):
        words = [((w & 0xFF) << 8) | (w >> 8) for w in words]
    return words


def decode_text(registers: list[int], spec: RegisterSpec) -> str:
    """The text a ``string`` register span holds (undecodable bytes shown as U+FFFD)."""
    if len(registers) != spec.count or any(not 0 <= r <= 0xFFFF for r in registers):
        raise RegisterError(f"{spec.name}: string needs {spec.count} registers of 0..65535, "
                            f"got {registers}")
    words = _reorder(list(registers), spec.order)
    raw = struct.pack(f">{len(words)}H", *words)
    return raw.decode("utf-8", errors="replace").rstrip("\x00 ").replace("\x00", "")


def decode(registers: list[int], spec: RegisterSpec) -> float | int:
    """Turn the registers of one signal into its engineering value (raw * scale + offset).

    Without scale and offset an integer stays an integer, exact to 64 bits, and the wire
    carries it exactly. A float32 reads as the shortest decimal that is the same float32;
    a scaled value is rounded to the register's resolution (the decimals of the raw value
    plus those of ``scale``), so -87 * 0.1 is -8.7, not -8.700000000000001.
    """
    if spec.dtype == "string":
        raise RegisterError(f"{spec.name}: a string register is read with decode_text")
    fmt, count = _FORMAT[spec.dtype]
    if spec.dtype == "bool":
        if len(registers) != 1 or registers[0] not in (0, 1, True, False):
            raise RegisterError(f"{spec.name}: a bit must be one 0 or 1, got {registers}")
        return int(registers[0])
    if len(registers) != count:
        raise RegisterError(
            f"{spec.name}: {spec.dtype} needs {count} registers, got {len(registers)}"
        )
    if any(not 0 <= r <= 0xFFFF for r in registers):
        raise RegisterError(f"{spec.name}: registers must be 0..65535, got {registers}")
    if count == 1:  # a 16-bit integer, the most common register: two's complement by hand
        r = registers[0]
        if spec.order in ("BADC", "DCBA"):
            r = ((r & 0xFF) << 8) | (r >> 8)
        raw = r - 0x10000 if fmt == "h" and r >= 0x8000 else r
    else:
        words = _reorder(list(registers), spec.order)
        packed = struct.pack(f">{count}H", *words)
        raw = struct.unpack(">" + fmt, packed)[0]
        if fmt == "f":
            raw = _shortest_float32(raw, packed)
    if spec.scale == 1.0 and spec.offset == 0.0:
        return raw
    if isinstance(raw, float) and not math.isfinite(raw):
        return raw  # refused downstream as a non-finite value
    raw_digits = 0 if isinstance(raw, int) else _decimals(raw)
    return round(raw * spec.scale + spec.offset,
                 min(15, raw_digits + _constant_decimals(spec.scale)) if spec.scale != 1.0
                 else max(raw_digits, _constant_decimals(spec.offset)))


@functools.lru_cache(maxsize=4096)
def _constant_decimals(x: float) -> int:
    """``_decimals`` of a register's scale or offset (a handful per map: cached)."""
    return _decimals(x)


def _decimals(x: float | int) -> int:
    """Digits after the point in the shortest decimal that reads back as ``x``.

    >>> _decimals(0.1), _decimals(25), _decimals(1e-05), _decimals(1.5e3)
    (1, 0, 5, 0)
    """
    if isinstance(x, int) or not math.isfinite(x):
        return 0
    exponent = decimal.Decimal(repr(x)).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _shortest_float32(raw: float, packed: bytes) -> float:
    """The float32 as the shortest decimal that reads back as the same float32
    (7.59, not 7.590000152587891): what the device meant, and cheap to send.

    >>> _shortest_float32(*((v := struct.unpack(">f", b := struct.pack(">f", 7.59))[0]), b))
    7.59
    """
    if not math.isfinite(raw):
        return raw
    for digits in range(6, 10):
        short = float(f"{raw:.{digits}g}")
        if struct.pack(">f", short) == packed:
            return short
    return raw


def encode(value: float | str, spec: RegisterSpec) -> list[int]:
    """Inverse of :func:`decode` and :func:`decode_text` (integers are rounded)."""
    if spec.dtype == "string":
        data = str(value).encode()
        if len(data) > 2 * spec.count:
            raise RegisterError(f"{spec.name}: {value!r} is longer than {spec.count} registers")
        data = data.ljust(2 * spec.count, b"\x00")
        return _reorder(list(struct.unpack(f">{spec.count}H", data)), spec.order)
    assert not isinstance(value, str)
    fmt, count = _FORMAT[spec.dtype]
    if spec.dtype == "bool":
        return [1 if value else 0]
    raw: float | int = value
    if spec.scale != 1.0 or spec.offset != 0.0:
        raw = (value - spec.offset) / spec.scale
    if fmt not in ("f", "d"):
        raw = round(raw)
    try:
        packed = struct.pack(">" + fmt, raw)
    except struct.error as exc:
        raise RegisterError(f"{spec.name}: {value} does not fit {spec.dtype}: {exc}") from exc
    words = list(struct.unpack(f">{count}H", packed))
    return _reorder(words, spec.order if count > 1 else _single(spec.order))


def _single(order: str) -> str:
    """For 16-bit values only the byte swap applies."""
    return "BADC" if order in ("BADC", "DCBA") else "ABCD"
