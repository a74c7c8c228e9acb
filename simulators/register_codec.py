"""The simulated devices' own register encoder, written apart from the agent's codec.

The plant must not share the agent's ``edge_agent.registers.encode``: a byte-order bug
there would be written by the simulator and undone by the agent, and every test would
pass. This one derives each order from ``struct`` directly: ``ABCD`` is big-endian,
``DCBA`` little-endian, ``CDAB`` big-endian with the 16-bit words in reverse order,
``BADC`` little-endian with the words in reverse order (each word's bytes swapped).

>>> from edge_agent.registers import RegisterSpec as R
>>> [hex(w) for w in encode(229.5, R(name="v", address=0, dtype="float32"))]
['0x4365', '0x8000']
>>> [hex(w) for w in encode(0x01020304, R(name="n", address=0, dtype="uint32", order="BADC"))]
['0x201', '0x403']
"""

from __future__ import annotations

import struct

from edge_agent.registers import RegisterSpec

_CODES = {"int16": "h", "uint16": "H", "int32": "i", "uint32": "I", "int64": "q",
          "uint64": "Q", "float32": "f", "float64": "d"}


def encode(value: float | str, spec: RegisterSpec) -> list[int]:
    """The registers a device holding ``value`` (engineering units) answers with."""
    if spec.dtype == "bool":
        return [1 if value else 0]
    if spec.dtype == "string":  # two characters a register, the first in the high byte
        data = str(value).encode().ljust(2 * spec.count, b"\x00")
        if spec.order in ("BADC", "DCBA"):
            data = bytes(b for i in range(0, len(data), 2) for b in (data[i + 1], data[i]))
        words = [data[i] << 8 | data[i + 1] for i in range(0, len(data), 2)]
        return words[::-1] if spec.order in ("CDAB", "DCBA") else words
    assert not isinstance(value, str)
    code = _CODES[spec.dtype]
    raw: float | int = (value - spec.offset) / spec.scale
    if code not in "fd":
        raw = int(round(raw))
    little = spec.order in ("DCBA", "BADC")
    data = struct.pack(("<" if little else ">") + code, raw)
    words = [data[i] << 8 | data[i + 1] for i in range(0, len(data), 2)]
    if spec.order in ("CDAB", "BADC"):
        words.reverse()
    return words
