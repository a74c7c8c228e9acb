"""The edge detectors on labelled simulator data: each alone and all together, on data
their defaults were not chosen on, with the EWMA-only detector of earlier releases as the
baseline; then their cost per sensor-sample.

    python bench/detector_fit.py [--assets 60] [--seed 7] [--fit]

Labelled rows are where an injected sensor fault (spike, stuck, drift) makes a sensor
read other than the truth (``forewarn simulate dataset --sensor-faults``). The defaults
were chosen on seed 5; seed 7 is fresh. ``--fit`` also runs the EWMA grid of
``forewarn model detectors --fit`` on seed ``--seed - 2`` and scores its choice.

Cost: every sample of the fresh data fed once more through the agent's
``AnomalyProcessor`` with every detector on, timed per sensor-sample, next to the raw
limit of the same loop in the same run: the same values walked and handed to a no-op
(the Python floor any per-value detector pays).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from contracts.wire import Sample  # noqa: E402
from edge_agent.detector_replay import detector_sensors, fit, score  # noqa: E402
from edge_agent.processors.anomaly import AnomalyProcessor  # noqa: E402
from edge_agent.settings import DETECTORS, DetectorSettings  # noqa: E402
from models.dataset import read_runs  # noqa: E402
from simulators.dataset import write_dataset  # noqa: E402


def show(name: str, m: dict) -> None:
    print(f"  {name:<34} precision {m['precision']:.3f}  recall {m['recall']:.3f}  "
          f"F1 {m['f1']:.3f}  episodes caught {m['episodes_caught_share']:.2f}  "
          f"false alarms/unit-day {m['false_alarms_per_unit_day']:.4f}  "
          f"/sensor-day {m['false_alarms_per_sensor_day']:.5f}", flush=True)


def cost(data, sensors: list[str]) -> None:
    samples = []
    t0 = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    for run in data.runs:
        for i in range(len(run)):
            values = {s: float(run.signals[s][i]) for s in sensors
                      if s in run.signals and np.isfinite(run.signals[s][i])}
            if values:
                samples.append(Sample(asset=run.unit, ts=t0 + dt.timedelta(
                    hours=float(run.time[i])), values=values))
    n_values = sum(len(s.values) for s in samples)
    settings = DetectorSettings(run_signal=None, realert_s=0.0)
    proc = AnomalyProcessor(settings)
    started = time.perf_counter()
    for s in samples:
        proc.process(s)
    took = time.perf_counter() - started
    sink: list[float] = []
    started = time.perf_counter()
    for s in samples:  # the floor: walk the same values, one call each
        for v in s.values.values():
            sink.append(float(v))
        sink.clear()
    floor = time.perf_counter() - started
    print(f"cost, {len(samples):,} samples, {n_values:,} sensor-samples, "
          f"{len(settings.detectors)} detectors on:")
    print(f"  detectors  {took / n_values * 1e6:6.2f} us per sensor-sample")
    print(f"  raw floor  {floor / n_values * 1e6:6.2f} us per sensor-sample (walk the values)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--assets", type=int, default=60)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--fit", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        test_csv = Path(tmp) / "test.csv"
        write_dataset(test_csv, args.assets, seed=args.seed, sensor_faults=True)
        test_data = read_runs(test_csv)
        if args.fit:
            fit_csv = Path(tmp) / "fit.csv"
            write_dataset(fit_csv, args.assets, seed=args.seed - 2, sensor_faults=True)
            fit_data = read_runs(fit_csv)
    base = DetectorSettings()
    sensors = detector_sensors(test_data, base)
    print(f"{args.assets} fresh assets (seed {args.seed}), {len(sensors)} sensors scored, "
          f"faults on about half of them")
    show("EWMA z only (earlier releases)",
         score(test_data, base.model_copy(update={"detectors": ["ewma_zscore"]}), sensors))
    for kind in DETECTORS:
        if kind != "out_of_range":  # needs configured limits: none in this data
            show(f"{kind} alone", score(test_data, base.model_copy(
                update={"detectors": [kind]}), sensors))
    show("all (the agent's default)", score(test_data, base, sensors))
    if args.fit:
        chosen, m = fit(fit_data, log=lambda line: None)
        show(f"EWMA grid a={chosen.alpha:g} t={chosen.threshold:g}",
             score(test_data, chosen, sensors))
    cost(test_data, sensors)


if __name__ == "__main__":
    main()
