"""Streaming anomaly detectors with river's ``learn_one`` / ``score_one`` shape.

>>> d = EwmaZScore(alpha=0.5, warmup=3)
>>> for v in [10.0, 10.2, 9.8, 10.1]:
...     d.learn_one({"x": v})
>>> d.score_one({"x": 10.0}) < 2.0, d.score_one({"x": 20.0}) > 5.0
(True, True)
>>> t = Threshold(EwmaZScore(alpha=0.5, warmup=3), threshold=5.0)
>>> [t.update({"x": v})[1] for v in [10.0, 10.2, 9.8, 10.1, 30.0]]
[False, False, False, False, True]
"""

from __future__ import annotations

import math


class EwmaZScore:
    """Absolute z-score of each sample against an exponentially weighted mean and variance.

    ``score_one`` returns the largest |z| over the sample's features (0.0 while warming up).
    """

    def __init__(self, alpha: float = 0.05, warmup: int = 20, min_std: float = 1e-6):
        self.alpha = alpha
        self.warmup = warmup
        self.min_std = min_std
        self._mean: dict[str, float] = {}
        self._var: dict[str, float] = {}
        self._n: dict[str, int] = {}

    def learn_one(self, x: dict[str, float]) -> None:
        a = self.alpha
        for k, v in x.items():
            n = self._n.get(k, 0)
            if n == 0:
                self._mean[k], self._var[k] = v, 0.0
            else:
                # Before the window has filled, use the running (1/n) average instead.
                w = max(a, 1.0 / (n + 1))
                diff = v - self._mean[k]
                self._mean[k] += w * diff
                self._var[k] = (1 - w) * (self._var[k] + w * diff * diff)
            self._n[k] = n + 1

    def score_one(self, x: dict[str, float]) -> float:
        worst = 0.0
        for k, v in x.items():
            if self._n.get(k, 0) < self.warmup:
                continue
            std = max(math.sqrt(self._var[k]), self.min_std, 1e-3 * abs(self._mean[k]))
            worst = max(worst, abs(v - self._mean[k]) / std)
        return worst


class Threshold:
    """Flags a sample whose score reaches ``threshold``; with ``protect`` it is not learned,
    so a fault is not slowly absorbed into "normal"."""

    def __init__(self, detector: EwmaZScore, threshold: float = 6.0, protect: bool = True):
        self.detector = detector
        self.threshold = threshold
        self.protect = protect

    def update(self, x: dict[str, float]) -> tuple[float, bool]:
        """Score, then learn (unless protected); return (score, alarm)."""
        score = self.detector.score_one(x)
        alarm = score >= self.threshold
        if not (alarm and self.protect):
            self.detector.learn_one(x)
        return score, alarm
