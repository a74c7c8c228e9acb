"""Training and evaluating the failure-risk model on run-to-failure histories."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from .dataset import Dataset, DatasetError, Run
from .features import FeatureSpec, FeatureState
from .io import save_model
from .risk import FailureRiskClassifier


def run_features(run: Run, spec: FeatureSpec) -> tuple[np.ndarray, np.ndarray]:
    """Feature rows of one unit, in time order, and the time of each row."""
    state = FeatureState(spec)
    feats, times = [], []
    for t, row in zip(run.time, run.rows(), strict=True):
        f = state.update(row)
        if f is not None:
            feats.append(f)
            times.append(t)
    width = len(spec.signals) * 4
    return (np.vstack(feats) if feats else np.empty((0, width))), np.array(times)


def labels(run: Run, times: np.ndarray, horizon: float) -> np.ndarray:
    """1 within ``horizon`` of a failure, 0 when known to survive the horizon, -1 unknown."""
    left = run.time[-1] - times
    if run.event:
        return (left <= horizon).astype(int)
    return np.where(left > horizon, 0, -1)


def _xy(runs: list[Run], spec: FeatureSpec, horizon: float):
    X, y = [], []
    for run in runs:
        f, t = run_features(run, spec)
        lab = labels(run, t, horizon)
        keep = lab >= 0
        X.append(f[keep])
        y.append(lab[keep])
    return np.vstack(X), np.concatenate(y)


def _lead_times(model: FailureRiskClassifier, runs: list[Run], spec: FeatureSpec,
                threshold: float, consecutive: int, horizon: float) -> dict[str, float]:
    """Warn after ``consecutive`` scores at or above threshold, as the ingester does."""
    leads, warned, failed, false_alarms, healthy_rows = [], 0, 0, 0, 0
    for run in runs:
        f, t = run_features(run, spec)
        if len(f) == 0:
            continue
        risk = model.predict_proba(f)[:, 1]
        streak, first = 0, None
        for r, ti in zip(risk, t, strict=True):
            streak = streak + 1 if r >= threshold else 0
            if streak >= consecutive:
                first = ti
                break
        left = run.time[-1] - t
        healthy_rows += int(np.sum(left > horizon)) if run.event else len(t)
        if run.event:
            failed += 1
            if first is not None and run.time[-1] - first <= horizon:
                warned += 1
                leads.append(run.time[-1] - first)
            elif first is not None:
                false_alarms += 1
        elif first is not None:
            false_alarms += 1
    return {
        "failures": failed,
        "warned_share": warned / failed if failed else float("nan"),
        "median_lead": float(np.median(leads)) if leads else float("nan"),
        "early_false_warnings": false_alarms,
        "false_warnings_per_100_unit_days": 100 * false_alarms / max(healthy_rows / 24, 1e-9),
    }


def train(data: Dataset, out: str | Path, horizon: float = 48.0, threshold: float = 0.7,
          consecutive: int = 6, spec: FeatureSpec | None = None, seed: int = 0,
          log: Callable[[str], None] = print) -> dict:
    """Fit on 80% of the units, report on the other 20%, then refit on all and save."""
    spec = spec or FeatureSpec()
    runs = [r for r in data.runs if all(s in r.signals for s in spec.signals)]
    if len(runs) < 5:
        raise DatasetError(
            f"only {len(runs)} units carry all of {spec.signals}; need at least 5")
    interval = float(np.median(np.concatenate([np.diff(r.time) for r in runs])))
    units = sorted(r.unit for r in runs)
    random.Random(seed).shuffle(units)
    test_units = set(units[: max(1, len(units) // 5)])
    train_runs = [r for r in runs if r.unit not in test_units]
    test_runs = [r for r in runs if r.unit in test_units]
    log(f"training on {len(train_runs)} units, testing on {len(test_runs)} (split by unit)")
    X, y = _xy(train_runs, spec, horizon)
    model = FailureRiskClassifier().fit(X, y)
    Xt, yt = _xy(test_runs, spec, horizon)
    metrics: dict[str, float] = {"rows_train": len(y), "rows_test": len(yt)}
    if len(set(yt)) == 2:
        metrics["roc_auc"] = float(roc_auc_score(yt, model.predict_proba(Xt)[:, 1]))
    metrics.update(_lead_times(model, test_runs, spec, threshold, consecutive, horizon))
    log("held-out units: " + ", ".join(f"{k}={v:.3g}" for k, v in metrics.items()))
    final = FailureRiskClassifier().fit(*_xy(runs, spec, horizon))
    save_model(out, final, spec, {
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
        "horizon": horizon, "threshold": threshold, "consecutive": consecutive,
        "sample_interval_h": interval, "training_data_sha256": data.sha256,
        "units": len(runs), "metrics": metrics,
    })
    return metrics
