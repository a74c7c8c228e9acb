"""Streaming anomaly detectors with river's ``learn_one`` / ``score_one`` shape.

The univariate ones watch one signal and take a float; ``MultivariateT2`` watches an
asset's signals together and takes a dict. ``score_one`` never learns; the caller learns
a value only when no detector flagged it, so a fault is not absorbed into "normal". Each
scores 0.0 while warming up. Every score is compared with the detector's own threshold.

>>> d = EwmaZScore(alpha=0.5, warmup=3)
>>> for v in [10.0, 10.2, 9.8, 10.1]:
...     d.learn_one(v)
>>> d.score_one(10.0) < 2.0, d.score_one(20.0) > 5.0
(True, True)
>>> r = RobustZ(window=9, warmup=5)
>>> for v in [10.0, 10.2, 9.8, 10.1, 9.9, 10.0, 30.0]:  # one outlier in the window
...     r.learn_one(v)
>>> r.score_one(10.05) < 1.0, r.score_one(11.5) > 8.0
(True, True)
>>> s = Stuck(min_run=4, warmup=5)
>>> for v in [1.0, 1.1, 1.3, 1.2, 1.25]:
...     s.learn_one(v)
>>> scores = []
>>> for v in (2.0, 2.0, 2.0, 2.0):  # runs of 1, 2, 3, 4 against at least 4
...     scores.append(s.score_one(v))
...     s.learn_one(v)
>>> scores
[0.0, 0.5, 0.75, 1.0]
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, insort
from itertools import chain
from operator import mul


class EwmaZScore:
    """|z| of a value against an exponentially weighted mean and variance."""

    __slots__ = ("alpha", "warmup", "min_std", "mean", "var", "std", "n")

    def __init__(self, alpha: float = 0.05, warmup: int = 20, min_std: float = 1e-6):
        self.alpha = alpha
        self.warmup = warmup
        self.min_std = min_std
        self.mean = 0.0
        self.var = 0.0
        self.std = min_std  # sqrt(var), floored; kept with each learn (scores are hot)
        self.n = 0

    def learn_one(self, v: float) -> None:
        if self.n == 0:
            self.mean, self.var = v, 0.0
        else:
            # Before the window has filled, use the running (1/n) average instead.
            w = 1.0 / (self.n + 1)
            if w < self.alpha:
                w = self.alpha
            diff = v - self.mean
            self.mean += w * diff
            self.var = (1 - w) * (self.var + w * diff * diff)
        self.std = _floor(math.sqrt(self.var), self.min_std, self.mean)
        self.n += 1

    def score_one(self, v: float) -> float:
        if self.n < self.warmup:
            return 0.0
        return abs(v - self.mean) / self.std


def _floor(std: float, min_std: float, level: float, share: float = 1e-3) -> float:
    """A spread never below ``min_std`` nor ``share`` of the level (a flat signal's z)."""
    low = share * (level if level >= 0 else -level)
    if low < min_std:
        low = min_std
    return std if std > low else low


FLOAT32_MAX = 3.4028234663852886e38


class RobustZ:
    """|v - median| / (1.4826 MAD) over the last ``window`` learnt values: an outlier in
    the window moves neither, unlike a mean and a standard deviation.

    The window is kept as packed single-precision floats (4 bytes a value, not a float
    object each): a gateway holds one per signal, 5,000 for 100 devices of 50 registers.
    Their 7 significant digits are far finer than the spread's floor (a thousandth of the
    level), so the scores do not move; values beyond float32's range are clamped to it."""

    __slots__ = ("window", "warmup", "min_scale", "_ring", "_head", "_sorted", "_stale",
                 "_every", "_warm", "median", "mad_scale", "scale")

    def __init__(self, window: int = 60, warmup: int = 20, min_scale: float = 1e-9):
        self.window = window
        self.warmup = warmup
        self.min_scale = min_scale
        self._ring = array("f")  # the window in arrival order, from _head on once full
        self._head = 0
        self._sorted = array("f")
        self._stale = 0
        self._every = max(1, window // 4)  # learnt values between two fresh MADs
        self._warm = False  # warm-up over: scores, so the MAD is kept fresh
        self.median = 0.0
        self.mad_scale = 0.0
        self.scale = min_scale

    def learn_one(self, v: float) -> None:
        if not -FLOAT32_MAX <= v <= FLOAT32_MAX:  # also NaN
            v = FLOAT32_MAX if not v < 0 else -FLOAT32_MAX
        ring = self._ring
        if len(ring) < self.window:
            ring.append(v)
        else:
            old = ring[self._head]
            ring[self._head] = v
            self._head = (self._head + 1) % self.window
            del self._sorted[bisect_left(self._sorted, old)]
        insort(self._sorted, v)
        n = len(self._sorted)
        self.median = self._sorted[n // 2] if n % 2 else (
            self._sorted[n // 2 - 1] + self._sorted[n // 2]) / 2
        self._stale += 1
        # nothing is scored before the warm-up ends: the MAD is first needed then
        if self._warm:
            if self._stale >= self._every:
                self._refresh()
            else:
                self.scale = _floor(self.mad_scale, self.min_scale, self.median)
        elif n >= self.warmup:
            self._warm = True
            self._refresh()

    def _refresh(self) -> None:
        """The MAD of the window now (it is refreshed every few values, and before any
        value that looks like an outlier is scored)."""
        self._stale = 0
        med, n = self.median, len(self._sorted)
        dev = sorted([x - med if x >= med else med - x for x in self._sorted])
        self.mad_scale = 1.4826 * dev[n // 2]
        self.scale = _floor(self.mad_scale, self.min_scale, self.median)

    def score_one(self, v: float) -> float:
        if len(self._sorted) < self.warmup:
            return 0.0
        d = v - self.median
        z = (d if d >= 0 else -d) / self.scale
        if z >= 3.0 and self._stale:  # looks like an outlier: judge it on a fresh MAD
            self._refresh()
            z = (d if d >= 0 else -d) / self.scale
        return z


class Drift:
    """Two-sided CUSUM of the value's z against a baseline: a drift that no single value
    betrays adds up. ``k`` is the slack per value, in baseline sigmas.

    The baseline mean follows learnt values with ``alpha`` (slower than a fault drifts,
    faster than wear); its sigma is learnt ten times slower. So it catches a sensor that
    drifts by about a sigma or more per value, and leaves slower trends (wear) to the
    risk model: a baseline that stood still would flag every worn machine.
    """

    __slots__ = ("k", "warmup", "alpha", "min_std", "mean", "var", "std", "n", "up", "down")

    def __init__(self, k: float = 2.0, warmup: int = 20, alpha: float = 0.03,
                 min_std: float = 1e-6):
        self.k = k
        self.warmup = warmup
        self.alpha = alpha
        self.min_std = min_std
        self.mean = 0.0
        self.var = 0.0
        self.std = min_std
        self.n = 0
        self.up = 0.0
        self.down = 0.0

    def _z(self, v: float) -> float:
        return (v - self.mean) / self.std

    def learn_one(self, v: float) -> None:
        if self.n >= self.warmup:
            z = (v - self.mean) / self.std
            up = self.up + z - self.k
            self.up = up if up > 0.0 else 0.0
            down = self.down - z - self.k
            self.down = down if down > 0.0 else 0.0
        if self.n == 0:
            self.mean = v
        else:
            first = 1.0 / (self.n + 1)
            w = first if first > self.alpha else self.alpha
            w_var = first if first > self.alpha / 10 else self.alpha / 10
            diff = v - self.mean
            self.var = (1 - w_var) * (self.var + w_var * diff * diff)
            self.mean += w * diff
        self.std = _floor(math.sqrt(self.var), self.min_std, self.mean)
        self.n += 1

    def score_one(self, v: float) -> float:
        if self.n < self.warmup:
            return 0.0
        z = (v - self.mean) / self.std
        up = self.up + z - self.k
        down = self.down - z - self.k
        worst = up if up > down else down
        return worst if worst > 0.0 else 0.0

    def reset(self) -> None:
        """A new normal level: learn the baseline again from the next value."""
        self.up = self.down = 0.0
        self.n = 0
        self.var = 0.0
        self.std = self.min_std


class RateOfChange:
    """|change from the previous value| against the typical change (EWMA of |change|)."""

    __slots__ = ("alpha", "warmup", "min_step", "previous", "typical", "n")

    def __init__(self, alpha: float = 0.05, warmup: int = 20, min_step: float = 1e-9):
        self.alpha = alpha
        self.warmup = warmup
        self.min_step = min_step
        self.previous: float | None = None
        self.typical = 0.0
        self.n = 0

    def learn_one(self, v: float) -> None:
        if self.previous is not None:
            step = v - self.previous
            if step < 0:
                step = -step
            w = 1.0 / (self.n + 1)
            if w < self.alpha:
                w = self.alpha
            self.typical += w * (step - self.typical)
            self.n += 1
        self.previous = v

    def score_one(self, v: float) -> float:
        if self.previous is None or self.n < self.warmup:
            return 0.0
        # mean |change| of Gaussian noise is 0.8 sigma: this reads as a z of the change
        typical = _floor(self.typical * 1.25, self.min_step, self.previous, share=1e-4)
        d = v - self.previous
        return (d if d >= 0 else -d) / typical


class Stuck:
    """A value repeated exactly, longer than the signal was ever seen to repeat.

    The score is the run length over the longest run that may pass as normal:
    ``max(min_run, 3 x the longest run seen while learning)``; 1.0 flags. A signal never
    seen to change (a constant register) is never flagged.
    """

    __slots__ = ("min_run", "warmup", "previous", "run", "longest", "changed", "n")

    def __init__(self, min_run: int = 6, warmup: int = 20):
        self.min_run = min_run
        self.warmup = warmup
        self.previous: float | None = None
        self.run = 1
        self.longest = 1
        self.changed = False
        self.n = 0

    def learn_one(self, v: float) -> None:
        if self.previous is not None and v == self.previous:
            self.run += 1
        else:  # a run ended normally: one the signal may repeat
            if self.previous is not None:
                self.changed = True
                if self.run > self.longest:
                    self.longest = self.run
            self.run = 1
        self.previous = v
        self.n += 1

    def score_one(self, v: float) -> float:
        if self.n < self.warmup or not self.changed or v != self.previous:
            return 0.0
        normal = 3 * self.longest
        return (self.run + 1) / (normal if normal > self.min_run else self.min_run)

    def follow(self, v: float) -> None:
        """Count a value that was not learnt (flagged): the run goes on being counted, and
        when it ends it does not teach what a normal run is."""
        if v == self.previous:
            self.run += 1
        else:
            self.run = 1
        self.previous = v


class MultivariateT2:
    """Hotelling's T² of an asset's signals against their learnt mean and covariance,
    as a z-like score (Wilson-Hilferty), so one threshold fits any number of signals.

    It sees what no single signal shows: values each normal on their own, off together
    (a current that no longer matches the vibration). Signals are standardised by their
    running mean and variance; the covariance of the standardised vector is learnt with
    ``alpha`` and inverted (with a small ridge) every ``refresh`` learnt samples. At most
    ``max_signals`` signals take part (the first seen), to bound the cost, d² per sample.
    ``contributions`` names the signals that weigh most in the last score.
    """

    def __init__(self, alpha: float = 0.01, warmup: int = 50, refresh: int = 50,
                 max_signals: int = 16, ridge: float = 0.01):
        self.alpha = alpha
        self.warmup = warmup
        self.refresh = refresh
        self.max_signals = max_signals
        self.ridge = ridge
        self.names: list[str] = []
        self.stats: list[EwmaZScore] = []
        self.cov = array("d")  # lower triangle by rows: (i, j <= i) at i(i+1)/2 + j
        self.inverse: array | None = None  # d x d, by rows: (i, j) at i d + j
        self.n = 0
        self._last: tuple[list[float], list[float]] = ([], [])

    @property
    def contributions(self) -> list[tuple[str, float]]:
        """The (at most three) signals weighing most in the last score, strongest first."""
        z, pz = self._last
        parts = zip(self.names, [a * b for a, b in zip(z, pz, strict=True)], strict=False)
        return sorted(parts, key=lambda p: -p[1])[:3]

    def _z(self, x: dict[str, float]) -> list[float] | None:
        out = []
        for name, st in zip(self.names, self.stats, strict=True):
            v = x.get(name)
            if v is None:
                return None
            out.append((v - st.mean) / st.std)
        return out

    def learn_one(self, x: dict[str, float]) -> None:
        if not self.names:
            self.names = sorted(x)[: self.max_signals]
            self.stats = [EwmaZScore(alpha=self.alpha, warmup=1) for _ in self.names]
            d = len(self.names)
            self.cov = array("d", [float(i == j) for i in range(d) for j in range(i + 1)])
        if self.n >= 2:
            z = self._z(x)
            if z is None:
                return
            w = max(self.alpha, 1.0 / self.n)
            cov, k = self.cov, 0
            for i, zi in enumerate(z):
                for j in range(i + 1):
                    cov[k] += w * (zi * z[j] - cov[k])
                    k += 1
        for name, st in zip(self.names, self.stats, strict=True):
            v = x.get(name)
            if v is not None:
                st.learn_one(v)
        self.n += 1
        if self.n >= self.warmup and (self.inverse is None or self.n % self.refresh == 0):
            d, k = len(self.names), 0
            full = [[0.0] * d for _ in range(d)]
            for i in range(d):
                for j in range(i + 1):
                    full[i][j] = full[j][i] = self.cov[k]
                    k += 1
                full[i][i] += self.ridge
            inverse = _inverse(full)
            # packed (8 bytes a number, not a float object each): one per asset
            self.inverse = None if inverse is None else array("d", chain.from_iterable(inverse))

    def score_one(self, x: dict[str, float]) -> float:
        if self.inverse is None or len(self.names) < 2:
            return 0.0
        z = self._z(x)
        if z is None:
            return 0.0
        inverse, d = self.inverse, len(z)
        pz = [sum(map(mul, inverse[i:i + d], z)) for i in range(0, d * d, d)]
        self._last = (z, pz)
        t2 = max(0.0, sum(map(mul, z, pz)))
        c = 2.0 / (9.0 * d)
        return max(0.0, ((t2 / d) ** (1.0 / 3.0) - (1.0 - c)) / math.sqrt(c))


def _inverse(m: list[list[float]]) -> list[list[float]] | None:
    """Gauss-Jordan inverse with partial pivoting; None if singular."""
    n = len(m)
    a = [row[:] + [float(i == j) for j in range(n)] for i, row in enumerate(m)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        if abs(a[pivot][col]) < 1e-12:
            return None
        a[col], a[pivot] = a[pivot], a[col]
        p = a[col][col]
        a[col] = [v / p for v in a[col]]
        for r in range(n):
            if r != col and a[r][col]:
                f = a[r][col]
                a[r] = [v - f * w for v, w in zip(a[r], a[col], strict=True)]
    return [row[n:] for row in a]
