"""Live samples -> per-asset features -> failure risk and remaining life, in batches.

Features come from ``models.features`` (the same code that built the training set),
fed at the model's sample interval (``ingest.resample`` averages faster polling into
it); all assets scored in one ingest cycle go through the model in one batch. Each
score steps the asset's alarm streak by the model's rule (``models.alarm``).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from contracts.wire import Sample
from models.alarm import AlarmRule
from models.io import PdmModel

from .asset_state import AssetState
from .order_policy import OrderTrigger
from .records import Score
from .resample import Resampler


class RiskScorer:
    def __init__(self, model: PdmModel, rule: AlarmRule, bucket_s: float,
                 trigger: OrderTrigger | None = None):
        self.model = model
        self.rule = rule
        self.trigger = trigger
        self.bucket_s = bucket_s  # wall seconds per model sample; 0: no resampling
        self.assets: dict[str, AssetState] = {}

    def _asset(self, asset: str) -> AssetState:
        a = self.assets.get(asset)
        if a is None:
            bucket = self.bucket_s
            a = self.assets[asset] = AssetState(
                self.model.new_state(),
                Resampler(bucket, self.model.spec.run_signal) if bucket else None)
        return a

    def snapshot(self, assets: set[str]) -> dict[str, dict]:
        return {a: self.assets[a].snapshot() for a in assets if a in self.assets}

    def risk_without_top(self, asset: str) -> float | None:
        """The asset's latest risk re-scored as if its most deviating sensor were absent."""
        a = self.assets[asset]
        names = list(self.model.spec.sensors)
        if a.top_signal not in names:
            return None
        X = a.features.features_without(names.index(a.top_signal))
        return None if X is None else float(self.model.predict_risk(X)[0])

    def restore(self, snaps: dict[str, dict]) -> None:
        for asset, snap in snaps.items():
            self._asset(asset).restore(snap)

    def observe(self, samples: list[Sample]) -> list[Score]:
        """Score what these samples complete; return the scores, in sample order."""
        rows, owners = [], []
        for s in samples:
            a = self._asset(s.asset)
            ts, values = s.ts.isoformat(), s.values
            if a.resampler is not None:
                done = a.resampler.add(s.ts.timestamp(), s.values)
                if done is None:
                    continue
                ts = dt.datetime.fromtimestamp(done[0], dt.UTC).isoformat()
                values = done[1]
            f = a.features.update(values)
            if f is not None:  # None: the machine is stopped
                rows.append(f)
                owners.append((s.asset, ts, a.features.last_departure))
        if not rows:
            return []
        X = np.vstack(rows)
        risks = self.model.predict_risk(X)
        ruls = self.model.predict_rul(X)
        names = self.model.spec.sensors
        scores = []
        for (asset, ts, departure), risk, rul in zip(owners, risks, ruls, strict=True):
            a = self.assets[asset]
            a.risk, a.rul, a.last_ts, a.scored = float(risk), float(rul), ts, a.scored + 1
            a.streak = self.rule.step(a.streak, a.risk)
            if self.trigger is not None:
                a.alarm = self.trigger.step(a.recent, a.alarm, a.risk)
            dev = np.where(np.isfinite(departure), np.abs(departure), -1.0)
            top = int(np.argmax(dev))
            a.top_signal, a.top_z = names[top], float(departure[top])
            scores.append(Score(asset, ts, a.risk, a.rul))
        return scores
