"""The order trigger and what an order says, on the trained model and simulated runs."""

from __future__ import annotations

import datetime as dt

import numpy as np

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
