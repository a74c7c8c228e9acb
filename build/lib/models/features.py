"""Features: the one implementation used in training, evaluation and live scoring.

Two steps, both fitted on training data only and saved with the model:

1. **Normalisation per operating regime.** When the data has operating settings,
   their rows are clustered (k-means, the number of regimes chosen by silhouette,
   1 when the settings do not form clusters), and each sensor becomes a z-score
   against what its regime and settings predict (a linear fit within the regime, so
   continuous settings such as load are taken out as well). A sensor then reads the
   same in every regime and at every load unless the machine itself has changed.
2. **Per-row features** from a unit's own history up to that row (never later
   rows), computed by :class:`FeatureState`, which the ingester feeds sample by
   sample and training feeds row by row. For each sensor: the current z; over each
   window (in samples) the mean, the spread and the least-squares slope per
   sample; the departure of the shortest window's mean from the unit's own
   starting point (the mean of its first ``baseline`` samples). Then two health
   indicators over all sensors (root-mean-square of those departures, now and
   its slope) and the unit's age (samples seen times the sample interval).

Features are defined from the first row on; statistics a short history cannot
give yet are NaN, which the gradient-boosted models handle natively. So a unit
with only a few rows of history can be scored. Rows where the run state says the
machine is stopped are skipped: a stopped machine says nothing of its wear.

Windows count samples, so a model is valid for the sample interval it was
trained at (recorded in its metadata).

>>> import numpy as np
>>> norm = RegimeNormaliser(sensors=("a",)).fit(np.array([[1.0], [3.0]]), np.empty((2, 0)))
>>> spec = FeatureSpec(sensors=("a",), windows=(2, 3), baseline=2)
>>> state = FeatureState(spec, norm)
>>> f = [state.update({"a": v}) for v in (2.0, 3.0, 4.0)]
>>> names = feature_names(spec)
>>> float(f[-1][names.index("a_z")]), float(f[-1][names.index("a_slope_3")])
(2.0, 1.0)
>>> state.update({"a": 9.0, "running": 0}) is None
True
"""

from __future__ import annotations

import warnings
from collections import deque
from dataclasses import asdict, dataclass

import numpy as np

DEFAULT_WINDOWS = (5, 15, 30)
RUN_SIGNAL = "running"  # the run state: 0 = stopped (contracts.signals holds the same name)


@dataclass(frozen=True)
class FeatureSpec:
    sensors: tuple[str, ...]
    settings: tuple[str, ...] = ()
    windows: tuple[int, ...] = DEFAULT_WINDOWS
    baseline: int = 10
    sample_interval: float = 1.0
    use_age: bool = True
    run_signal: str | None = RUN_SIGNAL

    def __post_init__(self) -> None:
        if not self.sensors:
            raise ValueError("a feature spec needs at least one sensor")
        if not self.windows or min(self.windows) < 2 or self.baseline < 1:
            raise ValueError("windows need at least 2 samples each, baseline at least 1")

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> FeatureSpec:
        return cls(sensors=tuple(d["sensors"]), settings=tuple(d.get("settings", ())),
                   windows=tuple(d["windows"]), baseline=int(d["baseline"]),
                   sample_interval=float(d["sample_interval"]), use_age=bool(d["use_age"]),
                   run_signal=d.get("run_signal"))


def feature_names(spec: FeatureSpec) -> list[str]:
    names = []
    for s in spec.sensors:
        names.append(f"{s}_z")
        for w in spec.windows:
            names += [f"{s}_mean_{w}", f"{s}_std_{w}", f"{s}_slope_{w}"]
        names.append(f"{s}_from_start")
    names += ["hi_departure", f"hi_slope_{max(spec.windows)}"]
    if spec.use_age:
        names.append("age")
    return names


