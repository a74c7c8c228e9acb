"""The compact telemetry encoding (wire encoding 2): columnar, binary, optionally deflated.

A ``ReadingBatch`` as JSON spells every signal name and every timestamp in every sample
(~47 bytes per value with realistic names). This encoding sends each name once per
message, groups the samples of one asset with the same signals into a table, stores
timestamps as microsecond offsets and values as variable-length integers, then deflates
the lot. It carries exactly what the JSON does: integers exact to 64 bits, floats as
the shortest decimal that reads back as the same float (so a value the agent rounded
to its register's resolution costs what its digits cost), "unchanged" marks (report by
exception) distinct from absent signals. Layout (``uv`` unsigned LEB128 varint, ``sv``
zigzag varint, ``str`` uv length + UTF-8)::

    0xF5 0x02 flags                  magic (0xF5 starts no JSON, no UTF-8), encoding, flags
    body (raw deflate if flags & 1):
      str gateway, str stream, uv seq, sv sent_at_us, sv base_ts_us      envelope
      uv n_names, n_names x str                                           string table
      uv n_groups, per group:
        uv asset (name index), uv n_cols, n_cols x uv signal (name index)
        n_cols x column kind: uv 0 integer | uv 1 decimal + sv exponent | uv 2 float64
                              | uv 3 text
        uv n_rows, per row:
          sv ts delta (us, from the previous row; the first from base_ts_us)
          ceil(n_cols / 4) bytes: 2 bits per column, 0 absent, 1 value, 2 unchanged
          per column marked 1: integer sv delta from the column's previous value;
          decimal sv delta of mantissa (value = mantissa * 10**exponent); float64 8 bytes;
          text str (``texts``)

Decoding returns plain dicts; ``contracts.wire.decode_telemetry`` validates them with the
same rules as JSON, sample by sample.

>>> from datetime import UTC, datetime
>>> t = datetime(2026, 12, 3, tzinfo=UTC)
>>> samples = [{"asset": "p1", "ts": t, "values": {"n": 2**64 - 1, "t": -8.7}, "unchanged": []}]
>>> head = {"gateway": "gw", "stream": "0", "seq": 7, "sent_at": t}
>>> envelope, back = decode(encode(head, samples))
>>> back == samples, envelope["seq"]
(True, 7)
"""

from __future__ import annotations

import decimal
import math
import struct
import zlib
from datetime import datetime, timedelta
from typing import Any

from .times import EPOCH, epoch_us

MAGIC = b"\xf5\x02"
ENCODING = 2
_DEFLATED = 1
_INT, _DECIMAL, _FLOAT64, _TEXT = 0, 1, 2, 3
_ABSENT, _VALUE, _UNCHANGED = 0, 1, 2
_MAX_MANTISSA = 2**63
_F64 = struct.Struct("<d")


class CompactError(ValueError):
    """A compact payload is truncated or malformed."""


def is_compact(payload: bytes) -> bool:
    return payload[:2] == MAGIC


# -- varints -----------------------------------------------------------------------
def _uv(out: bytearray, n: int) -> None:
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _sv(out: bytearray, n: int) -> None:
    _uv(out, (n << 1) if n >= 0 else ((-n) << 1) - 1)


def _str(out: bytearray, s: str) -> None:
    raw = s.encode()
    _uv(out, len(raw))
    out += raw


class _Reader:
    __slots__ = ("buf", "pos")

    def __init__(self, buf: bytes):
        self.buf = buf
        self.pos = 0

    def uv(self) -> int:
        n = shift = 0
        buf, pos = self.buf, self.pos
        while True:
            if pos >= len(buf):
                raise CompactError("truncated: a number runs past the end of the payload")
            b = buf[pos]
            pos += 1
            n |= (b & 0x7F) << shift
            if b < 0x80:
                self.pos = pos
                return n
            shift += 7
            if shift > 140:
                raise CompactError("malformed: a number longer than 20 bytes")

    def sv(self) -> int:
        n = self.uv()
        return (n >> 1) if not n & 1 else -((n + 1) >> 1)

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.buf):
            raise CompactError(f"truncated: {n} bytes wanted at offset {self.pos}, "
                               f"{len(self.buf) - self.pos} left")
        out = self.buf[self.pos: self.pos + n]
        self.pos += n
        return out

    def str(self) -> str:
        n = self.uv()
        if n > 4096:
            raise CompactError(f"malformed: a {n}-byte string")
        try:
            return self.take(n).decode()
        except UnicodeDecodeError as exc:
            raise CompactError(f"malformed: a string is not UTF-8 ({exc.reason})") from exc

    def count(self, what: str, limit: int = 1_000_000) -> int:
        n = self.uv()
        if n > limit:
            raise CompactError(f"malformed: {n} {what} (at most {limit})")
        return n


# -- columns -----------------------------------------------------------------------
def _decimal(v: float) -> tuple[int, int]:
    """(mantissa, exponent) of the shortest decimal that reads back as ``v``."""
    text = repr(v)
    if "e" not in text and "n" not in text:  # plain "-8.7", "25.0": the common case
        whole, _, frac = text.partition(".")
        return int(whole + frac), -len(frac)
    sign, digits, exponent = decimal.Decimal(text).as_tuple()
    m = 0
    for d in digits:
        m = m * 10 + d
    return (-m if sign else m), int(exponent)


