"""The ingester against a real Mosquitto, the embedded store and a real VictoriaMetrics."""

import threading
import time

import paho.mqtt.client as mqtt
import pytest

from contracts.mqtt import parse_mqtt_url
from contracts.wire import (
    AnomalyEvent,
    DeviceEvent,
    ReadingBatch,
    Sample,
    events_topic,
    telemetry_topic,
)
from ingest.dead_letters import DeadLetters
from ingest.pipeline import Ingester
from ingest.settings import IngestSettings
from ingest.stores import open_store

TS0 = time.time() - 3600  # recent (VictoriaMetrics retention) and not in the future


def iso(offset_s: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(TS0 + offset_s, UTC).isoformat()


def make_batch(seq: int, asset: str = "pump-01", n: int = 3) -> ReadingBatch:
    return ReadingBatch(gateway="gw-1", seq=seq, sent_at=iso(seq), samples=[
        Sample(asset=asset, ts=iso(seq * 10 + i), values={"vibration_rms": 2.0 + i,
                                                          "bearing_temp": 50.0 + seq})
        for i in range(n)])


def publish(url: str, messages: list[tuple[str, bytes]]) -> None:
    host, port = parse_mqtt_url(url)
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-pub")
    c.connect(host, port)
    c.loop_start()
    for topic, payload in messages:
        c.publish(topic, payload, qos=1).wait_for_publish(5)
    c.disconnect()
    c.loop_stop()


def run_ingester(settings: IngestSettings, until, timeout: float = 20.0) -> Ingester:
    ing = Ingester(settings, open_store(settings.store), DeadLetters(settings.dead_letter_path))
    return drive(ing, until, timeout)


def drive(ing: Ingester, until, timeout: float = 20.0, connects: bool = True) -> Ingester:
    """Run ``ing`` in a thread until ``until(ing)`` or the timeout, then stop it."""
    stop = threading.Event()
    t = threading.Thread(target=ing.run, args=(stop,))
    t.start()
    if connects:
        assert ing.wait_connected(10)
    try:
        deadline = time.monotonic() + timeout
        while not until(ing) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        t.join(10)
    return ing


def settings_for(mosquitto, tmp_path, extra: dict | None = None, **store) -> IngestSettings:
    return IngestSettings.model_validate({
        "mqtt": {"url": mosquitto.url, "client_id": "ingest-test"},
        "store": store or {"kind": "embedded", "path": str(tmp_path / "store.sqlite")},
        "dead_letter_path": str(tmp_path / "dl.sqlite"),
        "state_dir": str(tmp_path / "ingest-state"), "metrics_port": 0,
        "risk": {"enabled": False}, "api": {"url": None},
        **(extra or {}),
    })


def test_corrupt_messages_go_to_dead_letters_and_good_ones_around_them_are_stored(
        mosquitto, tmp_path):
    s = settings_for(mosquitto, tmp_path)
    topic = telemetry_topic("site", "gw-1")
    bad = [
        (topic, b"\x00\xffgarbage"),
        (topic, b'{"gateway": "gw-1", "seq": 99}'),
        (telemetry_topic("site", "gw-other"), make_batch(50).to_bytes()),
        ("forewarn/v1/site/gw-1/unknown-kind", make_batch(51).to_bytes()),
    ]
    good = [(topic, make_batch(i).to_bytes()) for i in range(5)]
    # Subscribe once (persistent session) so nothing published before the run is missed.
    run_ingester(s, until=lambda ing: True, timeout=0)
    publish(mosquitto.url, [good[0], bad[0], good[1], bad[1], good[2], bad[2], bad[3], good[3],
                            good[4]])
    ing = run_ingester(s, until=lambda ing: ing.counters.messages >= 9)
    assert ing.counters.dead_letters == 4
    assert ing.counters.samples == 15 and ing.counters.points_stored == 30
    store = open_store(s.store)
    assert store.count() == 30
    assert [v for _, v in store.series("pump-01", "bearing_temp")] == [
        50.0 + seq for seq in range(5) for _ in range(3)]
    dl = DeadLetters(s.dead_letter_path).all()
    assert [t for t, _, _ in dl] == [bad[0][0], bad[1][0], bad[2][0], bad[3][0]]
    assert dl[0][2] == b"\x00\xffgarbage"  # kept byte for byte
    assert "does not match topic gateway" in dl[2][1]


def test_gaps_and_duplicates_are_counted_and_duplicates_stored_once(mosquitto, tmp_path):
    s = settings_for(mosquitto, tmp_path)
    topic = telemetry_topic("site", "gw-1")
    run_ingester(s, until=lambda ing: True, timeout=0)
    seqs = [0, 1, 2, 2, 5, 6, 1]
    publish(mosquitto.url, [(topic, make_batch(q).to_bytes()) for q in seqs])
    ing = run_ingester(s, until=lambda ing: ing.counters.messages >= len(seqs))
    assert ing.counters.seq_gaps == 2  # 3 and 4
    assert ing.counters.seq_duplicates == 2
    assert open_store(s.store).count() == 5 * 3 * 2  # five distinct batches


def test_messages_published_while_ingester_is_down_are_not_lost(mosquitto, tmp_path):
    """Persistent session + ack after store write: the broker keeps them for us."""
    s = settings_for(mosquitto, tmp_path)
    topic = telemetry_topic("site", "gw-1")
    run_ingester(s, until=lambda ing: True, timeout=0)
    publish(mosquitto.url, [(topic, make_batch(i).to_bytes()) for i in range(20)]
            + [(events_topic("site", "gw-1"), AnomalyEvent(
                gateway="gw-1", seq=20, sent_at=iso(0), asset="pump-01", signal="vibration_rms",
                ts=iso(0), value=9.0, score=8.0, threshold=6.0, detector="t").to_bytes())])
    ing = run_ingester(s, until=lambda ing: ing.counters.messages >= 21)
    assert ing.counters.samples == 60 and ing.counters.anomalies == 1
    assert ing.counters.seq_gaps == 0


def test_influx_store_writes_exact_points_to_victoria_metrics(mosquitto, victoria, tmp_path):
    s = settings_for(mosquitto, tmp_path, kind="influx", url=victoria.url, bucket="b", org="o")
    topic = telemetry_topic("site", "gw-1")
    run_ingester(s, until=lambda ing: True, timeout=0)
    publish(mosquitto.url, [(topic, make_batch(i, asset="pump-07").to_bytes()) for i in range(4)])
    ing = run_ingester(s, until=lambda ing: ing.counters.messages >= 4)
    assert ing.counters.points_stored == 24
    series = victoria.export('{__name__=~"telemetry_.*", asset="pump-07"}', expect_values=24)
    by_name = {x["metric"]["__name__"]: x for x in series}
    assert set(by_name) == {"telemetry_vibration_rms", "telemetry_bearing_temp"}
    temps = by_name["telemetry_bearing_temp"]
    assert temps["metric"]["gateway"] == "gw-1"
    assert temps["values"] == [50.0 + seq for seq in range(4) for _ in range(3)]
    assert len(temps["timestamps"]) == 12


def test_store_outage_holds_messages_until_the_store_is_back(mosquitto, tmp_path):
    """VictoriaMetrics absent: nothing is acked or lost; once it is up, all is written."""
    from forewarn.runtime import free_port
    from tests.servers import Victoria

    port = free_port()
    s = settings_for(mosquitto, tmp_path, kind="influx", url=f"http://127.0.0.1:{port}",
                     bucket="b", org="o", timeout_s=1.0)
    topic = telemetry_topic("site", "gw-1")
    publish_later = [(topic, make_batch(i, asset="pump-09").to_bytes()) for i in range(3)]
    run_ingester(s, until=lambda ing: True, timeout=0)
    publish(mosquitto.url, publish_later)
    ing = run_ingester(s, until=lambda ing: ing.counters.store_errors >= 2, timeout=15)
    assert ing.counters.points_stored == 0 and ing.counters.store_errors >= 2
    vm = Victoria(tmp_path / "vm", port=port)
    try:
        ing = run_ingester(s, until=lambda ing: ing.counters.messages >= 3)
        assert ing.counters.points_stored == 18
        series = vm.export('{__name__="telemetry_vibration_rms", asset="pump-09"}',
                           expect_values=9)
        assert len(series[0]["values"]) == 9
    finally:
        vm.stop()


@pytest.mark.parametrize("bad", [
    {"store": {"kind": "influx"}},
    {"mqtt": {"url": "mqtt://x", "qos": 3}},
])
def test_bad_ingest_config_is_a_clear_error(tmp_path, bad):
    import tomllib  # noqa: F401

    from forewarn.config import ConfigError, load_config, to_toml

    p = tmp_path / "ingest.toml"
    p.write_text(to_toml(bad))
    with pytest.raises(ConfigError) as e:
        load_config(IngestSettings, p)
    assert str(p) in str(e.value)
    assert "store.url" in str(e.value) or "mqtt.qos" in str(e.value)


def test_anomaly_events_and_gateway_state_changes_are_stored_as_evidence(mosquitto, tmp_path,
                                                                         victoria):
    from contracts.wire import GatewayState, state_topic

    event = AnomalyEvent(gateway="gw-1", seq=0, sent_at=iso(0), asset="pump-01",
                         signal="vibration_rms", ts=iso(5), value=9.0, score=8.0,
                         threshold=6.0, detector="mad")
    states = [GatewayState(gateway="gw-1", seq=0, sent_at=iso(t), status=st)
              for t, st in ((1, "online"), (2, "online"), (3, "offline"))]
    messages = [(events_topic("site", "gw-1"), event.to_bytes())] + [
        (state_topic("site", "gw-1"), s.to_bytes()) for s in states]
    for store in ({}, {"kind": "influx", "url": victoria.url, "bucket": "b", "org": "o"}):
        s = settings_for(mosquitto, tmp_path / str(len(store)), **store)
        run_ingester(s, until=lambda ing: True, timeout=0)
        publish(mosquitto.url, messages)
        ing = run_ingester(s, until=lambda ing: ing.counters.messages >= 4)
        assert ing.counters.events_stored == 3  # the repeated 'online' is no change
    stored = open_store(settings_for(mosquitto, tmp_path / "0").store).events("gw-1")
    assert [(a, k, f.get("status"), f.get("signal")) for _, a, k, _, f in stored] == [
        ("", "gateway_state", "online", None), ("", "gateway_state", "offline", None),
        ("pump-01", "anomaly", None, "vibration_rms")]
    assert stored[2][4]["score"] == 8.0 and stored[2][4]["detector"] == "mad"
    series = victoria.export('{__name__=~"events_.*"}', expect_values=3)
    by_name = {x["metric"]["__name__"]: x for x in series}
    assert by_name["events_score"]["metric"]["asset"] == "pump-01"
    assert by_name["events_score"]["values"] == [8.0]


def test_events_and_gateway_binding_reach_the_service_api(mosquitto, tmp_path):
    """The ingester registers each asset with its gateway and posts anomaly events and
    gateway state changes to the API as evidence (a live API on SQLite)."""
    from contracts.wire import GatewayState, state_topic
    from tests.servers import start_api

    thread, api, _ = start_api(tmp_path / "api")
    try:
        s = settings_for(mosquitto, tmp_path)
        run_ingester(s, until=lambda ing: True, timeout=0)
        event = AnomalyEvent(gateway="gw-1", seq=1, sent_at=iso(5), asset="pump-01",
                             signal="vibration_rms", ts=iso(5), value=9.0, score=8.0,
                             threshold=6.0, detector="mad")
        device_down = DeviceEvent(gateway="gw-1", seq=2, sent_at=iso(5.5), asset="pump-01",
                                  status="offline", ts=iso(5.5), reason="connection refused")
        publish(mosquitto.url, [
            (telemetry_topic("site", "gw-1"), make_batch(0).to_bytes()),
            (events_topic("site", "gw-1"), event.to_bytes()),
            (events_topic("site", "gw-1"), device_down.to_bytes()),
            (state_topic("site", "gw-1"), GatewayState(
                gateway="gw-1", seq=2, sent_at=iso(6), status="offline").to_bytes())])
        ing = Ingester(s, open_store(s.store), DeadLetters(s.dead_letter_path), api=api)
        drive(ing, until=lambda i: i.counters.messages >= 4)
        api.flush(10)
        assert ing.counters.device_events == 1
        assert api.get("/assets/pump-01")["gateway"] == "gw-1"
        got = api.get("/assets/pump-01/events")
        assert [(e["kind"], e["signal"]) for e in got] == [
            ("anomaly", "vibration_rms"), ("gateway_state", "gw-1"), ("gateway_state", "gw-1")]
        assert got[0]["severity"] == 8.0 and got[0]["detail"]["detector"] == "mad"
        assert got[1]["detail"] == {"gateway": "gw-1", "status": "offline",
                                    "device": "pump-01", "reason": "connection refused"}
        assert got[2]["detail"]["status"] == "offline"
    finally:
        thread.stop()


def test_run_state_changes_reach_the_service_api(mosquitto, tmp_path):
    """running -> tripped, read from the polled signals, becomes the asset's state."""
    from tests.servers import start_api

    thread, api, _ = start_api(tmp_path / "api")
    try:
        s = settings_for(mosquitto, tmp_path)
        run_ingester(s, until=lambda ing: True, timeout=0)
        batches = [ReadingBatch(gateway="gw-1", seq=q, sent_at=iso(q), samples=[
            Sample(asset="pump-01", ts=iso(q * 10 + i), values={"running": run, "tripped": trip})
            for i in range(3)]) for q, (run, trip) in enumerate(((1, 0), (1, 0), (0, 1)))]
        publish(mosquitto.url, [(telemetry_topic("site", "gw-1"), b.to_bytes())
                                for b in batches])
        ing = Ingester(s, open_store(s.store), DeadLetters(s.dead_letter_path), api=api)
        drive(ing, until=lambda i: i.counters.messages >= 3)
        api.flush(10)
        assert api.get("/assets/pump-01")["state"] == "tripped"
        states = [e["detail"]["state"] for e in api.get("/assets/pump-01/events?kind=device_state")]
        assert states == ["running", "tripped"]
    finally:
        thread.stop()
