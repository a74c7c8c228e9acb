"""Local anomaly detection: per signal, robust and drift detectors; per asset, one
multivariate detector over its signals (``edge_agent/detectors.py``).

Per asset and signal: ``ewma_zscore``, ``robust_z`` (median/MAD window), ``drift``
(CUSUM), ``rate_of_change``, ``stuck`` (exact repeats) and ``out_of_range`` (configured
limits); per asset ``multivariate_t2``. A value any detector flags is not learnt by any
of them (it would teach them the fault), unless its signal has been flagged
``adapt_after`` values in a row (a new normal level, learnt again).

An alarm is reported when it starts, and again every ``realert_s`` while it lasts, so a
lasting fault does not flood the link: one event per signal (the detector that flags it
most strongly, relative to its threshold) and one per asset for the multivariate
detector. Each names asset, signal(s), detector, score, threshold and the evidence
window (from ``window_start`` to the sample). A stopped
machine is not anomalous: while the asset's run signal (``run_signal``) reads 0, and for
``restart_settle_s`` after it starts again, its samples are neither scored nor learnt.
Counters and states (``skip_signals``) are never scored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from contracts.wire import Sample

from ..detectors import Drift, EwmaZScore, MultivariateT2, RateOfChange, RobustZ, Stuck
from ..settings import DetectorSettings


@dataclass(frozen=True)
class Anomaly:
    asset: str
    signal: str
    value: float
    score: float
    threshold: float
    sample: Sample
    detector: str = "ewma_zscore"
    signals: tuple[str, ...] = ()  # every signal the evidence points at (multivariate)
    window_start: datetime | None = None  # evidence from here to sample.ts

    @property
    def severity(self) -> float:
        return self.score / self.threshold


@dataclass(slots=True)
class _Watch:
    """One signal's detectors and the evidence they keep."""

    ewma: EwmaZScore | None
    robust: RobustZ | None
    drift: Drift | None
    rate: RateOfChange | None
    stuck: Stuck | None
    last_ts: datetime | None = None
    run_start: datetime | None = None  # first sample of the current exact repeat
    drift_start: datetime | None = None  # first sample since the CUSUM left zero
    flagged_in_a_row: int = 0
    top: float = 0.0  # the largest score / threshold of the last check, flagged or not
    hits: list[tuple[str, float, float, datetime | None]] = field(default_factory=list)


