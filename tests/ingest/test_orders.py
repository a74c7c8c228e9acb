"""The order trigger and what an order says, on the trained model and simulated runs."""

from __future__ import annotations

import datetime as dt
import threading
import time

import numpy as np
import pytest

from contracts.wire import Sample
from ingest.risk import RiskTracker
from models.dataset import read_runs
from models.io import load_model
from simulators.dataset import write_dataset


def _replay(tracker: RiskTracker, run, drift: str | None = None) -> list[tuple[int, bool]]:
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    out = []
    for i, row in enumerate(run.rows()):
        values = {k: float(v) for k, v in row.items() if np.isfinite(v)}
        values["running"] = float(run.running[i])
        if drift and i > 80:
            values[drift] += 0.3 * (i - 80)  # a sensor drifting away on a healthy machine
        for score in tracker.observe([Sample(asset=run.unit, ts=t0 + dt.timedelta(hours=i),
                                             values=values)]):
            out.append((i, tracker.assets[run.unit].alarm, score.risk))
    return out


def test_one_score_at_the_threshold_does_not_open_an_order(risk_model_dir, tmp_path):
    model = load_model(risk_model_dir)
    write_dataset(tmp_path / "d.csv", 4, seed=5)
    failing = next(r for r in read_runs(tmp_path / "d.csv").runs if r.event == 1)
    tracker = RiskTracker(model, None, model.threshold, consecutive=1)
    assert (tracker.trigger.k, tracker.trigger.n) == (3, 5)  # not the model's single score
    history = _replay(tracker, failing)
    first_high = next(i for i, (_, _, r) in enumerate(history) if r >= model.threshold)
    first_alarm = next(i for i, (_, on, _) in enumerate(history) if on)
    assert first_alarm > first_high
    window = [r for _, _, r in history[first_alarm - 4:first_alarm + 1]]
    assert sum(r >= model.threshold for r in window) >= 3


def test_an_order_on_a_drifting_sensor_says_the_alarm_rests_on_that_sensor(
        risk_model_dir, tmp_path):
    model = load_model(risk_model_dir)
    write_dataset(tmp_path / "d.csv", 4, seed=5)
    healthy = next(r for r in read_runs(tmp_path / "d.csv").runs if r.event == 0)
    tracker = RiskTracker(model, None, model.threshold, model.consecutive)
    history = _replay(tracker, healthy, drift="vibration_rms")
    assert any(on for _, on, _ in history)  # the model alone cannot tell: it alarms
    a = tracker.assets[healthy.unit]
    assert a.top_signal == "vibration_rms"
    without = tracker.scorer.risk_without_top(healthy.unit)
    assert without is not None and without < model.threshold
    body = tracker.policy.order_body(healthy.unit, a, without)
    assert "rests on this one sensor: check it before the machine" in body.description


def test_a_single_drifting_sensor_gets_a_check_alarm_not_an_order(risk_model_dir, tmp_path):
    """With ``single_sensor_orders`` off, a healthy asset whose vibration sensor drifts
    away: the trigger fires, but the risk re-scored without that sensor is low, so no
    order opens; one ``alarm`` event asks for the sensor to be checked. By default the
    order opens and says the alarm rests on that sensor."""
    from tests.servers import start_api

    model = load_model(risk_model_dir)
    write_dataset(tmp_path / "d.csv", 4, seed=5)
    healthy = next(r for r in read_runs(tmp_path / "d.csv").runs if r.event == 0)
    thread, api, _ = start_api(tmp_path / "api")
    try:
        api.upsert_asset(healthy.unit)
        tracker = RiskTracker(model, api, model.threshold, model.consecutive,
                              health_post_interval_s=0, single_sensor_orders=False)
        history = _replay(tracker, healthy, drift="vibration_rms")
        api.flush(10)
        assert any(on for _, on, _ in history)  # the alarm itself stands
        assert tracker.single_sensor_alarms > 0
        assert api.items("/work-orders") == []
        alarms = api.get(f"/assets/{healthy.unit}/events?kind=alarm")
        assert [(e["signal"], e["detail"]["reason"]) for e in alarms] == [
            ("vibration_rms", "single_sensor")]
        assert alarms[0]["detail"]["risk_without"] < model.threshold
        assert "check the sensor" in alarms[0]["message"]

        opener = RiskTracker(model, api, model.threshold, model.consecutive)
        _replay(opener, healthy, drift="vibration_rms")
        api.flush(10)
        orders = api.items("/work-orders")
        assert len(orders) == 1
        assert "rests on this one sensor" in orders[0]["description"]
    finally:
        thread.stop()


@pytest.mark.parametrize("what", ["gateway", "device"])
def test_no_order_while_the_gateway_or_device_is_offline(risk_model_dir, mosquitto, tmp_path,
                                                         what):
    """The failing asset's alarm comes while its gateway's last state said offline (or
    its gateway said the asset's device does not answer): the order waits (held, counted)
    and opens once the gateway (device) is back online."""
    from contracts.wire import DeviceEvent, GatewayState, events_topic, state_topic
    from ingest.dead_letters import DeadLetters
    from ingest.pipeline import Ingester
    from ingest.settings import IngestSettings
    from ingest.stores import open_store
    from tests.ingest.test_ingest import drive, publish
    from tests.ingest.test_restart import _stream
    from tests.servers import start_api

    messages, n, failing = _stream(tmp_path)
    now = dt.datetime.now(dt.UTC)
    state = [(state_topic("site", "gw-1"), GatewayState(
        gateway="gw-1", seq=0, sent_at=now + dt.timedelta(seconds=i), status=st).to_bytes())
        for i, st in enumerate(("offline", "online"))]
    if what == "device":  # on a stream of its own, so its sequence numbers are new
        state = [(events_topic("site", "gw-1"), DeviceEvent(
            gateway="gw-1", seq=i, stream="e1", sent_at=now + dt.timedelta(seconds=i),
            asset=failing, status=st, ts=now + dt.timedelta(seconds=i),
            reason="timeout" if st == "offline" else "").to_bytes())
            for i, st in enumerate(("offline", "online"))]
    thread, api, _ = start_api(tmp_path / "api")
    try:
        s = IngestSettings.model_validate({
            "mqtt": {"url": mosquitto.url, "client_id": "hold-test"},
            "store": {"kind": "embedded", "path": str(tmp_path / "store.sqlite")},
            "dead_letter_path": str(tmp_path / "dl.sqlite"), "state_dir": str(tmp_path / "st"),
            "metrics_port": None, "batch_max_messages": 5,
            "risk": {"model_dir": str(risk_model_dir), "health_post_interval_s": 0}})
        model = load_model(risk_model_dir)
        risk = RiskTracker.from_settings(model, api, s.risk)
        ing = Ingester(s, open_store(s.store), DeadLetters(s.dead_letter_path), risk, api)
        tail = 4  # the last hours before the failure arrive after the gateway is back
        run = threading.Thread(target=lambda: drive(
            ing, until=lambda i: i.counters.messages >= n + 2, timeout=90))
        run.start()
        assert ing.wait_connected(10)
        publish(mosquitto.url, [state[0], *messages[:-tail]])
        deadline = time.monotonic() + 60
        while ing.counters.messages < n - tail + 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        api.flush(10)
        assert risk.orders_held > 0 and api.items("/work-orders") == []
        publish(mosquitto.url, [state[1], *messages[-tail:]])
        run.join(100)
        api.flush(10)
        orders = api.items("/work-orders")
        assert [(o["asset_id"], o["source"]) for o in orders] == [(failing, "predictive")]
    finally:
        thread.stop()
