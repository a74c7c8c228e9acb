"""Local anomaly detection: one protected EWMA z-score detector per asset and signal.

An alarm is reported when it starts, and again every ``realert_s`` while it lasts,
so a lasting fault does not flood the link.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.detectors import EwmaZScore, Threshold

from ..settings import DetectorSettings
from ..wire import Sample


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

    def __init__(self, settings: DetectorSettings, skip: frozenset[str] = frozenset()):
        self.settings = settings
        self.skip = skip
        self._alarms: dict[tuple[str, str], Threshold] = {}
        self._last_alert: dict[tuple[str, str], float] = {}

    def process(self, sample: Sample) -> list[Anomaly]:
        if not self.settings.enabled:
            return []
        s = self.settings
        now = sample.ts.timestamp()
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
