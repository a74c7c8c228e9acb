"""Training the RUL and failure-risk models on run-to-failure histories.

Steps (``train``):

1. Pick the useful sensors and split the units 80/20 (never rows of one unit on
   both sides).
2. On the training units: fit the regime normaliser, build features, and search a
   bounded number of hyper-parameter settings for each model with folds grouped by unit
   (independent fits side by side, each on one kernel thread: ``models.parallel``).
3. Fit the RUL regressor (capped target) and the calibrated risk classifier, and choose
   the alarm threshold and consecutive count on out-of-fold risk: the most failures
   warned, with the longest median lead, within the false-alarm budget.
4. Report the held-out units' figures along all their rows, then refit on all units and
   save the model directory.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.metrics import get_scorer
from sklearn.model_selection import GroupKFold, ParameterSampler

from .alarm import AlarmRule
from .dataset import Dataset, DatasetError, Run, useful_sensors
from .evaluate import (
    ScoredRun,
    alarm_metrics,
    evaluate,
    false_alarm_rate,
    featurize,
    format_metrics,
    horizon_labels,
)
from .features import DEFAULT_WINDOWS, FeatureSpec, RegimeNormaliser
from .io import PdmModel, save_model
from .parallel import available_cores, kernel_threads, limit_threads, run_tasks
from .progress import Progress
from .risk import FailureRiskClassifier
from .rul import RulRegressor

# The search tries two linear settings and ``search_iter`` random tree settings, so the
# cross-validation by unit also chooses the kind of model.
_TREES = {
    "kind": ["trees"],
    "learning_rate": [0.05, 0.1],
    "max_leaf_nodes": [15, 31, 63],
    "min_samples_leaf": [20, 50, 100],
    "l2_regularization": [0.0, 1.0, 10.0],
    "max_iter": [200, 400],
}
RUL_LINEAR = [{"kind": "linear", "alpha": a} for a in (1.0, 30.0)]
RISK_LINEAR = [{"kind": "linear", "C": c} for c in (0.05, 1.0)]
SEARCH_MAX_ROWS = 15_000


@dataclass
class TrainOptions:
    horizon: float | None = None  # default: 48 (hours) or 30 (cycles)
    rul_cap: float | None = None  # default: 0.6 x the median life of failed units
    windows: tuple[int, ...] = DEFAULT_WINDOWS
    baseline: int = 10
    use_age: bool = True
    search_iter: int = 4  # random tree settings per model, plus 2 linear; 0: defaults
    threshold: float | None = None  # default: chosen on out-of-fold risk
    consecutive: int | None = None
    max_false_alarms: float = 0.5  # per 100 unit-days (or unit-cycles) when choosing
    test_share: float = 0.2
    seed: int = 0


@dataclass
class Matrices:
    X: np.ndarray
    groups: np.ndarray
    rul_rows: np.ndarray  # bool per row: RUL target known
    rul_y: np.ndarray
    risk_rows: np.ndarray
    risk_y: np.ndarray
    scored: list[ScoredRun]  # index into rows per run, to replay alarms


def _featurize_units(spec: FeatureSpec, norm: RegimeNormaliser, runs: list[Run]
                     ) -> list[tuple[np.ndarray, np.ndarray]]:
    return [featurize(spec, norm, run) for run in runs]


def build(runs: list[Run], spec: FeatureSpec, norm: RegimeNormaliser, horizon: float,
          cap: float, log: Callable[[str], None] | None = None, threads: int = 1) -> Matrices:
    """Features and targets of every unit; units are featurized ``threads`` at a time."""
    chunk = max(1, min(10, len(runs) // (4 * max(1, threads)) or 1))
    tasks = [(spec, norm, runs[i: i + chunk]) for i in range(0, len(runs), chunk)]
    features = [f for part in run_tasks(_featurize_units, tasks, threads,
                                        Progress(len(tasks), f"features ({len(runs)} units, "
                                                 f"{chunk} per step)", log))
                for f in part]
    Xs, groups, rul_rows, rul_y, risk_rows, risk_y, scored = [], [], [], [], [], [], []
    for run, (X, idx) in zip(runs, features, strict=True):
        if len(X) == 0:
            continue
        t = run.time[idx]
        f = run.failure_time()
        if f is not None:
            rul_rows.append(np.ones(len(t), bool))
            rul_y.append(np.minimum(f - t, cap))
        else:  # censored: the capped RUL is known while at least the cap from the end
            rul_rows.append(run.time[-1] - t >= cap)
            rul_y.append(np.full(len(t), cap))
        known, label = horizon_labels(run, t, horizon)
        risk_rows.append(known)
        risk_y.append(label)
        Xs.append(X)
        groups.append(np.full(len(t), run.unit, dtype=object))
        scored.append(ScoredRun(run, idx, np.empty(0), np.empty(0)))
    if not Xs:
        raise DatasetError("no unit has a scorable row (all stopped, or no sensor values)")
    return Matrices(np.vstack(Xs), np.concatenate(groups), np.concatenate(rul_rows),
                    np.concatenate(rul_y), np.concatenate(risk_rows), np.concatenate(risk_y),
                    scored)


def _fit_and_score(estimator, params: dict, X, y, train, test, scoring: str) -> float:
    """One search fit: ``params`` fitted on ``train``, scored on ``test`` (NaN if it fails)."""
    try:
        model = clone(estimator).set_params(**params).fit(X[train], y[train])
        return float(get_scorer(scoring)(model, X[test], y[test]))
    except (ValueError, ArithmeticError):
        return float("nan")


def _search(estimator, linear: list[dict], X, y, groups, n_iter: int, scoring: str,
            seed: int, log: Callable[[str], None], threads: int = 1,
            seen: set[int] | None = None) -> tuple[dict, float | None]:
    """The candidate with the best mean score over 3 unit-grouped folds (first on ties)."""
    if n_iter <= 0 or len(np.unique(groups)) < 3:
        return {}, None
    units = np.unique(groups)
    rng = np.random.default_rng(seed)
    rng.shuffle(units)
    if len(X) > SEARCH_MAX_ROWS:  # bound the cost: a subset of whole units
        keep, rows = [], 0
        per_unit = {u: int(np.sum(groups == u)) for u in units}
        for u in units:
            keep.append(u)
            rows += per_unit[u]
            if rows >= SEARCH_MAX_ROWS:
                break
        mask = np.isin(groups, keep)
        X, y, groups = X[mask], y[mask], groups[mask]
    candidates = [*linear, *ParameterSampler(_TREES, n_iter=n_iter, random_state=seed)]
    folds = list(GroupKFold(n_splits=3).split(X, y, groups))
    name = type(estimator).__name__
    log(f"  searching {len(candidates)} settings x 3 unit folds for {name} on {len(X):,} "
        f"rows ({threads} at a time)...")
    tasks = [(estimator, params, X, y, train, test, scoring)
             for params in candidates for train, test in folds]
    scores = np.array(run_tasks(_fit_and_score, tasks, threads,
                                Progress(len(tasks), f"{name} search fits", log), seen))
    means = scores.reshape(len(candidates), len(folds)).mean(axis=1)
    if not np.any(np.isfinite(means)):
        log(f"  every {name} search fit failed: default settings")
        return {}, None
    best_index = int(np.nanargmax(means))
    best = candidates[best_index]
    log(f"  search ({len(candidates)} settings, {len(X):,} rows, 3 unit folds): best "
        f"{scoring} {means[best_index]:.4g} with {best}")
    return best, float(means[best_index])


def choose_alarm(scored: list[tuple[ScoredRun, np.ndarray]], horizon: float, time_unit: str,
                 max_false: float, threshold: float | None, consecutive: int | None
                 ) -> tuple[float, int, dict[str, float]]:
    """The (threshold, consecutive) that warns most failures earliest within the budget."""
    thresholds = [threshold] if threshold is not None else [
        round(x, 2) for x in np.arange(0.2, 0.96, 0.05)]
    counts = [consecutive] if consecutive is not None else [1, 2, 3, 5]
    best, best_key = None, None
    for c in counts:
        for th in thresholds:
            m = alarm_metrics(scored, AlarmRule(th, c), horizon, time_unit)
            rate = false_alarm_rate(m)
            within = rate <= max_false
            share = 0.0 if np.isnan(m["warned_share"]) else m["warned_share"]
            lead = 0.0 if np.isnan(m["median_lead"]) else m["median_lead"]
            key = (within, share if within else -rate, lead, -rate, th)
            if best_key is None or key > best_key:
                best, best_key = (th, c, m), key
    return best  # type: ignore[return-value]


def _fit(runs: list[Run], sensors: list[str], settings: list[str], opts: TrainOptions,
         horizon: float, cap: float, interval: float, log: Callable[[str], None],
         params: tuple[dict, dict] | None = None, threads: int = 1,
         seen: set[int] | None = None):
    spec = FeatureSpec(sensors=tuple(sensors), settings=tuple(settings), windows=opts.windows,
                       baseline=opts.baseline, sample_interval=interval, use_age=opts.use_age)
    S = np.vstack([r.matrix(sensors)[r.running_rows()] for r in runs])
    C = np.vstack([r.matrix(settings)[r.running_rows()] for r in runs])
    norm = RegimeNormaliser(tuple(sensors), tuple(settings), random_state=opts.seed).fit(S, C)
    m = build(runs, spec, norm, horizon, cap, log, threads)
    log(f"  {len(m.X):,} feature rows x {m.X.shape[1]} features from {len(m.scored)} units; "
        f"{norm.n_regimes_} operating regime(s)")
    search_info: dict = {}
    if params is None:
        rul_params, rul_score = _search(RulRegressor(cap=cap), RUL_LINEAR, m.X[m.rul_rows],
                                        m.rul_y[m.rul_rows], m.groups[m.rul_rows],
                                        opts.search_iter, "neg_root_mean_squared_error",
                                        opts.seed, log, threads, seen)
        risk_params, risk_score = _search(FailureRiskClassifier(calibration="none"),
                                          RISK_LINEAR, m.X[m.risk_rows], m.risk_y[m.risk_rows],
                                          m.groups[m.risk_rows], opts.search_iter,
                                          "average_precision", opts.seed, log, threads, seen)
        search_info = {"rul": {"params": rul_params, "neg_rmse": rul_score},
                       "risk": {"params": risk_params, "average_precision": risk_score},
                       "tree_settings_tried": opts.search_iter,
                       "linear_settings_tried": len(RUL_LINEAR)}
        params = (rul_params, risk_params)
    log(f"  fitting the RUL regressor and the calibrated risk classifier on {len(m.X):,} "
        "rows...")
    # The RUL model is one fit, here; the risk model's full and out-of-fold fits run side
    # by side in the workers.
    rul = RulRegressor(cap=cap, **params[0]).fit(m.X[m.rul_rows], m.rul_y[m.rul_rows])
    risk = FailureRiskClassifier(**params[1], n_jobs=threads)
    risk.fit(m.X[m.risk_rows], m.risk_y[m.risk_rows], groups=m.groups[m.risk_rows])
    risk.set_params(n_jobs=1)  # how it was fitted here, not part of the model
    # Out-of-fold risk along each unit's labelled rows, to choose the alarm on.
    oof = risk.oof_proba_ if risk.oof_proba_ is not None else risk.predict_proba(
        m.X[m.risk_rows])[:, 1]
    per_row = np.full(len(m.X), np.nan)
    per_row[m.risk_rows] = oof
    replay, at = [], 0
    for s in m.scored:
        n = len(s.index)
        rows = per_row[at: at + n]
        ok = np.isfinite(rows)
        replay.append((ScoredRun(s.run, s.index[ok], np.empty(0), rows[ok]), rows[ok]))
        at += n
    rul_mean = float(np.mean(m.rul_y[m.rul_rows]))
    return spec, norm, rul, risk, replay, params, search_info, rul_mean


def train(data: Dataset, out: str | Path, opts: TrainOptions | None = None,
          log: Callable[[str], None] = print, threads: int | None = None) -> dict:
    """Fit on 80% of the units, report on the other 20%, then refit on all and save.

    ``threads``: fits run side by side (default: every core this process may use,
    ``models.parallel``); the model is the same whatever it is.
    """
    opts = opts or TrainOptions()
    threads = threads or available_cores()
    log(f"training with {threads} fit(s) at a time, one kernel thread each")
    seen: set[int] = set()
    with limit_threads(1):
        seen.add(kernel_threads())
        return _train(data, out, opts, log, threads, seen)


def _train(data: Dataset, out: str | Path, opts: TrainOptions, log: Callable[[str], None],
           threads: int, seen: set[int]) -> dict:
    runs = [r for r in data.runs if len(r) >= 2]
    failed = [r for r in runs if r.failure_time() is not None]
    if len(runs) < 5 or len(failed) < 3:
        raise DatasetError(f"need at least 5 units with 2+ rows and 3 failures to train; "
                           f"got {len(runs)} units, {len(failed)} failures")
    sensors, dropped = useful_sensors(runs, data.sensors)
    if not sensors:
        raise DatasetError(f"no useful sensor column: {dropped or 'none numeric'}")
    time_unit = data.time_unit
    horizon = opts.horizon or (48.0 if time_unit == "h" else 30.0)
    lives = [(r.failure_time() or 0) - r.time[0] for r in failed]
    cap = opts.rul_cap or max(horizon, 5.0 * round(0.6 * float(np.median(lives)) / 5.0))
    diffs = np.concatenate([np.diff(r.time[r.running_rows()]) for r in runs])
    interval = float(np.median(diffs[diffs > 0])) if np.any(diffs > 0) else 1.0
    log(f"{len(runs)} units ({len(failed)} failures), sensors: {', '.join(sensors)}")
    for name, why in {**dropped, **data.set_aside}.items():
        log(f"  not used: {name}: {why}")
    if data.settings:
        log(f"  operating settings: {', '.join(data.settings)}")
    log(f"horizon {horizon:g} {time_unit}, RUL cap {cap:g}, sample interval {interval:g}")

    units = sorted(r.unit for r in runs)
    random.Random(opts.seed).shuffle(units)
    test_units = set(units[: max(1, round(len(units) * opts.test_share))])
    train_runs = [r for r in runs if r.unit not in test_units]
    test_runs = [r for r in runs if r.unit in test_units]
    log(f"held-out check: training on {len(train_runs)} units, testing on {len(test_runs)} "
        "(split by unit)")
    spec, norm, rul, risk, replay, params, search_info, rul_mean = _fit(
        train_runs, sensors, data.settings, opts, horizon, cap, interval, log,
        threads=threads, seen=seen)
    threshold, consecutive, chosen = choose_alarm(replay, horizon, time_unit,
                                                  opts.max_false_alarms, opts.threshold,
                                                  opts.consecutive)
    meta = {"horizon": horizon, "rul_cap": cap, "threshold": threshold,
            "consecutive": consecutive, "time_unit": time_unit, "rul_train_mean": rul_mean}
    held = PdmModel(spec, norm, rul, risk, dict(meta))
    metrics, _ = evaluate(held, test_runs, log=log)
    log(f"alarm chosen on out-of-fold risk: threshold {threshold:g}, {consecutive} "
        "consecutive")
    log(f"the {len(test_runs)} held-back units (never seen in training), along all their "
        "rows:\n" + format_metrics(metrics, time_unit, all_rows_only=True))

    log(f"final fit on all {len(runs)} units")
    spec, norm, rul, risk, replay, _, _, rul_mean = _fit(
        runs, sensors, data.settings, opts, horizon, cap, interval, log, params=params,
        threads=threads, seen=seen)
    threshold, consecutive, chosen = choose_alarm(replay, horizon, time_unit,
                                                  opts.max_false_alarms, opts.threshold,
                                                  opts.consecutive)
    log(f"deployed alarm: threshold {threshold:g}, {consecutive} consecutive "
        f"(out-of-fold on all units: {chosen['warned']}/{chosen['failures']} warned, "
        f"{false_alarm_rate(chosen):.3g} false per 100)")
    model = PdmModel(spec, norm, rul, risk, {
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
        "horizon": horizon, "rul_cap": cap, "threshold": threshold,
        "consecutive": consecutive, "time_unit": time_unit, "sample_interval": interval,
        "sample_interval_h": interval if time_unit == "h" else None,
        "rul_train_mean": rul_mean, "training_data_sha256": data.sha256,
        "columns": data.columns, "roles": data.roles, "sensors": sensors,
        "settings": data.settings, "not_used": {**dropped, **data.set_aside},
        "regimes": norm.n_regimes_, "units": len(runs),
        "failures": len(failed), "options": asdict(opts),
        "search": search_info, "alarm_out_of_fold": chosen, "metrics": metrics,
        "threads": {"fits_at_a_time": threads, "kernel_threads_seen": sorted(seen)},
    })
    save_model(out, model)
    log(f"model written to {out}")
    return metrics

