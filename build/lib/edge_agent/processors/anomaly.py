"""Local anomaly detection: one protected EWMA z-score detector per asset and signal.

An alarm is reported when it starts, and again every ``realert_s`` while it lasts,
so a lasting fault does not flood the link. A stopped machine is not anomalous:
while the asset's run signal (``run_signal``, e.g. ``running``) reads 0, and for
``restart_settle_s`` after it starts again (warm-up), its samples are not scored
and do not teach the detectors. Counters and states (``skip_signals``) are never
scored.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.wire import Sample
from models.detectors import EwmaZScore, Threshold

from ..settings import DetectorSettings


@dataclass(frozen=True)
class Anomaly:
    asset: str
    signal: str
    value: float
    score: float
    threshold: float
    sample: Sample


class AnomalyProcessor:
    detector_name = "ewma_zscore"

    def __init__(self, settings: DetectorSettings):
        self.settings = settings
        self.skip = frozenset(settings.skip_signals)
        if settings.run_signal:
            self.skip |= {settings.run_signal}
        self._alarms: dict[tuple[str, str], Threshold] = {}
        self._last_alert: dict[tuple[str, str], float] = {}
        self._started_at: dict[str, float] = {}

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

    def process(self, sample: Sample) -> list[Anomaly]:
        if not self.settings.enabled:
            return []
        s = self.settings
        now = sample.ts.timestamp()
        if not self._settled(sample, now):
            return []
        found = []
        for signal, value in sample.values.items():
            if signal in self.skip:
                continue
            key = (sample.asset, signal)
            alarm = self._alarms.get(key)
            if alarm is None:
                alarm = self._alarms[key] = Threshold(
                    EwmaZScore(alpha=s.alpha, warmup=s.warmup), threshold=s.threshold)
            score, flagged = alarm.update({signal: value})
            if not flagged:
                self._last_alert.pop(key, None)
                continue
            last = self._last_alert.get(key)
            if last is None or now - last >= s.realert_s:
                self._last_alert[key] = now
                found.append(Anomaly(sample.asset, signal, value, score, s.threshold, sample))
        return found
