"""The wire contract: what passes, and what is refused with a precise reason."""

import pytest

from contracts.wire import (
    AnomalyEvent,
    ReadingBatch,
    Sample,
    WireError,
    decode_message,
    telemetry_topic,
)

TS = "2026-11-25T10:00:00Z"


def batch(**kw) -> ReadingBatch:
    data = {"gateway": "gw-1", "seq": 7, "sent_at": TS,
            "samples": [{"asset": "pump-01", "ts": TS, "values": {"vibration_rms": 2.5}}]}
    data.update(kw)
    return ReadingBatch.model_validate(data)


def test_roundtrip():
    b = batch()
    got = decode_message(telemetry_topic("s1", "gw-1"), b.to_bytes())
    assert got == b
    assert got.samples[0].ts.isoformat() == "2026-11-25T10:00:00+00:00"


@pytest.mark.parametrize(("payload", "reason"), [
    (b"not json", "invalid"),
    (b'{"v": 2, "gateway": "gw-1", "seq": 1, "sent_at": "2026-11-25T10:00:00Z", "samples": []}',
     "invalid"),
    (b'{"gateway": "gw-1", "seq": -1, "sent_at": "2026-11-25T10:00:00Z", "samples": []}',
     "invalid"),
    (b'{"gateway": "gw-1", "seq": 1, "sent_at": "2026-11-25T10:00:00", "samples": '
     b'[{"asset": "a", "ts": "2026-11-25T10:00:00Z", "values": {"x": 1}}]}', "UTC offset"),
    (b'{"gateway": "gw-1", "seq": 1, "sent_at": "2026-11-25T10:00:00Z", "samples": '
     b'[{"asset": "a b", "ts": "2026-11-25T10:00:00Z", "values": {"x": 1}}]}', "topic level"),
    (b'{"gateway": "gw-1", "seq": 1, "sent_at": "2026-11-25T10:00:00Z", "extra": 1, "samples": '
     b'[{"asset": "a", "ts": "2026-11-25T10:00:00Z", "values": {"x": 1}}]}', "invalid"),
])
def test_bad_payloads_are_refused_with_a_reason(payload, reason):
    with pytest.raises(WireError, match=reason):
        decode_message(telemetry_topic("s1", "gw-1"), payload)


def test_non_finite_value_refused():
    with pytest.raises(ValueError, match="finite number"):
        Sample(asset="a", ts=TS, values={"x": float("nan")})
    payload = batch().to_bytes().replace(b"2.5", b"1e999")
    assert payload != batch().to_bytes()
    with pytest.raises(WireError, match="'vibration_rms' is inf: only finite numbers are sent"):
        decode_message(telemetry_topic("s1", "gw-1"), payload)


def test_gateway_must_match_topic():
    with pytest.raises(WireError, match="does not match topic gateway"):
        decode_message(telemetry_topic("s1", "gw-2"), batch().to_bytes())


@pytest.mark.parametrize("topic", ["forewarn/v1/s1/gw/nope", "other/v1/s/g/telemetry",
                                   "forewarn/v1/s1/telemetry"])
def test_foreign_topics_refused(topic):
    with pytest.raises(WireError, match="topic"):
        decode_message(topic, batch().to_bytes())


def test_anomaly_event_roundtrip():
    e = AnomalyEvent(gateway="gw-1", seq=3, sent_at=TS, asset="p", signal="vibration_rms",
                     ts=TS, value=9.0, score=7.5, threshold=6.0, detector="ewma_zscore")
    assert decode_message("forewarn/v1/s1/gw-1/events", e.to_bytes()) == e
