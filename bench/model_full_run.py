"""Full train/evaluate run of the RUL and failure-risk models, with baselines.

    python bench/model_full_run.py [--train 200] [--test 60] [--seed 1007] [--search-iter 4]

1. Simulator data: ``forewarn simulate dataset`` histories (3 kinds, 3 failure modes,
   stops, maintenance, censored units). Train with the default bounded search, then
   evaluate on a fresh fleet (other seed) along whole histories, and on the same fleet
   cut short at random points with the true RUL given separately (the shape of public
   benchmark test sets).
2. Data of another shape (tests/models/cmapss_like.py): cycles, six operating regimes
   switching every cycle, constant sensors, truncated test units.
3. Baselines on the same features and rows: a constant-mean RUL (in the evaluate
   report), a ridge regression for RUL and a logistic regression for risk.

Prints every ``forewarn model evaluate`` report; writes models and plots under --out.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from forewarn.cli import main as forewarn  # noqa: E402
from models.dataset import read_runs, sorted_units  # noqa: E402
from models.io import load_model  # noqa: E402
from models.train import build  # noqa: E402
from simulators.dataset import write_dataset  # noqa: E402
from tests.models import cmapss_like  # noqa: E402


def truncate(src: Path, dst: Path, rul_file: Path, seed: int, max_rul: float = 200.0) -> int:
    """Cut each failed unit at a random row with 5 to ``max_rul`` hours left, as public
    test sets do (their true RULs run up to a little past the usual cap); censored
    units are dropped, as those sets hold only units that go on to fail."""
    rows = list(csv.DictReader(src.open()))
    by_unit: dict[str, list[dict]] = {}
    for r in rows:
        by_unit.setdefault(r["unit"], []).append(r)
    rng = random.Random(seed)
    truths = []
    with dst.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        for unit in sorted_units(list(by_unit)):
            rs = by_unit[unit]
            if rs[-1]["event"] != "1":
                continue
            end = float(rs[-1]["time"])
            cuts = [k for k in range(2, len(rs))
                    if 5.0 <= end - float(rs[k - 1]["time"]) <= max_rul]
            keep = rng.choice(cuts)
            w.writerows(rs[:keep])
            truths.append(end - float(rs[keep - 1]["time"]))
    rul_file.write_text("\n".join(f"{t:g}" for t in truths))
    return len(truths)


def baselines(model_dir: Path, train_csv: Path, test_csv: Path, unit_col: str | None) -> None:
    """Linear models on the very features and rows the trees use."""
    model = load_model(model_dir)
    meta = model.metadata
    horizon, cap = float(meta["horizon"]), float(meta["rul_cap"])
    tr = build(read_runs(train_csv, unit_col).runs, model.spec, model.normaliser, horizon, cap)
    te = build(read_runs(test_csv, unit_col).runs, model.spec, model.normaliser, horizon, cap)
    lin = make_pipeline(SimpleImputer(), StandardScaler())
    ridge = make_pipeline(lin, Ridge(alpha=1.0)).fit(tr.X[tr.rul_rows], tr.rul_y[tr.rul_rows])
    logit = make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression(max_iter=2000))
    logit.fit(tr.X[tr.risk_rows], tr.risk_y[tr.risk_rows])
    Xr, yr = te.X[te.rul_rows], te.rul_y[te.rul_rows]
    Xk, yk = te.X[te.risk_rows], te.risk_y[te.risk_rows]

    def rmse(p):
        return float(np.sqrt(np.mean((np.clip(p, 0, cap) - yr) ** 2)))

    print(f"  same features, {len(yr):,} test rows (truth capped at {cap:g}):")
    print(f"    RUL RMSE  trees {rmse(model.predict_rul(Xr)):.2f}  ridge "
          f"{rmse(ridge.predict(Xr)):.2f}  constant mean "
          f"{rmse(np.full(len(yr), np.mean(tr.rul_y[tr.rul_rows]))):.2f}")
    print(f"    risk ROC-AUC  trees {roc_auc_score(yk, model.predict_risk(Xk)):.4f}  "
          f"logistic {roc_auc_score(yk, logit.predict_proba(Xk)[:, 1]):.4f}")


def section(title: str) -> None:
    print(f"\n=== {title} ===", flush=True)


def run() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, default=200)
    ap.add_argument("--test", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1007)
    ap.add_argument("--search-iter", type=int, default=4)
    ap.add_argument("--out", default="var/bench-models")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    search = ["--search-iter", str(args.search_iter)]

    section(f"simulator: train {args.train} assets (seed {args.seed}), test {args.test} "
            f"(seed {args.seed + 1000})")
    sim_train, sim_test = out / "sim-train.csv", out / "sim-test.csv"
    write_dataset(sim_train, args.train, seed=args.seed)
    write_dataset(sim_test, args.test, seed=args.seed + 1000)
    t0 = time.perf_counter()
    assert forewarn(["model", "train", "--data", str(sim_train), "--out",
                     str(out / "sim-model"), *search]) == 0
    print(f"training took {time.perf_counter() - t0:.0f} s", flush=True)
    section("simulator: evaluate on whole histories of the test fleet")
    assert forewarn(["model", "evaluate", "--model", str(out / "sim-model"), "--data",
                     str(sim_test), "--out", str(out / "sim-eval")]) == 0
    baselines(out / "sim-model", sim_train, sim_test, None)
    n = truncate(sim_test, out / "sim-test-cut.csv", out / "sim-test-cut-rul.txt", args.seed)
    section(f"simulator: evaluate on the {n} failing test units cut short (true RUL given)")
    assert forewarn(["model", "evaluate", "--model", str(out / "sim-model"), "--data",
                     str(out / "sim-test-cut.csv"), "--rul-file",
                     str(out / "sim-test-cut-rul.txt"), "--out", str(out / "sim-eval-cut")]) == 0

    section("another shape: cycles, 6 regimes, 100 training units, 100 truncated test units")
    c_train, c_test, c_rul = out / "cyc-train.csv", out / "cyc-test.csv", out / "cyc-rul.txt"
    cmapss_like.write(c_train, 100, seed=1)
    truth = cmapss_like.write(c_test, 100, seed=2, truncate=True)
    c_rul.write_text("\n".join(f"{v:g}" for v in truth))
    t0 = time.perf_counter()
    assert forewarn(["model", "train", "--data", str(c_train), "--out", str(out / "cyc-model"),
                     "--unit-col", "unit_number", *search]) == 0
    print(f"training took {time.perf_counter() - t0:.0f} s", flush=True)
    assert forewarn(["model", "evaluate", "--model", str(out / "cyc-model"), "--data",
                     str(c_test), "--rul-file", str(c_rul), "--unit-col", "unit_number",
                     "--out", str(out / "cyc-eval")]) == 0


if __name__ == "__main__":
    run()