def _column_kind(values: list[Any]) -> tuple[int, int, list[int]]:
    """(kind, exponent, integers to send) for one column's values."""
    if len(values) == 1:  # the common case (one sample per device per batch), in short
        v = values[0]
        if type(v) is int:
            return _INT, 0, values
        if v == 0 and math.copysign(1.0, v) < 0:
            return _FLOAT64, 0, []
        try:
            m, e = _decimal(float(v))
        except (decimal.InvalidOperation, ValueError, OverflowError, TypeError):
            return _FLOAT64, 0, []
        if e < -400 or abs(m) >= _MAX_MANTISSA:
            return _FLOAT64, 0, []
        return _DECIMAL, e, [m]
    if all(type(v) is int for v in values):
        return _INT, 0, values
    if any(v == 0 and math.copysign(1.0, v) < 0 for v in values):
        return _FLOAT64, 0, []  # -0.0 has no decimal mantissa of its own
    try:
        parts = [(v, 0) if type(v) is int else _decimal(float(v)) for v in values]
    except (decimal.InvalidOperation, ValueError, OverflowError, TypeError):
        return _FLOAT64, 0, []
    low = min(e for _, e in parts)
    scaled = [m * 10 ** (e - low) for m, e in parts]
    if low < -400 or any(abs(m) >= _MAX_MANTISSA for m in scaled):
        return _FLOAT64, 0, []
    return _DECIMAL, low, scaled


