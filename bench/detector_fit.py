"""Fit the edge detectors on labelled simulator data, then score the fit on fresh data.

    python bench/detector_fit.py [--assets 60] [--seed 5]

Labelled rows are where an injected sensor fault (spike, stuck, drift) makes a sensor
read other than the truth (``forewarn simulate dataset --sensor-faults``). Prints the
grid, the chosen settings, the agent's default settings on the same fresh data, and the
chosen settings on it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edge_agent.detector_replay import detector_sensors, fit, score  # noqa: E402
from edge_agent.settings import DetectorSettings  # noqa: E402
from models.dataset import read_runs  # noqa: E402
from simulators.dataset import write_dataset  # noqa: E402


def show(name: str, m: dict) -> None:
    print(f"{name:<28} precision {m['precision']:.3f}  recall {m['recall']:.3f}  "
          f"F1 {m['f1']:.3f}  episodes caught {m['episodes_caught_share']:.2f}  "
          f"false alarms/unit-day {m['false_alarms_per_unit_day']:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--assets", type=int, default=60)
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fit_csv, test_csv = Path(tmp) / "fit.csv", Path(tmp) / "test.csv"
        write_dataset(fit_csv, args.assets, seed=args.seed, sensor_faults=True)
        write_dataset(test_csv, args.assets, seed=args.seed + 1, sensor_faults=True)
        fit_data, test_data = read_runs(fit_csv), read_runs(test_csv)
    print(f"fit on {args.assets} assets (seed {args.seed}), score on {args.assets} fresh "
          f"assets (seed {args.seed + 1})")
    chosen, m = fit(fit_data, log=print)
    show(f"fitted a={chosen.alpha:g} t={chosen.threshold:g} (fit data)", m)
    base = DetectorSettings()
    sensors = detector_sensors(test_data, base)
    show(f"default a={base.alpha:g} t={base.threshold:g} (fresh)", score(test_data, base,
                                                                          sensors))
    show(f"fitted a={chosen.alpha:g} t={chosen.threshold:g} (fresh)",
         score(test_data, chosen, sensors))


if __name__ == "__main__":
    main()
