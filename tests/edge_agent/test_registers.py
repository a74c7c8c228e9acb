"""Register decoding, exhaustively over every dtype and byte/word order."""

import itertools
import math
import struct

import pytest

from edge_agent.registers import RegisterError, RegisterSpec, decode, encode

DTYPES = ["int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64"]
ORDERS = ["ABCD", "CDAB", "BADC", "DCBA"]

# Known wire images of 0x01020304 (int32) in each order.
KNOWN_INT32 = {"ABCD": [0x0102, 0x0304], "CDAB": [0x0304, 0x0102],
               "BADC": [0x0201, 0x0403], "DCBA": [0x0403, 0x0201]}


@pytest.mark.parametrize("order", ORDERS)
def test_int32_known_images(order):
    spec = RegisterSpec(name="x", address=0, dtype="uint32", order=order)
    assert decode(KNOWN_INT32[order], spec) == 0x01020304
    assert encode(0x01020304, spec) == KNOWN_INT32[order]


def test_float64_dcba_is_little_endian():
    spec = RegisterSpec(name="x", address=0, dtype="float64", order="DCBA")
    raw = struct.pack("<d", 1234.5678)
    words = [int.from_bytes(raw[i:i + 2], "big") for i in range(0, 8, 2)]
    assert decode(words, spec) == 1234.5678


EXTREMES = {
    "int16": [-32768, -1, 0, 1, 32767], "uint16": [0, 1, 65535],
    "int32": [-(2**31), -1, 0, 2**31 - 1], "uint32": [0, 2**32 - 1],
    "int64": [-(2**63), -1, 0, 2**63 - 1], "uint64": [0, 2**64 - 1],
    "float32": [-1.5, 0.0, 3.25, 2.0**100], "float64": [-1e300, 0.0, math.pi, 2.5e-300],
}


@pytest.mark.parametrize(("dtype", "order"), itertools.product(DTYPES, ORDERS))
def test_roundtrip_every_dtype_and_order(dtype, order):
    spec = RegisterSpec(name="x", address=0, dtype=dtype, order=order)
    for value in EXTREMES[dtype]:
        regs = encode(value, spec)
        assert len(regs) == spec.count
        assert all(0 <= r <= 0xFFFF for r in regs)
        if dtype == "float32":  # read as the shortest decimal of the same float32
            assert struct.pack(">f", decode(regs, spec)) == struct.pack(">f", value)
        else:
            assert decode(regs, spec) == value


def test_scale_and_offset():
    spec = RegisterSpec(name="t", address=0, dtype="int16", scale=0.01, offset=-50.0)
    assert encode(21.37, spec) == [7137]
    assert decode([7137], spec) == 21.37  # exactly: rounded to the register's resolution


def test_values_read_without_float_noise():
    """-87 * 0.1 is -8.7, a float32 7.59 is 7.59: what the device meant, not binary noise."""
    tenth = RegisterSpec(name="t", address=0, dtype="int16", scale=0.1)
    assert repr(decode([(-87) & 0xFFFF], tenth)) == "-8.7"
    f32 = RegisterSpec(name="f", address=0, dtype="float32")
    assert repr(decode(encode(7.59, f32), f32)) == "7.59"
    scaled_f32 = RegisterSpec(name="g", address=0, dtype="float32", scale=0.5, offset=-3.0)
    assert repr(decode(encode(7.59, scaled_f32), scaled_f32)) == "7.59"
    big = RegisterSpec(name="n", address=0, dtype="uint64")
    assert decode([0xFFFF] * 4, big) == 2**64 - 1 and isinstance(decode([0xFFFF] * 4, big), int)


def test_wrong_register_count_is_a_clear_error():
    spec = RegisterSpec(name="v", address=0, dtype="float32")
    with pytest.raises(RegisterError, match="float32 needs 2 registers, got 1"):
        decode([1], spec)


def test_value_out_of_range_is_a_clear_error():
    spec = RegisterSpec(name="v", address=0, dtype="uint16")
    with pytest.raises(RegisterError, match="does not fit uint16"):
        encode(70000, spec)


def test_spec_validation():
    with pytest.raises(ValueError, match="runs past 65535"):
        RegisterSpec(name="v", address=65535, dtype="float32")
    with pytest.raises(ValueError, match="scale must not be 0"):
        RegisterSpec(name="v", address=0, scale=0)


# Register images written by hand, as meter and PLC manuals print them: a read holding
# registers response PDU (function 3, byte count, data), and the value it means.
MANUAL_EXAMPLES = [
    # 230.0 V as an IEEE 754 float32, big-endian (e.g. a power meter's phase voltage)
    ("03 04 43 66 00 00", dict(dtype="float32"), 230.0),
    # the same value with the words swapped, as many PLCs store floats
    ("03 04 00 00 43 66", dict(dtype="float32", order="CDAB"), 230.0),
    # 123456789 Wh as uint32, low word first (a flow or energy counter)
    ("03 04 CD 15 07 5B", dict(dtype="uint32", order="CDAB"), 123456789),
    # -12.5 degC as int16 in tenths
    ("03 02 FF 83", dict(dtype="int16", scale=0.1), -12.5),
    # 2**40 + 5 as int64 over four registers, big-endian
    ("03 08 00 00 01 00 00 00 00 05", dict(dtype="int64"), 2**40 + 5),
]


@pytest.mark.parametrize(("frame", "spec", "value"), MANUAL_EXAMPLES)
def test_decodes_register_images_written_by_hand(frame, spec, value):
    data = bytes.fromhex(frame)
    assert data[0] == 3 and data[1] == len(data) - 2
    registers = [data[i] << 8 | data[i + 1] for i in range(2, len(data), 2)]
    spec = RegisterSpec(name="x", address=0, **spec)
    assert decode(registers, spec) == value
    from simulators.register_codec import encode as plant_encode  # the plant's own encoder

    assert plant_encode(value, spec) == registers
