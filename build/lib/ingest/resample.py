"""Live samples to the model's sample interval.

A model's windows count samples, so it must see samples at the interval it was trained
at. An agent may poll faster (every second, say, for a model trained on hourly data):
each asset's samples are then averaged into buckets of the model's interval before they
reach the features. Samples taken while the machine was stopped (run signal 0) are left
out of the means; a bucket with nothing but stopped samples is a stopped sample.

A bucket is complete when a sample arrives at least 90% of the interval after the
bucket's first one (the slack absorbs polling jitter), so it is scored one sample late.

>>> r = Resampler(bucket_s=10.0)
>>> [r.add(t, {"a": float(t), "running": 1.0}) for t in (0, 4, 8)]
[None, None, None]
>>> r.add(10, {"a": 10.0, "running": 1.0})
(8, {'a': 4.0, 'running': 1.0})
"""

from __future__ import annotations

import math

from contracts.signals import RUN_SIGNAL


class Resampler:
    def __init__(self, bucket_s: float, run_signal: str | None = RUN_SIGNAL):
        self.bucket_s = bucket_s
        self.run_signal = run_signal
        self._start: float | None = None
        self._last = 0.0
        self._sums: dict[str, float] = {}
        self._counts: dict[str, int] = {}
        self._running = 0

    def add(self, ts: float, values: dict[str, float]) -> tuple[float, dict[str, float]] | None:
        """Add one sample; return (time of its last sample, means) of a completed bucket."""
        out = None
        if self._start is not None and ts - self._start >= 0.9 * self.bucket_s:
            out = self._flush()
        if self._start is None:
            self._start = ts
        self._last = ts
        run = self.run_signal
        if run and run in values and values[run] == 0:
            return out
        self._running += 1
        for k, v in values.items():
            if k != run and math.isfinite(v):
                self._sums[k] = self._sums.get(k, 0.0) + v
                self._counts[k] = self._counts.get(k, 0) + 1
        return out

    def _flush(self) -> tuple[float, dict[str, float]]:
        means = {k: self._sums[k] / self._counts[k] for k in self._sums}
        if self.run_signal:
            means[self.run_signal] = 1.0 if self._running else 0.0
        out = (self._last, means)
        self._start, self._sums, self._counts = None, {}, {}
        self._running = 0
        return out
