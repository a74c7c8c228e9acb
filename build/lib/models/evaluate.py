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
from .progress import Progress


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


def warning_lead(episodes: list[tuple[float, float]], failure: float,
                 horizon: float) -> float | None:
    """How long before ``failure`` an alarm was on inside the warning window
    ``[failure - horizon, failure]`` (at most the horizon); None if none was.

    >>> warning_lead([(1.0, 3.0), (8.0, 10.0)], failure=10.0, horizon=5.0)
    2.0
    >>> warning_lead([(1.0, 3.0)], failure=10.0, horizon=5.0) is None
    True
    """
    window = failure - horizon
    hits = [max(a, window) for a, b in episodes if b >= window and a <= failure]
    return failure - min(hits) if hits else None


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
        lead = warning_lead(episodes, f, horizon)
        if lead is not None:
            leads.append(lead)
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


def labelled_risk(scored: list[ScoredRun], horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """Failure within the horizon (0/1) and the predicted risk, on every scored row whose
    label is known, all units together."""
    y, p = [], []
    for s in scored:
        known, label = horizon_labels(s.run, s.times, horizon)
        y.append(label[known])
        p.append(s.risk[known])
    return (np.concatenate(y) if y else np.empty(0), np.concatenate(p) if p else np.empty(0))


EVAL_RUL_CAP = 125.0  # the published convention for capped RUL figures (--rul-cap)


def rul_metrics(scored: list[ScoredRun], cap: float, constant: float) -> dict[str, float]:
    """RUL errors against the true remaining life and against the truth capped at ``cap``.

    At each unit's last scored row (the figure published for truncated test sets) and
    along all scored rows; ``constant`` is the baseline predictor (the training mean).

    >>> run = Run("u", np.array([0.0, 100.0, 150.0, 200.0]), {})
    >>> s = ScoredRun(run, np.array([1, 2]), np.array([90.0, 60.0]), np.zeros(2))
    >>> m = rul_metrics([s], cap=75.0, constant=50.0)
    >>> m["rul_rmse_last"], m["rul_rmse_last_capped"]  # truth 50 at the last row
    (10.0, 10.0)
    >>> round(m["rul_rmse_history"], 3), round(m["rul_rmse_history_capped"], 3)
    (10.0, 12.748)
    """
    last_pred, last_true, all_pred, all_true = [], [], [], []
    for s in scored:
        truth = s.true_rul()
        if truth is None or len(truth) == 0:
            continue
        last_pred.append(s.rul[-1])
        last_true.append(truth[-1])
        all_pred.append(s.rul)
        all_true.append(truth)
    if not last_true:
        return {}
    lp, lt = np.array(last_pred), np.array(last_true)
    ap, at = np.concatenate(all_pred), np.concatenate(all_true)
    d, dc = lp - lt, lp - np.minimum(lt, cap)
    h, hc = ap - at, ap - np.minimum(at, cap)
    base = constant - np.minimum(lt, cap)
    return {
        "rul_units": len(lt), "rul_rows": len(at),
        "rul_rmse_history": _rmse(h), "rul_rmse_history_capped": _rmse(hc),
        "rul_mae_history_capped": float(np.mean(np.abs(hc))),
        "rul_rmse_history_constant_mean": _rmse(constant - np.minimum(at, cap)),
        "rul_rmse_last": _rmse(d), "rul_mae_last": float(np.mean(np.abs(d))),
        "rul_rmse_last_capped": _rmse(dc),
        "rul_phm_score_last": phm_score(d),
        "rul_phm_score_last_capped": phm_score(dc),
        "rul_rmse_constant_mean_last_capped": _rmse(base),
        "rul_rmse_ratio_to_constant": _rmse(dc) / max(_rmse(base), 1e-9),
    }


def evaluate(model: PdmModel, runs: list[Run], rul_cap: float = EVAL_RUL_CAP,
             log=None) -> tuple[dict[str, float], list[ScoredRun]]:
    """Every metric of the module docstring, on ``runs``; capped RUL figures cap the truth
    at ``rul_cap`` (a stated convention, not the model's own cap)."""
    horizon = model.horizon
    progress = Progress(len(runs), "units scored", log)
    scored = []
    for r in runs:
        scored.append(score_run(model, r))
        progress.step()
    m: dict[str, float] = {"units": len(runs), "rows_scored": int(sum(len(s.index)
                                                                      for s in scored)),
                           "rul_cap_evaluation": float(rul_cap), "rul_cap_model": model.cap}
    m.update(rul_metrics(scored, rul_cap, model.metadata.get("rul_train_mean", model.cap)))
    yy, pp = labelled_risk(scored, horizon)
    if len(set(yy)) == 2:
        m["roc_auc"] = float(roc_auc_score(yy, pp))
        m["pr_auc"] = float(average_precision_score(yy, pp))
        m["positive_share"] = float(yy.mean())
    m.update(alarm_metrics([(s, s.risk) for s in scored], model.alarm_rule, horizon,
                           model.time_unit))
    return m, scored


def format_metrics(m: dict[str, float], time_unit: str = "h",
                   all_rows_only: bool = False) -> str:
    """The evaluate report, one metric per line; ``all_rows_only`` leaves out the figures
    at each unit's last row (for run-to-failure units that row is the failure itself)."""
    unit = "h" if time_unit == "h" else "cycles"
    cap = f"{m.get('rul_cap_evaluation', EVAL_RUL_CAP):g}"
    labels = {
        "units": "units", "rows_scored": "rows scored",
        "rul_cap_evaluation": f"RUL cap for 'capped' figures ({unit}, --rul-cap)",
        "rul_cap_model": f"  the model's own training cap ({unit})",
        "rul_units": "units with known RUL", "rul_rows": "rows with known RUL",
        "rul_rmse_history": f"RUL RMSE along histories, vs true RUL ({unit})",
        "rul_rmse_history_capped": f"RUL RMSE along histories, vs truth capped at {cap}",
        "rul_mae_history_capped": f"RUL MAE along histories, vs truth capped at {cap}",
        "rul_rmse_history_constant_mean": "  constant-mean predictor, same rows",
        "rul_rmse_last": f"RUL RMSE at last row, vs true RUL ({unit})",
        "rul_mae_last": f"RUL MAE at last row, vs true RUL ({unit})",
        "rul_rmse_last_capped": f"RUL RMSE at last row, vs truth capped at {cap}",
        "rul_phm_score_last": "PHM score at last row, vs true RUL (lower is better)",
        "rul_phm_score_last_capped": f"PHM score at last row, vs truth capped at {cap}",
        "rul_rmse_constant_mean_last_capped": "  constant-mean predictor, same rows",
        "rul_rmse_ratio_to_constant": "  ratio model / constant mean",
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
    last_row = {"rul_rmse_last", "rul_mae_last", "rul_rmse_last_capped", "rul_phm_score_last",
                "rul_phm_score_last_capped", "rul_rmse_constant_mean_last_capped",
                "rul_rmse_ratio_to_constant"}
    lines = []
    for k, v in m.items():
        if all_rows_only and k in last_row:
            continue
        text = f"{v:,.4g}" if isinstance(v, float) else f"{v:,}"
        lines.append(f"{labels.get(k, k):<52} {text}")
    return "\n".join(lines)


def plot_evaluation(model: PdmModel, scored: list[ScoredRun], out_dir, n_units: int = 6):
    """Three PNGs: predicted vs true RUL; risk along time for the failing units worth a
    look (``plot_selection``); the reliability diagram of the risk probabilities."""
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

    chosen = plot_selection(scored, model.alarm_rule, horizon, n_units)
    fig, axes = plt.subplots(max(1, len(chosen)), 1, figsize=(9, 1.6 * max(1, len(chosen))),
                             sharex=False, squeeze=False)
    for ax, (s, why) in zip(axes[:, 0], chosen, strict=False):
        f = s.failure_time
        ax.plot(s.times, s.risk, lw=0.9, color="#2563eb")
        ax.axhline(model.threshold, color="#6b7280", ls=":", lw=1)
        ax.axvspan(f - horizon, f, color="#fecaca", alpha=0.5)  # type: ignore[operator]
        ax.set_xlim(min(s.times[0], f - 2 * horizon), f + 0.05 * horizon)  # type: ignore[operator]
        ax.set_ylim(-0.02, 1.02)
        ax.set_ylabel(s.run.unit, fontsize=7)
        ax.text(0.01, 0.85, why, transform=ax.transAxes, fontsize=7)
        ax.grid(alpha=0.3)
    if not chosen:
        axes[0, 0].text(0.5, 0.5, "no unit's history reaches its warning window",
                        ha="center", transform=axes[0, 0].transAxes)
    axes[0, 0].set_title(f"failure risk along time (threshold dotted; red: the {horizon:g} "
                         f"{unit} before failure)", fontsize=9)
    axes[-1, 0].set_xlabel(f"time ({unit})")
    fig.tight_layout()
    risk_png = out / "risk_along_time.png"
    fig.savefig(risk_png, dpi=90)
    plt.close(fig)

    centres, observed, counts = calibration(scored, horizon)
    fig, (ax, axn) = plt.subplots(2, 1, figsize=(5.5, 6.5), height_ratios=(3, 1), sharex=True)
    ax.plot([0, 1], [0, 1], color="#9ca3af", ls="--", lw=1, label="perfectly calibrated")
    shown = counts > 0
    ax.plot(centres[shown], observed[shown], "o-", color="#1d4ed8", label="this model")
    ax.set_ylabel(f"observed share failing within {horizon:g} {unit}")
    ax.set_title("reliability of the risk probabilities (rows with a known label)", fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    axn.bar(centres, counts, width=0.09, color="#93c5fd")
    axn.set_yscale("log")
    axn.set_xlabel("predicted risk")
    axn.set_ylabel("rows")
    fig.tight_layout()
    calibration_png = out / "risk_calibration.png"
    fig.savefig(calibration_png, dpi=90)
    plt.close(fig)
    return [rul_png, risk_png, calibration_png]


def plot_selection(scored: list[ScoredRun], rule: AlarmRule, horizon: float,
                   n: int = 6) -> list[tuple[ScoredRun, str]]:
    """The failing units worth a risk plot, each with why it was picked.

    Only units whose history reaches their warning window (``[F - horizon, F]``) can show
    a warning. Of those: the worst misses first (not warned, then the shortest leads, at
    most half of the warned units), then the other warned units spread evenly by lead.
    """
    candidates = []
    for s in scored:
        f = s.failure_time
        if f is None or not len(s.index) or s.times[-1] < f - horizon:
            continue
        candidates.append((s, warning_lead(rule.episodes(s.times, s.risk), f, horizon)))
    missed = [(s, "missed: no alarm in the warning window") for s, lead in candidates
              if lead is None]
    warned = sorted(((s, lead) for s, lead in candidates if lead is not None),
                    key=lambda c: c[1])
    worst = missed[:n]
    k = min(len(warned) // 2, max(0, n - len(worst)) // 2)
    worst += [(s, f"short lead: {lead:.3g}") for s, lead in warned[:k]]
    rest = warned[k:]
    room = n - len(worst)
    if room > 0 and rest:
        picks = np.unique(np.linspace(0, len(rest) - 1, min(room, len(rest))).round()
                          .astype(int))
        worst += [(rest[i][0], f"lead {rest[i][1]:.3g}") for i in picks]
    return worst


def calibration(scored: list[ScoredRun], horizon: float, bins: int = 10
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per bin of predicted risk: its centre, the observed share of rows failing within the
    horizon (NaN where empty), and the number of rows (rows with a known label only)."""
    yy, pp = labelled_risk(scored, horizon)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(pp, edges[1:-1]), 0, bins - 1)
    counts = np.bincount(which, minlength=bins).astype(float)
    hits = np.bincount(which, weights=yy.astype(float), minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        observed = np.where(counts > 0, hits / counts, np.nan)
    return (edges[:-1] + edges[1:]) / 2, observed, counts
