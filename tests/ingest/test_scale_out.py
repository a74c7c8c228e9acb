"""Several ingesters on one broker: shared subscription, distinct client ids, no stalls.

Real Mosquitto; the embedded store, or a real HTTP server speaking the InfluxDB write
protocol that stalls (a store that hangs).
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from contracts.wire import ReadingBatch, Sample, telemetry_topic
from ingest.dead_letters import DeadLetters
from ingest.pipeline import Ingester
from ingest.stores import open_store
from tests.ingest.test_ingest import iso, publish, run_ingester, settings_for


def _batch(gateway: str, seq: int) -> bytes:
    return ReadingBatch(gateway=gateway, seq=seq, sent_at=iso(seq), samples=[
        Sample(asset=f"{gateway}-pump", ts=iso(seq * 2 + i), values={"x": float(seq), "y": 1.0})
        for i in range(2)]).to_bytes()


def _start(ing: Ingester) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    t = threading.Thread(target=ing.run, args=(stop,))
    t.start()
    return t, stop


def _wait(cond, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_three_ingesters_on_a_shared_subscription_store_every_sample_exactly_once(
        mosquitto, tmp_path):
    s = settings_for(mosquitto, tmp_path, {"role": "store", "mqtt": {
        "url": mosquitto.url, "share_group": "ingest"}})
    assert s.mqtt.client_id is None  # the default: one id per running ingester
    ingesters = [Ingester(s, open_store(s.store), DeadLetters(s.dead_letter_path))
                 for _ in range(3)]
    assert sorted(i.instance.slot for i in ingesters) == [0, 1, 2]
    assert len({i.client_id for i in ingesters}) == 3
    running = [_start(i) for i in ingesters]
    try:
        assert all(i.wait_connected(10) for i in ingesters)
        gateways = [f"gw-{g}" for g in range(4)]
        publish(mosquitto.url, [(telemetry_topic("site", gw), _batch(gw, seq))
                                for seq in range(40) for gw in gateways])
        _wait(lambda: sum(i.counters.messages for i in ingesters) >= 160)
        time.sleep(0.5)  # anything extra (a duplicate) would arrive now
    finally:
        for t, stop in running:
            stop.set()
            t.join(10)
    counts = [i.counters.messages for i in ingesters]
    assert sum(counts) == 160 and min(counts) > 0, counts  # split, every message once
    assert sum(i.counters.samples for i in ingesters) == 320
    assert open_store(s.store).count() == 640
    assert all(i.report.connects == 1 for i in ingesters)  # nobody took anyone's id over


def test_a_slot_is_given_back_when_its_ingester_stops(mosquitto, tmp_path):
    s = settings_for(mosquitto, tmp_path, {"mqtt": {"url": mosquitto.url}})
    first = Ingester(s, open_store(s.store), DeadLetters(s.dead_letter_path))
    second = Ingester(s, open_store(s.store), DeadLetters(s.dead_letter_path))
    assert (first.instance.slot, second.instance.slot) == (0, 1)
    first.instance.release()
    again = Ingester(s, open_store(s.store), DeadLetters(s.dead_letter_path))
    assert again.client_id == first.client_id  # same id: its persistent session resumes
    second.instance.release()
    again.instance.release()


class _StallingStore(BaseHTTPRequestHandler):
    stall_s = 12.0
    points = 0
    stalled = False

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        cls = type(self)
        if not cls.stalled:
            cls.stalled = True
            time.sleep(cls.stall_s)
        cls.points += len(body.splitlines())
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_a_stalled_store_does_not_stop_keepalives_so_the_session_survives(mosquitto, tmp_path):
    """The store hangs for longer than 1.5 keepalives: the broker must not drop us."""
    handler = type("H", (_StallingStore,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    s = settings_for(mosquitto, tmp_path, {"mqtt": {
        "url": mosquitto.url, "client_id": "stall", "keepalive_s": 5, "queue_max": 10}},
        kind="influx", url=f"http://127.0.0.1:{server.server_port}", bucket="b", org="o",
        timeout_s=30)
    ing = Ingester(s, open_store(s.store), DeadLetters(s.dead_letter_path))
    t, stop = _start(ing)
    try:
        assert ing.wait_connected(10)
        publish(mosquitto.url, [(telemetry_topic("site", "gw-1"), _batch("gw-1", q))
                                for q in range(50)])
        _wait(lambda: ing.counters.messages >= 50, timeout=40)
    finally:
        stop.set()
        t.join(10)
        server.shutdown()
    assert handler.stalled and ing.counters.samples == 100
    assert ing.report.connects == 1  # never dropped by the broker while the store hung
    assert ing.counters.seq_duplicates == 0


def test_a_failing_asset_gets_exactly_one_order_whether_one_or_three_ingesters_store(
        mosquitto, tmp_path, risk_model_dir):
    """Three storing ingesters share the stream, one scoring ingester owns the partition;
    against one ingester doing both, on the same stream: same order, same stored points."""
    from ingest.risk import RiskTracker
    from models.io import load_model
    from tests.ingest.test_restart import _stream
    from tests.servers import start_api

    messages, n, failing = _stream(tmp_path)
    model = load_model(risk_model_dir)
    outcome = {}
    for layout in ("one", "three"):
        folder = tmp_path / layout
        api_thread, api, _ = start_api(folder)
        base = {"store": {"kind": "embedded", "path": str(folder / "store.sqlite")},
                "dead_letter_path": str(folder / "dl.sqlite"), "state_dir": str(folder / "st"),
                "risk": {"model_dir": str(risk_model_dir)}, "api": {"url": None}}
        if layout == "one":
            roles = [settings_for(mosquitto, folder, {**base, "mqtt": {"url": mosquitto.url}})]
        else:
            shared = {**base, "role": "store",
                      "mqtt": {"url": mosquitto.url, "share_group": "st"}}
            roles = [settings_for(mosquitto, folder, shared) for _ in range(3)] + [
                settings_for(mosquitto, folder, {**base, "role": "score",
                                                 "mqtt": {"url": mosquitto.url}})]
        ingesters = []
        for s in roles:
            scoring = s.role in ("all", "score")
            risk = RiskTracker.from_settings(model, api, s.risk) if scoring else None
            ingesters.append(Ingester(s, open_store(s.store), DeadLetters(s.dead_letter_path),
                                      risk, api if scoring else None))
        running = [_start(i) for i in ingesters]
        try:
            assert all(i.wait_connected(10) for i in ingesters)
            publish(mosquitto.url, messages)
            storing = [i for i in ingesters if i.storing]
            scoring = [i for i in ingesters if i.scoring]
            _wait(lambda st=storing, sc=scoring: sum(i.counters.messages for i in st) >= n
                  and sc[0].counters.messages >= n, timeout=90)
        finally:
            for t, stop in running:
                stop.set()
                t.join(20)
        orders = api.items("/work-orders")
        api_thread.stop()
        outcome[layout] = ([(o["asset_id"], o["type"]) for o in orders],
                           open_store(roles[0].store).count(),
                           sum(i.counters.samples for i in storing))
        if layout == "three":
            assert min(i.counters.messages for i in storing) > 0  # all three took a share
    assert outcome["one"][0] == [(failing, "predictive")]  # one order, the failing asset
    assert outcome["three"] == outcome["one"]


def test_a_resumed_session_drops_the_subscriptions_an_earlier_config_made(mosquitto, tmp_path):
    """Same client id, new partitions: the persistent session must not keep feeding the old
    ones (each message would arrive twice, or from gateways this ingester no longer owns)."""
    old = settings_for(mosquitto, tmp_path, {"mqtt": {"url": mosquitto.url}})
    run_ingester(old, until=lambda ing: True, timeout=0)
    new = settings_for(mosquitto, tmp_path, {"mqtt": {"url": mosquitto.url},
                                             "partitions": ["site/gw-1"]})
    ing = Ingester(new, open_store(new.store), DeadLetters(new.dead_letter_path))
    t, stop = _start(ing)
    try:
        assert ing.wait_connected(10)
        time.sleep(0.3)  # the unsubscribe is on its way
        publish(mosquitto.url, [(telemetry_topic("site", gw), _batch(gw, q))
                                for q in range(5) for gw in ("gw-1", "gw-2")])
        _wait(lambda: ing.counters.messages >= 5, timeout=10)
        time.sleep(1.0)
    finally:
        stop.set()
        t.join(10)
    assert ing.counters.messages == 5 and ing.counters.samples == 10
    store = open_store(new.store)
    assert store.count("gw-2-pump") == 0 and store.count("gw-1-pump") == 20


def test_metrics_and_healthz_say_what_the_ingester_did(mosquitto, tmp_path):
    import json
    import urllib.error
    import urllib.request

    from forewarn.runtime import free_port

    s = settings_for(mosquitto, tmp_path)
    ing = Ingester(s, open_store(s.store), DeadLetters(s.dead_letter_path))
    t, stop = _start(ing)
    try:
        assert ing.wait_connected(10)
        topic = telemetry_topic("site", "gw-1")
        publish(mosquitto.url, [(topic, _batch("gw-1", 0)), (topic, b"junk"),
                                (topic, _batch("gw-1", 3)), (topic, _batch("gw-1", 3))])
        _wait(lambda: ing.counters.messages >= 4 and ing.counters.samples >= 4, timeout=10)
        time.sleep(0.5)  # the batch in hand is acked and counted
        base = f"http://127.0.0.1:{ing.metrics.port}"
        text = urllib.request.urlopen(f"{base}/metrics", timeout=5).read().decode()
        health = json.loads(urllib.request.urlopen(f"{base}/healthz", timeout=5).read())
    finally:
        stop.set()
        t.join(10)
    lines = set(text.splitlines())
    for expected in ["forewarn_ingest_messages_total 4", "forewarn_ingest_samples_total 4",
                     "forewarn_ingest_points_stored_total 8",
                     'forewarn_ingest_dead_letters_by_kind_total{kind="invalid_message"} 1',
                     'forewarn_ingest_sequence_missing{gateway="gw-1"} 2',
                     'forewarn_ingest_sequence_duplicates_total{gateway="gw-1"} 1',
                     "forewarn_ingest_mqtt_connected 1"]:
        assert expected in lines, expected
    writes = next(ln for ln in lines if ln.startswith("forewarn_ingest_store_write_seconds_count"))
    assert int(writes.split()[1]) in (1, 2)  # one or two batches
    assert health["status"] == "ok" and health["problems"] == []

    # a store that cannot be reached: /healthz says so
    down = settings_for(mosquitto, tmp_path / "down", {"mqtt": {
        "url": mosquitto.url, "client_id": "down"}, "metrics_port": 0},
        kind="influx", url=f"http://127.0.0.1:{free_port()}", bucket="b", org="o",
        timeout_s=1)
    ing = Ingester(down, open_store(down.store), DeadLetters(down.dead_letter_path))
    t, stop = _start(ing)
    try:
        assert ing.wait_connected(10)
        publish(mosquitto.url, [(topic, _batch("gw-1", 9))])
        _wait(lambda: ing.counters.store_errors >= 1, timeout=10)
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{ing.metrics.port}/healthz", timeout=5)
            raise AssertionError("healthz should fail")
        except urllib.error.HTTPError as exc:
            assert exc.code == 503
            body = json.loads(exc.read())
    finally:
        stop.set()
        t.join(10)
    assert body["status"] == "failing" and body["problems"][0].startswith("store: ")