class AnomalyProcessor:
    def __init__(self, settings: DetectorSettings):
        self.settings = settings
        self.skip = frozenset(settings.skip_signals)
        if settings.run_signal:
            self.skip |= {settings.run_signal}
        self.kinds = frozenset(settings.detectors)
        self._watches: dict[tuple[str, str], _Watch] = {}
        self._multi: dict[str, MultivariateT2] = {}
        self._last_alert: dict[tuple[str, str], float] = {}  # (asset, signal or "*")
        self._started_at: dict[str, float] = {}
        self.last_severity = 0.0  # the largest score / threshold of the last sample

    def _settled(self, sample: Sample, now: float) -> bool:
        """False while the asset is stopped or still warming up after a start."""
        run = self.settings.run_signal
        if not run or run not in sample.values:
            return True
        if not sample.values[run]:
            self._started_at[sample.asset] = -1.0  # stopped: the next running sample starts
            return False
        started = self._started_at.get(sample.asset)
        if started is None:  # first sight of a running machine: assume it is warm
            self._started_at[sample.asset] = started = now - self.settings.restart_settle_s
        elif started < 0:
            self._started_at[sample.asset] = started = now
        return now - started >= self.settings.restart_settle_s

    def _watch(self) -> _Watch:
        s, k = self.settings, self.kinds
        return _Watch(
            ewma=EwmaZScore(alpha=s.alpha, warmup=s.warmup) if "ewma_zscore" in k else None,
            robust=RobustZ(window=s.robust_window, warmup=min(s.warmup, s.robust_window))
            if "robust_z" in k else None,
            drift=Drift(k=s.drift_k, warmup=s.warmup, alpha=s.drift_alpha)
            if "drift" in k else None,
            rate=RateOfChange(warmup=s.warmup) if "rate_of_change" in k else None,
            stuck=Stuck(min_run=s.stuck_samples, warmup=s.warmup) if "stuck" in k else None)

    def _check(self, w: _Watch, signal: str, v: float, ts: datetime) -> None:
        """Fill ``w.hits`` with (detector, score, threshold, window start) that flag, and
        ``w.top`` with the largest score / threshold (inlined: it runs per value)."""
        s = self.settings
        hits = w.hits
        hits.clear()
        top = 0.0
        if w.ewma is not None:
            z = w.ewma.score_one(v)
            if z > top * s.threshold:
                top = z / s.threshold
                if top >= 1.0:
                    hits.append(("ewma_zscore", z, s.threshold, ts))
        if w.robust is not None:
            z = w.robust.score_one(v)
            if z >= s.robust_threshold:
                hits.append(("robust_z", z, s.robust_threshold, ts))
            if z > top * s.robust_threshold:
                top = z / s.robust_threshold
        if w.drift is not None:
            z = w.drift.score_one(v)
            if z <= 0.0:
                w.drift_start = None
            else:
                if w.drift_start is None:
                    w.drift_start = ts
                if z >= s.drift_threshold:
                    hits.append(("drift", z, s.drift_threshold, w.drift_start))
                if z > top * s.drift_threshold:
                    top = z / s.drift_threshold
        if w.rate is not None:
            z = w.rate.score_one(v)
            if z >= s.rate_threshold:
                hits.append(("rate_of_change", z, s.rate_threshold, w.last_ts))
            if z > top * s.rate_threshold:
                top = z / s.rate_threshold
        if w.stuck is not None:
            if v != w.stuck.previous:
                w.run_start = ts
            elif w.run_start is None:
                w.run_start = w.last_ts
            z = w.stuck.score_one(v)
            if z >= 1.0:
                hits.append(("stuck", z, 1.0, w.run_start))
            if z > top:
                top = z
        if s.ranges:
            limits = s.ranges.get(signal)
            if limits is not None and "out_of_range" in self.kinds:
                low, high = limits
                if not low <= v <= high:
                    z = 1.0 + ((low - v) if v < low else (v - high)) / (high - low)
                    hits.append(("out_of_range", z, 1.0, ts))
                    top = max(top, z)
        w.top = top

    def _learn(self, w: _Watch, v: float, flagged: bool) -> None:
        if flagged and w.flagged_in_a_row < self.settings.adapt_after:
            if w.stuck is not None:
                w.stuck.follow(v)
            return
        if flagged and w.drift is not None:  # adapting to a new level: count drift anew
            w.drift.reset()
        # unrolled: no tuple per value, no bound methods kept per signal (5,000 signals)
        if w.ewma is not None:
            w.ewma.learn_one(v)
        if w.robust is not None:
            w.robust.learn_one(v)
        if w.drift is not None:
            w.drift.learn_one(v)
        if w.rate is not None:
            w.rate.learn_one(v)
        if w.stuck is not None:
            w.stuck.learn_one(v)

    def process(self, sample: Sample) -> list[Anomaly]:
        self.last_severity = 0.0
        if not self.settings.enabled:
            return []
        s = self.settings
        now = sample.ts.timestamp()
        if not self._settled(sample, now):
            return []
        found: list[Anomaly] = []
        scored: dict[str, float] = {}
        any_flag = False
        severity = 0.0
        for signal, value in sample.values.items():
            if signal in self.skip:
                continue
            v = float(value)
            scored[signal] = v
            key = (sample.asset, signal)
            w = self._watches.get(key)
            if w is None:
                w = self._watches[key] = self._watch()
            self._check(w, signal, v, sample.ts)
            flagged = bool(w.hits)
            w.flagged_in_a_row = w.flagged_in_a_row + 1 if flagged else 0
            any_flag |= flagged
            if w.top > severity:
                severity = w.top
            if flagged:  # one event per signal: the strongest detector, the widest window
                name, score, threshold, _ = max(w.hits, key=lambda h: h[1] / h[2])
                starts = [h[3] for h in w.hits if h[3] is not None]
                if self._due((sample.asset, signal), now):
                    found.append(Anomaly(sample.asset, signal, v, score, threshold, sample,
                                         name, (signal,), min(starts) if starts else None))
            else:
                self._last_alert.pop((sample.asset, signal), None)
            self._learn(w, v, flagged)
            w.last_ts = sample.ts
        if "multivariate_t2" in self.kinds and len(scored) >= 2:
            mv = self._multi.get(sample.asset)
            if mv is None:
                mv = self._multi[sample.asset] = MultivariateT2(
                    warmup=max(50, s.warmup), max_signals=s.multivariate_max_signals)
            t2 = mv.score_one(scored)
            severity = max(severity, t2 / s.multivariate_threshold)
            if t2 >= s.multivariate_threshold:
                top = tuple(name for name, _ in mv.contributions)
                if self._due((sample.asset, "*"), now):
                    found.append(Anomaly(sample.asset, top[0], scored[top[0]], t2,
                                         s.multivariate_threshold, sample, "multivariate_t2",
                                         top, sample.ts))
            else:
                self._last_alert.pop((sample.asset, "*"), None)
                if not any_flag:
                    mv.learn_one(scored)
        self.last_severity = severity
        return found

    def _due(self, key: tuple[str, str], now: float) -> bool:
        last = self._last_alert.get(key)
        if last is None or now - last >= self.settings.realert_s:
            self._last_alert[key] = now
            return True
        return False
