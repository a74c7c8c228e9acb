"""The compact telemetry encoding round-trips every value exactly, tells "unchanged" from
"not read", and turns any corruption into a WireError (never a crash, never a wrong value)."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from contracts import compact
from contracts.wire import ReadingBatch, Sample, WireError, decode_telemetry, utcnow

TOPIC = "forewarn/v1/site/gw-01/telemetry"
T0 = datetime(2026, 12, 3, 10, 0, 0, 123456, tzinfo=UTC)


def batch(samples, seq=5):
    return ReadingBatch(gateway="gw-01", seq=seq, stream="a1", sent_at=utcnow(), samples=samples)


def roundtrip(b: ReadingBatch, compress=True) -> ReadingBatch:
    decoded = decode_telemetry(TOPIC, b.to_compact(compress))
    assert decoded.refused == []
    return decoded.batch


def by_asset(b: ReadingBatch):
    return sorted((s.asset, s.ts, s.values, s.unchanged) for s in b.samples)


@pytest.mark.parametrize("compress", [True, False])
def test_every_value_round_trips_exactly(compress):
    rng = random.Random(7)
    ints = [0, 1, -1, 2**53 + 1, 2**63 - 1, -(2**63), 2**64 - 1, 65535, -32768]
    floats = [-8.7, 7.59, 0.1 + 0.2, 1e-300, -1.7976931348623157e308, 5e-324, 2.0**100,
              21.37, 0.0, -0.0, 123456789.123456]
    samples = []
    for i in range(200):
        samples.append(Sample(
            asset=f"asset-{i % 7}", ts=T0 + timedelta(microseconds=rng.randrange(10**9)),
            values={"counter": rng.choice(ints), "temp": round(rng.uniform(-40, 120), 2),
                    "raw": rng.choice(floats), "noise": rng.random() * 10 ** rng.randint(-5, 9),
                    "status": rng.randrange(2)}))
    b = batch(samples)
    back = roundtrip(b, compress)
    assert by_asset(back) == by_asset(b)
    for s, r in zip(sorted(b.samples, key=lambda s: (s.asset, s.ts)),
                    sorted(back.samples, key=lambda s: (s.asset, s.ts)), strict=True):
        for k, v in s.values.items():  # same type and same bits: -0.0 stays -0.0
            assert type(r.values[k]) is type(v) and repr(r.values[k]) == repr(v)
    assert (back.gateway, back.seq, back.stream, back.sent_at) == (
        b.gateway, b.seq, b.stream, b.sent_at)


def test_one_sample_per_device_and_mixed_rows_round_trip():
    """The encoder's short paths: many devices of one sample each (a gateway's batch of
    one poll), and one device whose full rows surround a row with an unchanged value."""
    rng = random.Random(11)
    samples = [Sample(asset=f"dev-{i:03d}", ts=T0 + timedelta(milliseconds=i), values={
        "temp_c": rng.randint(-400, 1500) / 10, "count": rng.randint(0, 2**40),
        "vib": rng.choice([0.0, -0.0, 1e-300, 3.3, 2.0**70]), "ok": rng.randrange(2)})
        for i in range(100)]
    samples += [Sample(asset="mix", ts=T0 + timedelta(seconds=k), values={"a": k / 10, "b": k}
                       if k != 2 else {"a": 0.2}, unchanged=["b"] if k == 2 else [])
                for k in range(5)]
    b = batch(samples)
    back = roundtrip(b)
    assert by_asset(back) == by_asset(b)
    for s, r in zip(sorted(b.samples, key=lambda s: (s.asset, s.ts)),
                    sorted(back.samples, key=lambda s: (s.asset, s.ts)), strict=True):
        assert [(k, type(v), repr(v)) for k, v in sorted(s.values.items())] == [
            (k, type(v), repr(v)) for k, v in sorted(r.values.items())]


def test_unchanged_is_not_absent():
    b = batch([Sample(asset="p1", ts=T0, values={"a": 1.5, "b": 2}),
               Sample(asset="p1", ts=T0 + timedelta(seconds=1), values={"a": 1.6},
                      unchanged=["b"]),
               Sample(asset="p1", ts=T0 + timedelta(seconds=2), values={"b": 3})])  # a not read
    back = roundtrip(b)
    assert [(s.values, s.unchanged) for s in back.samples] == [
        ({"a": 1.5, "b": 2}, []), ({"a": 1.6}, ["b"]), ({"b": 3}, [])]
    signed_zero = batch([Sample(asset="p1", ts=T0, values={"a": -0.0, "b": 1.5})])
    assert repr(roundtrip(signed_zero).samples[0].values["a"]) == "-0.0"
    all_unchanged = batch([Sample(asset="p1", ts=T0, unchanged=["a", "b"])])
    assert roundtrip(all_unchanged).samples[0].unchanged == ["a", "b"]


def test_a_bad_sample_is_refused_alone():
    head = {"gateway": "gw-01", "stream": "0", "seq": 1, "sent_at": T0}
    payload = compact.encode(head, [
        {"asset": "p1", "ts": T0, "values": {"x": float("inf")}},
        {"asset": "bad asset!", "ts": T0, "values": {"x": 1.0}},
        {"asset": "p2", "ts": T0, "values": {"x": 2.5}}])
    decoded = decode_telemetry(TOPIC, payload)
    assert [s.asset for s in decoded.batch.samples] == ["p2"]
    reasons = [r.reason for r in decoded.refused]
    assert "signal 'x' is inf: only finite numbers are sent" in reasons[0]
    assert "'bad asset!' is not a valid id" in reasons[1]
    # the dead letter is a one-sample JSON batch, which decodes (and refuses) the same way
    again = decode_telemetry(TOPIC, decoded.refused[1].payload())
    assert again.batch is None and "'bad asset!' is not a valid id" in again.refused[0].reason


def test_wrong_gateway_and_unknown_flags_are_refused():
    payload = batch([Sample(asset="p1", ts=T0, values={"a": 1})]).to_compact()
    with pytest.raises(WireError, match="does not match topic gateway"):
        decode_telemetry("forewarn/v1/site/gw-02/telemetry", payload)
    with pytest.raises(WireError, match="unknown flags 0x80"):
        decode_telemetry(TOPIC, payload[:2] + b"\x80" + payload[3:])


def test_corruption_is_a_wire_error_never_a_crash_or_a_wrong_batch():
    rng = random.Random(11)
    good = batch([Sample(asset=f"p{i}", ts=T0 + timedelta(seconds=i),
                         values={"a": i * 1.25, "n": 2**63 + i}) for i in range(30)])
    for compress in (True, False):
        payload = good.to_compact(compress)
        outcomes = {"refused": 0, "decoded": 0}
        for trial in range(2000):
            damaged = bytearray(payload)
            if trial % 3 == 0:
                damaged = damaged[: rng.randrange(len(damaged))]
            else:
                for _ in range(rng.randint(1, 4)):
                    damaged[rng.randrange(3, len(damaged))] = rng.randrange(256)
            try:
                decoded = decode_telemetry(TOPIC, bytes(damaged))
            except WireError:
                outcomes["refused"] += 1
                continue
            outcomes["decoded"] += 1
            for s in decoded.batch.samples if decoded.batch else []:
                assert all(isinstance(v, int | float) for v in s.values.values())
        assert outcomes["refused"] > 0


def test_compact_is_much_smaller_than_json():
    names = [f"bearing_temperature_{i:02d}" for i in range(50)]
    rng = random.Random(3)
    samples = [Sample(asset=f"compressor-{a:03d}", ts=T0 + timedelta(milliseconds=7 * a),
                      values={n: round(rng.uniform(0, 100), 2) for n in names})
               for a in range(50)]
    b = batch(samples)
    per_value_json = len(b.to_bytes()) / 2500
    per_value_compact = len(b.to_compact()) / 2500
    assert per_value_compact < 8 and per_value_compact * 5 < per_value_json
