"""Nothing a payload holds stops ingestion: stored or dead-lettered with a reason, and acked.

Against a real Mosquitto, the embedded store, and a real HTTP server that answers the
InfluxDB write protocol with 400 or 401 (a store refusing writes for good).
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from contracts.wire import events_topic, telemetry_topic
from ingest.dead_letters import DeadLetters
from ingest.stores import open_store
from tests.ingest.test_ingest import make_batch, publish, run_ingester, settings_for

NOW = datetime.now(UTC)


def raw_batch(seq: int, samples: list, gateway: str = "gw-1", v: int = 1) -> bytes:
    return json.dumps({"v": v, "kind": "telemetry", "gateway": gateway, "seq": seq,
                       "sent_at": NOW.isoformat(), "samples": samples}).encode()


def sample(asset: str, ts: datetime | str, **values) -> dict:
    return {"asset": asset, "ts": ts if isinstance(ts, str) else ts.isoformat(),
            "values": values}


def test_a_corpus_of_malformed_payloads_ends_in_dead_letters_and_the_valid_stream_is_complete(
        mosquitto, tmp_path):
    s = settings_for(mosquitto, tmp_path)
    topic = telemetry_topic("site", "gw-1")
    ok = NOW - timedelta(seconds=30)
    corpus = [
        # one message mixing good samples with every kind of bad one: only the bad ones go
        (topic, raw_batch(100, [
            sample("pump-01", ok, x=1.0),
            sample("pump-01", "2300-01-01T00:00:00Z", x=2.0),  # after 2262: no int64 ns
            sample("pump-01", NOW + timedelta(days=2), x=3.0),  # clock two days fast
            sample("pump-01", "1900-01-01T00:00:00Z", x=4.0),  # far in the past
            sample("pump-01", ok + timedelta(seconds=1), x=1e308),  # huge but finite: stored
            {"asset": "pump-01", "ts": ok.isoformat(), "values": {"x": "1e999"}},  # inf
            {"asset": "pump-01", "ts": ok.isoformat(), "values": {"x": 10 ** 400}},
            sample("pump 01", ok, x=5.0),  # not an id
            sample("pump-01", "2026-01-01T00:00:00", x=6.0),  # no UTC offset
            7,
            sample("pump-02", ok, x=8.0),
        ])),
        (topic, raw_batch(101, [sample("pump-01", ok, x=1.0)], v=2)),  # unknown version
        (topic, raw_batch(102, [sample("pump-01", ok, x=1.0)], gateway="gw-9")),
        (topic, b"\xff\xfe not json"),
        (topic, b"[]"),
        (events_topic("site", "gw-1"), b'{"v": 1, "kind": "anomaly"}'),
        ("forewarn/v1/site/gw*1/telemetry", make_batch(103).to_bytes()),  # bad topic level
    ]
    good = [(topic, make_batch(i).to_bytes()) for i in range(4)]
    run_ingester(s, until=lambda ing: True, timeout=0)  # subscribe (persistent session)
    messages = [good[0], *corpus[:4], good[1], *corpus[4:], good[2], good[3]]
    publish(mosquitto.url, messages)
    ing = run_ingester(s, until=lambda ing: ing.counters.messages >= len(messages))

    store = open_store(s.store)
    assert [v for _, v in store.series("pump-01", "x")] == [1.0, 1e308]
    assert [v for _, v in store.series("pump-02", "x")] == [8.0]
    assert len(store.series("pump-01", "bearing_temp")) == 4 * 3  # the valid stream, whole
    reasons = [r for _, r, _ in DeadLetters(s.dead_letter_path).all()]
    assert len(reasons) == 8 + 6 == ing.counters.dead_letters
    joined = "\n".join(reasons)
    for expected in ["in the future", "s old", "finite", "not a valid", "UTC offset",
                     "does not match topic gateway", "Input should be 1",
                     "'gw*1' is not a valid id"]:
        assert expected in joined, expected
    assert ing.counters.internal_errors == 0
    # every message was acked: a new run gets nothing again
    again = run_ingester(s, until=lambda ing: False, timeout=1.5)
    assert again.counters.messages == 0


def test_a_dead_lettered_sample_is_a_one_sample_batch_that_decodes_again(mosquitto, tmp_path):
    from contracts.wire import decode_telemetry

    s = settings_for(mosquitto, tmp_path, {"max_future_skew_s": 60})
    topic = telemetry_topic("site", "gw-1")
    run_ingester(s, until=lambda ing: True, timeout=0)
    ahead = NOW + timedelta(minutes=10)
    publish(mosquitto.url, [(topic, raw_batch(5, [sample("pump-01", NOW, x=1.0),
                                                  sample("pump-01", ahead, x=2.0)]))])
    run_ingester(s, until=lambda ing: ing.counters.messages >= 1)
    (dl_topic, reason, payload), = DeadLetters(s.dead_letter_path).all()
    assert dl_topic == topic and "in the future" in reason
    again = decode_telemetry(dl_topic, payload)
    assert again.seq == 5 and again.refused == []
    assert [(x.asset, x.values) for x in again.batch.samples] == [("pump-01", {"x": 2.0})]


class _RefusingStore(BaseHTTPRequestHandler):
    """An InfluxDB write endpoint that refuses lines of asset ``bad`` (400) or all (401)."""

    lines: list[str] = []
    mode = "400"

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        if self.mode == "401":
            self._answer(401, '{"code":"unauthorized","message":"unauthorized access"}')
        elif "asset=bad" in body:
            self._answer(400, '{"code":"invalid","message":"unable to parse points"}')
        else:
            type(self).lines.extend(body.splitlines())
            self._answer(204, "")

    def _answer(self, code: int, body: str) -> None:
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


def _serve(mode: str):
    handler = type("Handler", (_RefusingStore,), {"lines": [], "mode": mode})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, handler


def test_a_store_answering_400_dead_letters_only_the_refused_samples(mosquitto, tmp_path):
    server, handler = _serve("400")
    try:
        s = settings_for(mosquitto, tmp_path, kind="influx",
                         url=f"http://127.0.0.1:{server.server_port}", bucket="b", org="o")
        topic = telemetry_topic("site", "gw-1")
        ok = NOW - timedelta(seconds=60)
        run_ingester(s, until=lambda ing: True, timeout=0)
        publish(mosquitto.url, [(topic, raw_batch(i, [
            sample("good", ok + timedelta(seconds=10 * i + k), x=float(k)) for k in range(7)
        ] + [sample("bad", ok + timedelta(seconds=10 * i), x=9.0)])) for i in range(3)])
        ing = run_ingester(s, until=lambda ing: ing.counters.messages >= 3)
    finally:
        server.shutdown()
    assert len(handler.lines) == 21 and all("asset=good" in line for line in handler.lines)
    dl = DeadLetters(s.dead_letter_path).all()
    assert len(dl) == 3 and all("HTTP 400" in reason for _, reason, _ in dl)
    assert all(json.loads(p)["samples"][0]["asset"] == "bad" for _, _, p in dl)
    assert ing.counters.store_rejected == 3 and ing.counters.samples == 21


def test_a_store_answering_401_dead_letters_the_batch_and_raises_the_alarm(
        mosquitto, tmp_path, caplog):
    server, handler = _serve("401")
    try:
        s = settings_for(mosquitto, tmp_path, kind="influx",
                         url=f"http://127.0.0.1:{server.server_port}", bucket="b", org="o")
        topic = telemetry_topic("site", "gw-1")
        run_ingester(s, until=lambda ing: True, timeout=0)
        publish(mosquitto.url, [(topic, make_batch(i).to_bytes()) for i in range(2)])
        with caplog.at_level("ERROR"):
            ing = run_ingester(s, until=lambda ing: ing.counters.messages >= 2)
    finally:
        server.shutdown()
    assert handler.lines == []
    assert DeadLetters(s.dead_letter_path).count() == 6 == ing.counters.dead_letters
    assert ing.counters.store_rejected >= 1
    assert any("ALARM" in r.message and "HTTP 401" in r.message for r in caplog.records)


def test_dead_letters_are_listed_by_reason_and_replayed_after_the_fix(mosquitto, tmp_path):
    """A gateway clock 10 min fast: refused at a 60 s limit, replayed once it is 900 s."""
    from forewarn.config import to_toml
    from tests.test_cli import forewarn

    s = settings_for(mosquitto, tmp_path, {"max_future_skew_s": 60})
    topic = telemetry_topic("site", "gw-1")
    run_ingester(s, until=lambda ing: True, timeout=0)
    ahead = NOW + timedelta(minutes=10)
    publish(mosquitto.url, [(topic, raw_batch(1, [sample("pump-01", NOW, x=1.0),
                                                  sample("pump-01", ahead, x=2.0)])),
                            (topic, b"not json")])
    run_ingester(s, until=lambda ing: ing.counters.messages >= 2)
    config = tmp_path / "ingest.toml"
    config.write_text(to_toml(s.model_dump(mode="json", exclude_none=True)))

    listing = forewarn("ingest", "dead-letters", "--config", str(config))
    assert listing.returncode == 0, listing.stderr
    assert "2 dead letters" in listing.stdout and "in the future" in listing.stdout
    still = forewarn("ingest", "dead-letters", "--config", str(config), "--replay",
                     "--reason", "future")
    assert still.returncode == 1 and "kept 1" in still.stdout  # the clock is still ahead

    fixed = s.model_copy(update={"max_future_skew_s": 900.0})
    config.write_text(to_toml(fixed.model_dump(mode="json", exclude_none=True)))
    done = forewarn("ingest", "dead-letters", "--config", str(config), "--replay",
                    "--reason", "future")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "replayed 1 dead letters (1 points stored)" in done.stdout
    assert [v for _, v in open_store(s.store).series("pump-01", "x")] == [1.0, 2.0]
    (_, left, _), = DeadLetters(s.dead_letter_path).all()
    assert "Invalid JSON" in left  # the unrelated one stays
