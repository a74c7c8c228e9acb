"""Generated run-to-failure histories: modes, censoring, and wear before failure."""

import numpy as np

from models.dataset import read_runs
from simulators.dataset import write_dataset
from simulators.physics import _WEAR
from simulators.plots import plot_all


def test_dataset_has_modes_censoring_and_wear_before_failure(tmp_path):
    path = tmp_path / "d.csv"
    write_dataset(path, 100, seed=3)
    runs = read_runs(path).runs
    assert len(runs) == 100
    failed = [r for r in runs if r.event == 1]
    assert {r.failure_mode for r in failed} == set(_WEAR)  # all three modes
    assert 10 <= len(runs) - len(failed) <= 40  # censored histories
    assert all(r.failure_mode == "none" for r in runs if r.event == 0)
    for run in failed:
        wear = _WEAR[run.failure_mode]
        # The mode's strongest sensor that this kind has, in its direction of wear.
        name = max((s for s in wear if s in run.signals), key=lambda s: abs(wear[s]))
        sign = np.sign(wear[name])
        x, t = run.signals[name], run.time
        last_day = x[t >= t[-1] - 24].mean()
        healthy = x[(t >= 24) & (t < 72)].mean()  # after warm-up, before any onset
        assert sign * (last_day - healthy) > 0.3 * abs(wear[name]), (run.unit, name)


def test_plots_are_written(tmp_path):
    paths = plot_all(tmp_path)
    assert [p.name for p in paths] == [f"run-to-failure-{m}.png" for m in _WEAR]
    assert all(p.stat().st_size > 20_000 for p in paths)