def encode(envelope: dict[str, Any], samples: list[dict[str, Any]], compress: bool = True
           ) -> bytes:
    """Encode a batch: ``envelope`` has gateway, stream, seq, sent_at; each sample has
    asset, ts, values and (optionally) unchanged and texts."""
    names: dict[str, int] = {}

    def name(s: str) -> int:
        i = names.get(s)
        if i is None:
            i = names[s] = len(names)
        return i

    groups: dict[tuple[str, tuple[str, ...]], list[dict[str, Any]]] = {}
    for s in samples:
        cols = tuple(sorted({*s["values"], *s.get("unchanged", ()), *s.get("texts", ())}))
        groups.setdefault((s["asset"], cols), []).append(s)
    base = min((epoch_us(s["ts"]) for s in samples), default=0)
    body = bytearray()
    col_heads: dict[tuple[str, ...], bytes] = {}  # devices of one kind share their columns
    for (asset, cols), rows in groups.items():
        _uv(body, name(asset))
        head = col_heads.get(cols)
        if head is None:
            h = bytearray()
            _uv(h, len(cols))
            for c in cols:
                _uv(h, name(c))
            head = col_heads[cols] = bytes(h)
        body += head
        kinds = []
        text_cols = {c for r in rows for c in (r.get("texts") or ())}
        for c in cols:
            if c in text_cols:
                kinds.append((_TEXT, iter(())))
                _uv(body, _TEXT)
                continue
            kind, exponent, ints = _column_kind([r["values"][c] for r in rows
                                                 if c in r["values"]] or [0])
            kinds.append((kind, iter(ints)))
            body.append(kind)  # one byte: kinds are small
            if kind == _DECIMAL:
                _sv(body, exponent)
        _uv(body, len(rows))
        previous_ts = base
        last = [0] * len(cols)
        every_value = bytearray((len(cols) + 3) // 4)  # the bits of a row with all values
        for j in range(len(cols)):
            every_value[j >> 2] |= _VALUE << ((j & 3) * 2)
        plain = not text_cols and all(kind != _FLOAT64 for kind, _ in kinds)
        for r in rows:
            ts = epoch_us(r["ts"])
            _sv(body, ts - previous_ts)
            previous_ts = ts
            values = r["values"]
            if plain and len(values) == len(cols) and not r.get("unchanged"):
                # the common row, in short: every column a value, each an integer delta
                body += every_value
                for j in range(len(cols)):
                    n = next(kinds[j][1])
                    d = n - last[j]
                    last[j] = n
                    d = d << 1 if d >= 0 else ((-d) << 1) - 1
                    if d < 0x80:
                        body.append(d)
                    else:
                        _uv(body, d)
                continue
            unchanged = set(r.get("unchanged", ()))
            texts = r.get("texts") or {}
            bits = bytearray((len(cols) + 3) // 4)
            for j, c in enumerate(cols):
                state = (_VALUE if c in values or c in texts else
                         _UNCHANGED if c in unchanged else _ABSENT)
                bits[j >> 2] |= state << ((j & 3) * 2)
            body += bits
            for j, c in enumerate(cols):
                kind, ints = kinds[j]
                if kind == _TEXT:
                    if c in texts:
                        _str(body, texts[c])
                    continue
                if c not in values:
                    continue
                if kind == _FLOAT64:
                    body += _F64.pack(float(values[c]))
                else:
                    n = next(ints)
                    _sv(body, n - last[j])
                    last[j] = n
    head = bytearray()
    _str(head, envelope["gateway"])
    _str(head, envelope["stream"])
    _uv(head, envelope["seq"])
    _sv(head, epoch_us(envelope["sent_at"]))
    _sv(head, base)
    _uv(head, len(names))
    for s in names:
        _str(head, s)
    _uv(head, len(groups))
    raw = bytes(head + body)
    if compress:
        packer = zlib.compressobj(6, zlib.DEFLATED, -15)
        packed = packer.compress(raw) + packer.flush()
        if len(packed) < len(raw):
            return MAGIC + bytes([_DEFLATED]) + packed
    return MAGIC + b"\x00" + raw


def _time(us: int) -> datetime:
    try:
        return EPOCH + timedelta(microseconds=us)
    except OverflowError as exc:
        raise CompactError(f"malformed: timestamp {us} us since 1970 is out of range") from exc


def decode(payload: bytes, max_size: int = 64 * 1024 * 1024
           ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(envelope, samples) as plain dicts; CompactError names what is wrong."""
    if not is_compact(payload) or len(payload) < 3:
        raise CompactError("not a compact payload (it must start with 0xF5 0x02 and a flags "
                           "byte)")
    flags = payload[2]
    if flags & ~_DEFLATED:
        raise CompactError(f"unknown flags {flags:#04x} (this ingester knows 0x01, deflated)")
    body = payload[3:]
    if flags & _DEFLATED:
        unpacker = zlib.decompressobj(-15)
        try:
            body = unpacker.decompress(body, max_size)
        except zlib.error as exc:
            raise CompactError(f"deflated body is corrupt: {exc}") from exc
        if unpacker.unconsumed_tail:
            raise CompactError(f"deflated body is larger than {max_size} bytes")
    r = _Reader(body)
    envelope: dict[str, Any] = {"gateway": r.str(), "stream": r.str(), "seq": r.uv(),
                                "sent_at": _time(r.sv())}
    base = r.sv()
    names = [r.str() for _ in range(r.count("names"))]

    def named(i: int) -> str:
        if i >= len(names):
            raise CompactError(f"malformed: name index {i} beyond the {len(names)} names")
        return names[i]

    samples: list[dict[str, Any]] = []
    for _ in range(r.count("groups")):
        asset = named(r.uv())
        cols = [named(r.uv()) for _ in range(r.count("columns", 100_000))]
        kinds: list[tuple[int, int]] = []
        for c in cols:
            kind = r.uv()
            if kind not in (_INT, _DECIMAL, _FLOAT64, _TEXT):
                raise CompactError(f"malformed: column {c!r} has unknown kind {kind}")
            kinds.append((kind, r.sv() if kind == _DECIMAL else 0))
        # a decimal column's value is mantissa x 10**exponent: an exact integer product,
        # or one correctly rounded integer division (the float its text would read as)
        scales = [10 ** abs(e) if kind == _DECIMAL and abs(e) <= 400 else 0
                  for kind, e in kinds]
        ts = base
        last = [0] * len(cols)
        width = (len(cols) + 3) // 4
        buf, end = r.buf, len(r.buf)
        for _ in range(r.count("rows")):
            ts += r.sv()
            bits = r.take(width)
            values: dict[str, Any] = {}
            unchanged: list[str] = []
            texts: dict[str, str] = {}
            for j, c in enumerate(cols):
                state = (bits[j >> 2] >> ((j & 3) * 2)) & 3
                if state == _UNCHANGED:
                    unchanged.append(c)
                elif state == _VALUE:
                    kind, exponent = kinds[j]
                    if kind == _TEXT:
                        texts[c] = r.str()
                        continue
                    if kind == _FLOAT64:
                        values[c] = _F64.unpack(r.take(8))[0]
                        continue
                    pos, n, shift = r.pos, 0, 0  # the delta's varint, read in place
                    while True:
                        if pos >= end:
                            raise CompactError("truncated: a number runs past the end of "
                                               "the payload")
                        b = buf[pos]
                        pos += 1
                        n |= (b & 0x7F) << shift
                        if b < 0x80:
                            break
                        shift += 7
                        if shift > 140:
                            raise CompactError("malformed: a number longer than 20 bytes")
                    r.pos = pos
                    last[j] += (n >> 1) if not n & 1 else -((n + 1) >> 1)
                    m = last[j]
                    if kind == _INT:
                        values[c] = m
                    else:
                        try:
                            values[c] = (m / scales[j] if exponent < 0 else
                                         float(m * scales[j])) if scales[j] else \
                                float(f"{m}e{exponent}")
                        except OverflowError:  # a hostile mantissa: inf, refused later
                            values[c] = float(f"{m}e{exponent}")
                elif state != _ABSENT:
                    raise CompactError(f"malformed: column {c!r} has unknown state {state}")
            samples.append({"asset": asset, "ts": _time(ts), "values": values,
                            "unchanged": unchanged, **({"texts": texts} if texts else {})})
    if r.pos != len(body):
        raise CompactError(f"malformed: {len(body) - r.pos} bytes after the last group")
    return envelope, samples
