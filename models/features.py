"""Per-asset features: the one implementation used in training and in live scoring.

An asset's first ``baseline`` samples define its own normal (mean and spread of each
signal); every later sample yields, per signal, how far the last ``window`` samples
sit from that normal: the window mean and max as z-scores, the trend (window mean
minus the previous window's mean, in z units) and the window spread relative to the
baseline spread. Normalising per asset makes one model serve units with different
operating points. With a window of one day, the trend compares whole days, so the
daily load cycle cancels out of it (a least-squares slope over one window did not,
and taught the model to mistake the afternoon load rise for wear).

Windows count samples, so a model is valid for the sample interval it was trained at
(recorded in its metadata as ``sample_interval_h``).

>>> spec = FeatureSpec(signals=("a",), window=2, baseline=4)
>>> state = FeatureState(spec)
>>> [state.update({"a": v}) is None for v in [1.0, 1.2, 0.8, 1.0, 1.1]]
[True, True, True, True, False]
>>> names = feature_names(spec)
>>> names[:2]
['a_mean_z', 'a_max_z']
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass

import numpy as np

DEFAULT_SIGNALS = ("vibration_rms", "bearing_temp", "motor_current")
_STATS = ("mean_z", "max_z", "trend_z", "std_ratio")


@dataclass(frozen=True)
class FeatureSpec:
    signals: tuple[str, ...] = DEFAULT_SIGNALS
    window: int = 24
    baseline: int = 48

    def __post_init__(self) -> None:
        if self.baseline < 2 or self.window < 2:
            raise ValueError("window and baseline need at least 2 samples each")

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> FeatureSpec:
        return cls(signals=tuple(d["signals"]), window=int(d["window"]),
                   baseline=int(d["baseline"]))


def feature_names(spec: FeatureSpec) -> list[str]:
    return [f"{s}_{stat}" for s in spec.signals for stat in _STATS]


class FeatureState:
    """Streaming feature state of one asset: feed samples in time order with ``update``."""

    def __init__(self, spec: FeatureSpec):
        self.spec = spec
        self._base: list[np.ndarray] = []
        self._mean: np.ndarray | None = None
        self._std: np.ndarray | None = None
        # The last two windows: the current one and the one before it, for the trend.
        self._window: deque[np.ndarray] = deque(maxlen=2 * spec.window)

    def update(self, values: dict[str, float]) -> np.ndarray | None:
        """Add one sample; return the feature vector once baseline and window are full.

        Samples missing any of the spec's signals are skipped (None).
        """
        try:
            row = np.array([values[s] for s in self.spec.signals], dtype=float)
        except KeyError:
            return None
        if not np.all(np.isfinite(row)):
            return None
        self._window.append(row)
        if self._mean is None:
            self._base.append(row)
            if len(self._base) == self.spec.baseline:
                base = np.vstack(self._base)
                self._mean = base.mean(axis=0)
                # Floor the spread so a very quiet sensor does not blow up the z-scores.
                self._std = np.maximum(base.std(axis=0), 0.01 * np.abs(self._mean) + 1e-9)
                self._base = []
            return None
        if len(self._window) < 2 * self.spec.window:
            return None
        return self._features(np.vstack(self._window))

    def _features(self, both: np.ndarray) -> np.ndarray:
        w = both[self.spec.window :]
        z = (both - self._mean) / self._std
        now, before = z[self.spec.window :], z[: self.spec.window]
        mean_z = now.mean(axis=0)
        max_z = now.max(axis=0)
        trend_z = mean_z - before.mean(axis=0)
        std_ratio = w.std(axis=0) / self._std
        return np.column_stack([mean_z, max_z, trend_z, std_ratio]).ravel()
