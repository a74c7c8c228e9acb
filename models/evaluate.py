"""Scoring histories with a model and judging it by what maintenance cares about.

One scoring path (:func:`score_run`) serves training's held-out report,
``forewarn model evaluate`` and ``forewarn model score``.

**Alarms** follow the one rule (``models.alarm``) the ingester raises them by: after
``consecutive`` scores at or above ``threshold``, until a score falls below it.
For a unit whose failure time F is known (its last row is the failure, or the data
carries the true RUL):

- an alarm active within the horizon before F (``[F - horizon, F]``) *warns* of
  the failure, with lead time F minus its start (at most the horizon);
- an alarm that starts earlier than that is a *false alarm*; so is any alarm of a
  censored unit that starts more than a horizon before its history ends.

False alarms are counted per 100 unit-days of exposure (per 100 unit-cycles when
time counts cycles), exposure being the time each unit was known to be more than
a horizon from failure. A unit whose observed history ends before its horizon
window opens cannot be warned and counts only as exposure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from .alarm import AlarmRule
from .dataset import Run
from .features import unit_features
from .io import PdmModel


@dataclass
class ScoredRun:
    run: Run
    index: np.ndarray  # rows of the run that were scored (running)
    rul: np.ndarray
    risk: np.ndarray

    @property
    def times(self) -> np.ndarray:
        return self.run.time[self.index]

    @property
    def failure_time(self) -> float | None:
        return self.run.failure_time()

    def true_rul(self) -> np.ndarray | None:
        f = self.failure_time
        return None if f is None else f - self.times


def run_values(run: Run, run_signal: str | None) -> list[dict[str, float]]:
    rows = run.rows()
    if run.running is not None and run_signal:
        for row, state in zip(rows, run.running, strict=True):
            row[run_signal] = state
    return rows


def featurize(model_spec, normaliser, run: Run) -> tuple[np.ndarray, np.ndarray]:
    return unit_features(run_values(run, model_spec.run_signal), model_spec, normaliser)


def score_run(model: PdmModel, run: Run) -> ScoredRun:
    X, index = featurize(model.spec, model.normaliser, run)
    if len(X) == 0:
        return ScoredRun(run, index, np.empty(0), np.empty(0))
    return ScoredRun(run, index, model.predict_rul(X), model.predict_risk(X))


def horizon_labels(run: Run, times: np.ndarray, horizon: float
                   ) -> tuple[np.ndarray, np.ndarray]:
    """For rows of ``run`` at ``times``: whether the failure-within-horizon label is known,
    and the label (1 within the horizon of the failure).

    A censored unit is known to survive the horizon only more than a horizon before the
    end of its history; its later rows are unknown.
    """
    f = run.failure_time()
    if f is None:
        return run.time[-1] - times > horizon, np.zeros(len(times), int)
    return np.ones(len(times), bool), (f - times <= horizon).astype(int)


def alarm_metrics(scored: list[tuple[ScoredRun, np.ndarray]], rule: AlarmRule,
                  horizon: float, time_unit: str) -> dict[str, float]:
    """Warned share, median lead and false alarms; ``scored`` pairs runs with risk arrays."""
    leads: list[float] = []
    failures = false = 0
    exposure = 0.0
    for s, risk in scored:
        t = s.times
        if len(t) == 0:
            continue
        episodes = rule.episodes(t, risk)
        f = s.failure_time
        if f is None:  # censored: only its start up to a horizon before the end is known
            known_until = t[-1] - horizon
            exposure += max(0.0, known_until - t[0])
            false += sum(1 for a, _ in episodes if a < known_until)
            continue
        window = f - horizon
        exposure += max(0.0, min(t[-1], window) - t[0])
        false += sum(1 for a, _ in episodes if a < window)
        if t[-1] < window:
            continue  # its history ends before its warning window opens
        failures += 1
        hits = [max(a, window) for a, b in episodes if b >= window and a <= f]
        if hits:
            leads.append(f - min(hits))
    per = 24.0 if time_unit == "h" else 1.0
    unit = "unit_days" if time_unit == "h" else "unit_cycles"
    return {
        "failures": failures,
        "warned": len(leads),
        "warned_share": len(leads) / failures if failures else float("nan"),
        "median_lead": float(np.median(leads)) if leads else float("nan"),
        "false_alarms": false,
        f"false_alarms_per_100_{unit}": 100.0 * false / max(exposure / per, 1e-9),
        f"exposure_{unit}": exposure / per,
    }


def false_alarm_rate(m: dict[str, float]) -> float:
    return next(v for k, v in m.items() if k.startswith("false_alarms_per_100_"))


def phm_score(d: np.ndarray) -> float:
    """The asymmetric PHM'08 score of errors d = predicted - true: late costs more.

    >>> round(phm_score(np.array([-13.0, 10.0])), 3)
    3.437
    """
    return float(np.sum(np.where(d < 0, np.exp(-d / 13.0) - 1, np.exp(d / 10.0) - 1)))


def _rmse(d: np.ndarray) -> float:
    return float(np.sqrt(np.mean(d**2))) if len(d) else float("nan")


def evaluate(model: PdmModel, runs: list[Run]) -> tuple[dict[str, float], list[ScoredRun]]:
    """Every metric of the module docstring and the issue, on ``runs``."""
    meta = model.metadata
    horizon, cap = model.horizon, model.cap
    scored = [score_run(model, r) for r in runs]
    m: dict[str, float] = {"units": len(runs), "rows_scored": int(sum(len(s.index)
                                                                      for s in scored))}
    # RUL at each unit's last scored row, where the truth is known; and failure within
    # the horizon, along every history (rows whose label is known).
    last_pred, last_true, all_pred, all_true, y, p = [], [], [], [], [], []
    for s in scored:
        known, label = horizon_labels(s.run, s.times, horizon)
        y.append(label[known])
        p.append(s.risk[known])
        truth = s.true_rul()
        if truth is None or len(truth) == 0:
            continue
        last_pred.append(s.rul[-1])
        last_true.append(truth[-1])
        all_pred.append(s.rul)
        all_true.append(truth)
    if last_true:
        lp, lt = np.array(last_pred), np.array(last_true)
        d = lp - lt
        dc = lp - np.minimum(lt, cap)
        constant = meta.get("rul_train_mean", cap)  # the training targets' mean
        base = constant - np.minimum(lt, cap)
        ap, at = np.concatenate(all_pred), np.minimum(np.concatenate(all_true), cap)
        m.update({
            "rul_units": len(lt),
            "rul_rmse_last": _rmse(d), "rul_mae_last": float(np.mean(np.abs(d))),
            "rul_rmse_last_capped": _rmse(dc),
            "rul_phm_score_last": phm_score(d),
            "rul_phm_score_last_capped": phm_score(dc),
            "rul_rmse_constant_mean_last_capped": _rmse(base),
            "rul_rmse_ratio_to_constant": _rmse(dc) / max(_rmse(base), 1e-9),
            "rul_rmse_history_capped": _rmse(ap - at),
            "rul_mae_history_capped": float(np.mean(np.abs(ap - at))),
            "rul_rmse_history_constant_mean": _rmse(constant - at),
        })
    yy, pp = np.concatenate(y) if y else np.empty(0), np.concatenate(p) if p else np.empty(0)
    if len(set(yy)) == 2:
        m["roc_auc"] = float(roc_auc_score(yy, pp))
        m["pr_auc"] = float(average_precision_score(yy, pp))
        m["positive_share"] = float(yy.mean())
    m.update(alarm_metrics([(s, s.risk) for s in scored], model.alarm_rule, horizon,
                           model.time_unit))
    return m, scored


def format_metrics(m: dict[str, float], time_unit: str = "h") -> str:
    """The evaluate report, one metric per line."""
    unit = "h" if time_unit == "h" else "cycles"
    labels = {
        "units": "units", "rows_scored": "rows scored",
        "rul_units": "units with known RUL",
        "rul_rmse_last": f"RUL RMSE at last row ({unit})",
        "rul_mae_last": f"RUL MAE at last row ({unit})",
        "rul_rmse_last_capped": "RUL RMSE at last row, truth capped",
        "rul_phm_score_last": "PHM score at last row (lower is better)",
        "rul_phm_score_last_capped": "PHM score at last row, truth capped",
        "rul_rmse_constant_mean_last_capped": "  constant-mean predictor, same rows",
        "rul_rmse_ratio_to_constant": "  ratio model / constant mean",
        "rul_rmse_history_capped": "RUL RMSE along histories, truth capped",
        "rul_mae_history_capped": "RUL MAE along histories, truth capped",
        "rul_rmse_history_constant_mean": "  constant-mean predictor, same rows",
        "roc_auc": "failure within horizon: ROC-AUC", "pr_auc": "failure within horizon: PR-AUC",
        "positive_share": "  share of rows within horizon",
        "failures": "failures in view", "warned": "failures warned",
        "warned_share": "share of failures warned",
        "median_lead": f"median lead time ({unit})", "false_alarms": "false alarms",
        "false_alarms_per_100_unit_days": "false alarms per 100 unit-days",
        "false_alarms_per_100_unit_cycles": "false alarms per 100 unit-cycles",
        "exposure_unit_days": "  exposure (unit-days)",
        "exposure_unit_cycles": "  exposure (unit-cycles)",
    }
    lines = []
    for k, v in m.items():
        text = f"{v:,.4g}" if isinstance(v, float) else f"{v:,}"
        lines.append(f"{labels.get(k, k):<44} {text}")
    return "\n".join(lines)


def plot_evaluation(model: PdmModel, scored: list[ScoredRun], out_dir, n_units: int = 6):
    """Two PNGs: predicted vs true RUL, and risk along time for a few failing units."""
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cap, horizon = model.cap, model.horizon
    unit = "h" if model.time_unit == "h" else "cycles"
    fig, ax = plt.subplots(figsize=(6, 6))
    rng = np.random.default_rng(0)
    known = [s for s in scored if s.true_rul() is not None and len(s.index)]
    if known:
        t = np.concatenate([s.true_rul() for s in known])  # type: ignore[misc]
        p = np.concatenate([s.rul for s in known])
        pick = rng.choice(len(t), size=min(len(t), 4000), replace=False)
        ax.scatter(t[pick], p[pick], s=3, alpha=0.25, color="#93c5fd", label="along histories")
        ax.scatter([s.true_rul()[-1] for s in known], [s.rul[-1] for s in known],  # type: ignore[index]
                   s=14, color="#1d4ed8", label="last row of each unit")
        top = float(max(np.max(t), cap))
        ax.plot([0, cap, top], [0, cap, cap], color="#b91c1c", lw=1,
                label=f"capped truth (cap {cap:g})")
    ax.set_xlabel(f"true RUL ({unit})")
    ax.set_ylabel(f"predicted RUL ({unit})")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    rul_png = out / "rul_pred_vs_true.png"
    fig.savefig(rul_png, dpi=90)
    plt.close(fig)

    failing = [s for s in scored if s.failure_time is not None and len(s.index)][:n_units]
    fig, axes = plt.subplots(max(1, len(failing)), 1, figsize=(9, 1.6 * max(1, len(failing))),
                             sharex=False, squeeze=False)
    for ax, s in zip(axes[:, 0], failing, strict=False):
        f = s.failure_time
        ax.plot(s.times, s.risk, lw=0.9, color="#2563eb")
        ax.axhline(model.threshold, color="#6b7280", ls=":", lw=1)
        ax.axvspan(f - horizon, f, color="#fecaca", alpha=0.5)  # type: ignore[operator]
        ax.set_ylim(-0.02, 1.02)
        ax.set_ylabel(s.run.unit, fontsize=7)
        ax.grid(alpha=0.3)
    axes[0, 0].set_title(f"failure risk along time (threshold dotted; red: the {horizon:g} "
                         f"{unit} before failure)", fontsize=9)
    fig.tight_layout()
    risk_png = out / "risk_along_time.png"
    fig.savefig(risk_png, dpi=90)
    plt.close(fig)
    return [rul_png, risk_png]
