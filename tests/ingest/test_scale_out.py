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
from tests.ingest.test_ingest import iso, publish, settings_for


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
    s = settings_for(mosquitto, tmp_path, {"mqtt": {"url": mosquitto.url,
                                                    "share_group": "ingest"}})
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
