"""Compare the risk model with a logistic regression on the same features, per unit.

    python bench/risk_model_compare.py [--train 120] [--test 40] [--seed 1007]

Trains on simulated run-to-failure histories and replays held-out units the way the
ingester warns (threshold reached for K consecutive scores). Per model and setting:
failures warned within the horizon, warnings earlier than the horizon (mostly wear that
had visibly started: onsets are 80-150 h before failure), warnings on censored units
(never failed), and the median lead time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models.dataset import read_runs  # noqa: E402
from models.features import FeatureSpec  # noqa: E402
from models.risk import FailureRiskClassifier  # noqa: E402
from models.train import _xy, run_features  # noqa: E402
from simulators.dataset import write_dataset  # noqa: E402


def first_warning(risk: np.ndarray, times: np.ndarray, threshold: float, k: int):
    streak = 0
    for r, t in zip(risk, times, strict=True):
        streak = streak + 1 if r >= threshold else 0
        if streak >= k:
            return t
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, default=120)
    ap.add_argument("--test", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1007)
    ap.add_argument("--horizon", type=float, default=48.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        write_dataset(Path(tmp) / "train.csv", args.train, seed=args.seed)
        write_dataset(Path(tmp) / "test.csv", args.test, seed=args.seed + 1)
        train = read_runs(Path(tmp) / "train.csv").runs
        test = read_runs(Path(tmp) / "test.csv").runs
    spec = FeatureSpec()
    X, y = _xy(train, spec, args.horizon)
    feats = {r.unit: run_features(r, spec) for r in test}
    failures = sum(r.event for r in test)
    print(f"train {len(train)} units ({len(y)} rows), test {len(test)} units, "
          f"{failures} of them fail; horizon {args.horizon:g} h")
    print(f"{'model':8} {'thr':>4} {'K':>2} {'warned':>7} {'earlier':>8} {'censored':>9} "
          f"{'median lead h':>14}")
    models = {"trees": FailureRiskClassifier(),
              "logreg": make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))}
    for name, est in models.items():
        est.fit(X, y)
        for thr in (0.5, 0.7, 0.85):
            for k in (3, 6):
                warned, earlier, censored, leads = 0, 0, 0, []
                for run in test:
                    f, t = feats[run.unit]
                    if len(f) == 0:
                        continue
                    first = first_warning(est.predict_proba(f)[:, 1], t, thr, k)
                    if first is None:
                        continue
                    lead = run.time[-1] - first
                    if not run.event:
                        censored += 1
                    elif lead > args.horizon:
                        earlier += 1
                    else:
                        warned += 1
                        leads.append(lead)
                med = f"{np.median(leads):.1f}" if leads else "-"
                print(f"{name:8} {thr:>4} {k:>2} {warned:>4}/{failures:<2} {earlier:>8} "
                      f"{censored:>9} {med:>14}")


if __name__ == "__main__":
    main()
