"""What a "no order from one sensor" guard would keep and lose, on simulated runs.

    python bench/single_sensor_guard.py [--train-assets 60] [--runs 12]

Trains a model as the tests do (60 simulated assets, seed 11), replays runs of another
simulated fleet hour by hour through the ingester's scorer, and for every score at the
threshold re-scores it without its most deviating sensor
(``RiskScorer.risk_without_top``). Healthy runs get one sensor (vibration_rms) drifting
by 0.3 per hour after hour 80. Prints, per run, the scores at the threshold and how
many of them would survive the guard, and the hour an order would open without the
guard (the k-of-n trigger fires) and with it (the trigger fires and the risk re-scored
without the top sensor is still at the threshold: the ingester's default).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from contracts.wire import Sample  # noqa: E402
from ingest.risk import RiskTracker  # noqa: E402
from models.dataset import read_runs  # noqa: E402
from models.io import load_model  # noqa: E402
from models.train import TrainOptions, train  # noqa: E402
from simulators.dataset import write_dataset  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train-assets", type=int, default=60)
    ap.add_argument("--runs", type=int, default=12)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        write_dataset(d / "train.csv", args.train_assets, seed=11)
        print(f"training on {args.train_assets} simulated assets ...", flush=True)
        train(read_runs(d / "train.csv"), d / "model", TrainOptions(search_iter=0),
              log=lambda m: None)
        model = load_model(d / "model")
        write_dataset(d / "runs.csv", args.runs, seed=5)
        runs = read_runs(d / "runs.csv").runs
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    print(f"threshold {model.threshold:g}")
    print(f"{'run':18} {'kind':16} {'scores at threshold':>20} {'kept by the guard':>18} "
          f"{'order at h (no guard)':>22} {'order at h (guard)':>19} {'run ends h':>11}")
    totals: dict[str, list[int]] = {"failing": [0, 0], "healthy + drift": [0, 0]}
    orders: dict[str, list[int]] = {"failing": [0, 0], "healthy + drift": [0, 0]}
    lead: list[tuple[int, int]] = []
    for run in runs:
        kind = "failing" if run.event == 1 else "healthy + drift"
        tracker = RiskTracker(model, None, model.threshold, model.consecutive)
        high = kept = 0
        first: int | None = None  # the hour the order trigger first fires
        guarded: int | None = None  # ... and the first hour it fires with the guard passed
        n = 0
        for i, row in enumerate(run.rows()):
            n = i + 1
            values = {k: float(v) for k, v in row.items() if np.isfinite(v)}
            values["running"] = float(run.running[i])
            if run.event == 0 and i > 80 and "vibration_rms" in values:
                values["vibration_rms"] += 0.3 * (i - 80)
            for s in tracker.observe([Sample(asset=run.unit, ts=t0 + dt.timedelta(hours=i),
                                             values=values)]):
                without = tracker.scorer.risk_without_top(run.unit)
                passes = without is not None and without >= model.threshold
                if s.risk >= model.threshold:
                    high += 1
                    kept += int(passes)
                if tracker.assets[run.unit].alarm:
                    first = i if first is None else first
                    if passes and guarded is None:
                        guarded = i
        totals[kind][0] += high
        totals[kind][1] += kept
        orders[kind][0] += first is not None
        orders[kind][1] += guarded is not None
        if kind == "failing" and first is not None:
            lead.append((n - first, n - guarded if guarded is not None else 0))
        print(f"{run.unit:18} {kind:16} {high:>20} {kept:>18} {_h(first):>22} "
              f"{_h(guarded):>19} {n:>11}")
    for kind, (high, kept) in totals.items():
        print(f"{'all':18} {kind:16} {high:>20} {kept:>18} "
              f"{'orders ' + str(orders[kind][0]):>22} {'orders ' + str(orders[kind][1]):>19}")
    if lead:
        print(f"failing runs: median warning lead {np.median([a for a, _ in lead]):.0f} h "
              f"without the guard, {np.median([b for _, b in lead]):.0f} h with it "
              f"(0 where the guard never let an order open)")


def _h(i: int | None) -> str:
    return "-" if i is None else str(i)


if __name__ == "__main__":
    main()