class RegimeNormaliser:
    """Sensors as z-scores against their operating regime and settings.

    Regimes are clusters of the settings. Within each regime a sensor's expected
    value is a linear function of the settings (ridge, fitted on training rows), so a
    continuous setting such as load is taken out too; without settings it is the mean.
    The spread is that of the residuals.

    >>> rng = np.random.default_rng(0)
    >>> load = rng.uniform(0.5, 1.0, (500, 1))
    >>> S = 40 + 30 * load + rng.normal(0, 0.5, (500, 1))  # a current following the load
    >>> z = RegimeNormaliser(("current",), ("load",)).fit(S, load).transform(S, load)
    >>> float(np.std(z).round(1)), abs(float(np.corrcoef(z[:, 0], load[:, 0])[0, 1])) < 0.05
    (1.0, True)
    """

    def __init__(self, sensors: tuple[str, ...], settings: tuple[str, ...] = (),
                 max_regimes: int = 8, random_state: int = 0):
        self.sensors = sensors
        self.settings = settings
        self.max_regimes = max_regimes
        self.random_state = random_state

    def _design(self, C: np.ndarray, regime: np.ndarray) -> np.ndarray:
        """[1, settings relative to their regime's centre, in overall spreads]."""
        if C.shape[1] == 0:
            return np.ones((len(C), 1))
        centre = self.centers_[regime]
        C = np.where(np.isfinite(C), C, centre)
        return np.column_stack([np.ones(len(C)), (C - centre) / self.scale_])

    def fit(self, S: np.ndarray, C: np.ndarray) -> RegimeNormaliser:
        """``S``: rows x sensors; ``C``: rows x settings (may have 0 columns)."""
        self.centers_ = self._fit_regimes(C)
        regime = self.regime_of(C)
        A = self._design(C, regime)
        k, p, n = len(self.centers_), A.shape[1], S.shape[1]
        self.coef_ = np.zeros((k, p, n))
        self.std_ = np.ones((k, n))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN sensors of a kind
            overall_mean = np.nanmean(S, axis=0)
            overall_std = np.nanstd(S, axis=0)
        for r in range(k):
            in_r = regime == r
            for j in range(n):
                ok = in_r & np.isfinite(S[:, j])
                if ok.sum() < 2:
                    mean = overall_mean[j] if np.isfinite(overall_mean[j]) else 0.0
                    self.coef_[r, 0, j] = mean
                    sd = overall_std[j] if np.isfinite(overall_std[j]) else 1.0
                    self.std_[r, j] = max(sd, 1e-6 * abs(mean) + 1e-9)
                    continue
                a, y = A[ok], S[ok, j]
                ridge = 1e-3 * len(y) * np.eye(p)
                ridge[0, 0] = 0.0  # the mean is not shrunk
                coef = np.linalg.solve(a.T @ a + ridge, a.T @ y)
                resid = y - a @ coef
                self.coef_[r, :, j] = coef
                self.std_[r, j] = max(float(resid.std()), 1e-6 * abs(coef[0]) + 1e-9)
        return self

    def _fit_regimes(self, C: np.ndarray) -> np.ndarray:
        self.n_regimes_ = 1
        if C.shape[1] == 0:
            self.scale_ = np.ones(0)
            return np.zeros((1, 0))
        C = C[np.all(np.isfinite(C), axis=1)]
        self.scale_ = np.where(C.std(axis=0) > 0, C.std(axis=0), 1.0)
        Z = C / self.scale_
        rng = np.random.default_rng(self.random_state)
        sample = Z[rng.choice(len(Z), size=min(len(Z), 4000), replace=False)]
        from sklearn.cluster import KMeans
        from sklearn.metrics import silhouette_score

        best_k, best_score, best_centers = 1, 0.6, Z.mean(axis=0, keepdims=True)
        for k in range(2, self.max_regimes + 1):
            if len(np.unique(np.round(sample, 6), axis=0)) < k:
                break
            km = KMeans(n_clusters=k, n_init=3, random_state=self.random_state).fit(sample)
            score = silhouette_score(sample, km.labels_,
                                     sample_size=min(len(sample), 2000),
                                     random_state=self.random_state)
            if score > best_score + 0.02:
                best_k, best_score, best_centers = k, score, km.cluster_centers_
        self.n_regimes_ = best_k
        return best_centers * self.scale_

    def regime_of(self, C: np.ndarray) -> np.ndarray:
        if len(self.centers_) == 1:
            return np.zeros(len(C), dtype=int)
        C = np.where(np.isfinite(C), C, self.centers_.mean(axis=0))
        d = (((C[:, None, :] - self.centers_[None]) / self.scale_) ** 2).sum(axis=2)
        return np.argmin(d, axis=1)

    def transform(self, S: np.ndarray, C: np.ndarray) -> np.ndarray:
        r = self.regime_of(C)
        expected = np.einsum("ip,ipn->in", self._design(C, r), self.coef_[r])
        return (S - expected) / self.std_[r]


