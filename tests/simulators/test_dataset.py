"""Generated run-to-failure histories: modes, censoring, and wear before failure."""

import numpy as np
import pytest

from models.dataset import read_runs
from simulators.dataset import random_fleet, write_dataset
from simulators.physics import _WEAR, Asset
from simulators.plots import plot_all


def test_dataset_has_modes_censoring_and_wear_before_failure(tmp_path):
    path = tmp_path / "d.csv"
    write_dataset(path, 100, seed=3)
    runs = read_runs(path).runs
    assert len(runs) == 100
    failed = [r for r in runs if r.event == 1]
    assert {r.failure_mode for r in failed} == set(_WEAR)  # all five modes
    assert 10 <= len(runs) - len(failed) <= 40  # censored histories
    assert all(r.failure_mode == "none" for r in runs if r.event == 0)
    for run in failed:
        wear = _WEAR[run.failure_mode]
        # The mode's strongest sensor that this kind has, in its direction of wear.
        name = max((s for s in wear if s in run.signals), key=lambda s: abs(wear[s][0]))
        amount = wear[name][0]
        on = run.running == 1  # a stopped machine reads nothing of its wear
        x, t = run.signals[name][on], run.time[on]
        last_day = x[t >= t[-1] - 24].mean()
        healthy = x[(t >= 24) & (t < 72)].mean()  # after warm-up, before any onset
        assert np.sign(amount) * (last_day - healthy) > 0.3 * abs(amount), (run.unit, name)
    # Machines stop and start again; some are maintained, which renews them.
    assert all(r.signals["starts"][-1] >= 1 for r in runs)
    assert sum(r.signals["starts"][-1] > 1 for r in runs) > 50
    maintained = {a.id for a, _ in random_fleet(100, seed=3) if a.maintenance_h}
    assert maintained and maintained <= {r.unit for r in runs}
    # Ground truth beside the data: each failure where its history ends, after its onset.
    import csv

    with open(tmp_path / "d.truth.csv") as fh:
        truth = {t["unit"]: t for t in csv.DictReader(fh)}
    assert set(truth) == {r.unit for r in runs}
    for run in failed:
        t = truth[run.unit]
        assert float(t["failure_h"]) == pytest.approx(run.time[-1], abs=1e-3)
        assert float(t["onset_h"]) < float(t["failure_h"])
    assert {truth[u]["maintenance_h"] != "" for u in maintained} == {True}


def test_early_sensor_departs_before_late_one():
    """Bearing wear shows in kurtosis well before it shows in vibration RMS."""
    a = Asset(id="p", kind="pump", failure_mode="bearing_wear", onset_h=100, failure_h=200,
              stops_per_week=0)
    healthy = Asset(id="p", kind="pump", stops_per_week=0)

    def first_departure(signal, share=0.25):
        full = _WEAR["bearing_wear"][signal][0]
        for t in range(100, 200):
            clean = a._running(t, 100.0, None)[signal] - healthy._running(t, 100.0, None)[signal]
            if clean >= share * full:
                return t
        return None

    assert first_departure("vibration_kurtosis") < first_departure("vibration_rms") - 20


def test_maintenance_renews_the_asset_and_is_in_ground_truth():
    a = Asset(id="m", kind="motor", failure_mode="winding_insulation", onset_h=50,
              failure_h=120, maintenance_h=(100.0,), stops_per_week=0)
    assert a.wear(99) > 0.4 and a.wear(105) == 0.0
    assert a.fails_at_h == 220.0 and a.onset_at_h == 150.0
    assert a.read(102)["running"] == 0.0  # down for the maintenance itself
    assert a.read(200)["current_l1"] > a.read(200)["current_l3"] * 1.1  # phases part again


def test_plots_are_written(tmp_path):
    paths = plot_all(tmp_path)
    assert [p.name for p in paths] == [f"run-to-failure-{m}.png" for m in _WEAR]
    assert all(p.stat().st_size > 20_000 for p in paths)