class FeatureState:
    """Streaming feature state of one unit: feed its samples in time order with ``update``."""

    def __init__(self, spec: FeatureSpec, normaliser: RegimeNormaliser):
        self.spec = spec
        self.normaliser = normaliser
        self._z: deque[np.ndarray] = deque(maxlen=max(spec.windows))
        self._hi: deque[float] = deque(maxlen=max(spec.windows))
        self._base_sum = np.zeros(len(spec.sensors))
        self._base_n = np.zeros(len(spec.sensors))
        self.seen = 0
        self.last_departure: np.ndarray | None = None

    def snapshot(self) -> dict:
        """What ``update`` has learnt so far (not the spec or normaliser): for ``restore``."""
        return {"z": list(self._z), "hi": list(self._hi), "base_sum": self._base_sum.copy(),
                "base_n": self._base_n.copy(), "seen": self.seen,
                "last_departure": self.last_departure}

    def restore(self, snap: dict) -> None:
        """Continue from a ``snapshot`` of a state made with the same spec and normaliser."""
        self._z.clear()
        self._z.extend(snap["z"])
        self._hi.clear()
        self._hi.extend(snap["hi"])
        self._base_sum = np.asarray(snap["base_sum"], dtype=float)
        self._base_n = np.asarray(snap["base_n"], dtype=float)
        self.seen = int(snap["seen"])
        self.last_departure = snap["last_departure"]

    def update(self, values: dict[str, float]) -> np.ndarray | None:
        """Add one sample; return its feature vector, or None if the machine is stopped."""
        s = self.spec
        run = values.get(s.run_signal) if s.run_signal else None
        if run is not None and run == 0:
            return None
        row = np.array([[values.get(n, np.nan) for n in s.sensors]], dtype=float)
        if not np.any(np.isfinite(row)):
            return None
        ctx = np.array([[values.get(n, np.nan) for n in s.settings]], dtype=float)
        z = self.normaliser.transform(row, ctx)[0]
        self._z.append(z)
        self.seen += 1
        if self.seen <= s.baseline:
            ok = np.isfinite(z)
            self._base_sum[ok] += z[ok]
            self._base_n[ok] += 1
        return self._features()

    def _features(self) -> np.ndarray:
        out, departure, hi = self._compute(np.array(self._z), self._base_sum)
        self.last_departure = departure
        self._hi.append(hi)
        return out

    def features_without(self, sensor: int) -> np.ndarray | None:
        """The latest feature vector as if ``sensor`` (its index in ``spec.sensors``) had
        never been read; None before the first sample. Changes nothing: for asking whether
        a score rests on one sensor alone."""
        if not self._z:
            return None
        Z = np.array(self._z)
        Z[:, sensor] = np.nan
        base_sum = self._base_sum.copy()
        base_sum[sensor] = np.nan
        return self._compute(Z, base_sum, past_hi=list(self._hi)[:-1])[0]

    def _compute(self, Z: np.ndarray, base_sum: np.ndarray, past_hi: list[float] | None = None
                 ) -> tuple[np.ndarray, np.ndarray, float]:
        s = self.spec
        stats = _window_stats(Z, s.windows)
        with np.errstate(invalid="ignore", divide="ignore"):
            base = base_sum / np.where(self._base_n > 0, self._base_n, np.nan)
        departure = stats[0][0] - base  # the shortest window's mean from the start
        out = np.column_stack([Z[-1], *(a for st in stats for a in st), departure]).ravel()
        finite = departure[np.isfinite(departure)]
        hi = float(np.sqrt(np.mean(finite**2))) if len(finite) else np.nan
        H = np.array([*(self._hi if past_hi is None else past_hi), hi])[:, None]
        extra = [hi, _window_stats(H, (len(H),))[0][2][0]]
        if s.use_age:
            extra.append(self.seen * s.sample_interval)
        return np.concatenate([out, extra]), departure, hi


def _window_stats(Z: np.ndarray, windows: tuple[int, ...]
                  ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per window (the last ``w`` rows of ``Z``): each column's mean, spread and
    least-squares slope per sample, over its finite values.

    The spread needs 2 values and the slope 3; short of that they are NaN. Sums over
    the last k rows are taken for every k at once, so all windows cost one pass.

    >>> [round(float(v[0]), 4) for v in _window_stats(np.array([[1.0], [2.0], [4.0]]), (3,))[0]]
    [2.3333, 1.2472, 1.5]
    """
    n = len(Z)
    F = np.isfinite(Z)
    Z0 = np.where(F, Z, 0.0)
    x = np.arange(n, dtype=float)[:, None] * F
    suffix = np.stack([F.astype(float), x, x * x, Z0, Z0 * Z0, x * Z0])[:, ::-1].cumsum(axis=1)
    out = []
    with np.errstate(invalid="ignore", divide="ignore"):
        for w in windows:
            c, sx, sxx, sy, syy, sxy = suffix[:, min(w, n) - 1]
            mean = np.where(c > 0, sy / c, np.nan)
            std = np.where(c >= 2, np.sqrt(np.maximum(syy / c - mean**2, 0.0)), np.nan)
            den = c * sxx - sx**2
            slope = np.where((c >= 3) & (den > 0), (c * sxy - sx * sy) / den, np.nan)
            out.append((mean, std, slope))
    return out


def unit_features(values: list[dict[str, float]], spec: FeatureSpec,
                  normaliser: RegimeNormaliser) -> tuple[np.ndarray, np.ndarray]:
    """Feature rows of one unit's history and the index of the row each belongs to."""
    state = FeatureState(spec, normaliser)
    rows, index = [], []
    for i, v in enumerate(values):
        f = state.update(v)
        if f is not None:
            rows.append(f)
            index.append(i)
    width = len(feature_names(spec))
    return (np.vstack(rows) if rows else np.empty((0, width))), np.array(index, dtype=int)
