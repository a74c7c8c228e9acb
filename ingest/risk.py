"""Per-asset features -> failure risk -> preventive work orders.

Features come from ``models.features`` (the same code that built the training set),
fed at the model's sample interval (``ingest.resample`` averages faster polling into
it); scores are computed in one batch per ingest cycle. An asset whose risk stays at or
above the threshold for ``consecutive`` scores gets a preventive work order; the
API keeps one open order per asset and failure mode, so asking again is harmless.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field

import numpy as np

from edge_agent.wire import Sample
from models.features import FeatureState
from models.io import PdmModel

from .api_client import ApiClient, ApiError
from .resample import Resampler
from .settings import RiskSettings

log = logging.getLogger(__name__)
FAILURE_MODE = "predicted_failure"


@dataclass
class AssetRisk:
    state: FeatureState
    resampler: Resampler | None = None
    risk: float = 0.0
    streak: int = 0
    scored: int = 0
    last_ts: str = ""
    last_post: float = 0.0
    top_signal: str = ""
    top_z: float = 0.0
    rul: float = float("nan")
    order_id: int | None = None


@dataclass
class OpenedOrder:
    asset: str
    id: int
    priority: str
    risk: float
    opened_at: float


@dataclass
class RiskTracker:
    model: PdmModel
    api: ApiClient | None
    threshold: float
    consecutive: int
    health_post_interval_s: float = 2.0
    time_scale: float = 1.0  # simulated seconds per wall second (simulated fleets)
    resample: bool = True
    assets: dict[str, AssetRisk] = field(default_factory=dict)
    opened: list[OpenedOrder] = field(default_factory=list)
    api_errors: int = 0

    @classmethod
    def from_settings(cls, model: PdmModel, api: ApiClient | None, s: RiskSettings
                      ) -> RiskTracker:
        """The tracker an ingester config asks for; unset values come from the model."""
        return cls(model, api, threshold=s.threshold or model.threshold,
                   consecutive=s.consecutive or model.consecutive,
                   health_post_interval_s=s.health_post_interval_s,
                   time_scale=s.time_scale, resample=s.resample)

    @property
    def bucket_s(self) -> float:
        """Wall seconds per model sample; 0 when the model counts cycles (no resampling)."""
        if not self.resample or self.model.time_unit != "h":
            return 0.0
        return self.model.spec.sample_interval * 3600.0 / self.time_scale

    def observe(self, samples: list[Sample]) -> None:
        rows, owners = [], []
        for s in samples:
            a = self.assets.get(s.asset)
            if a is None:
                bucket = self.bucket_s
                a = self.assets[s.asset] = AssetRisk(
                    self.model.new_state(),
                    Resampler(bucket, self.model.spec.run_signal) if bucket else None)
            ts, values = s.ts.isoformat(), s.values
            if a.resampler is not None:
                done = a.resampler.add(s.ts.timestamp(), s.values)
                if done is None:
                    continue
                ts = dt.datetime.fromtimestamp(done[0], dt.UTC).isoformat()
                values = done[1]
            f = a.state.update(values)
            if f is not None:  # None: the machine is stopped
                rows.append(f)
                owners.append((s.asset, ts, a.state.last_departure))
        if not rows:
            return
        X = np.vstack(rows)
        risks = self.model.predict_risk(X)
        ruls = self.model.predict_rul(X)
        names = self.model.spec.sensors
        for (asset, ts, departure), risk, rul in zip(owners, risks, ruls, strict=True):
            a = self.assets[asset]
            a.risk, a.rul, a.last_ts, a.scored = float(risk), float(rul), ts, a.scored + 1
            a.streak = a.streak + 1 if risk >= self.threshold else 0
            dev = np.where(np.isfinite(departure), np.abs(departure), -1.0)
            top = int(np.argmax(dev))
            a.top_signal, a.top_z = names[top], float(departure[top])
        for asset in {o[0] for o in owners}:
            self._act(asset, self.assets[asset])

    def _act(self, asset: str, a: AssetRisk) -> None:
        if self.api is None:
            return
        now = time.monotonic()
        due_order = a.streak >= self.consecutive and a.order_id is None
        if due_order or now - a.last_post >= self.health_post_interval_s:
            try:
                self.api.post_health(asset, a.last_ts, a.risk, {
                    "top_signal": a.top_signal, "top_z": round(a.top_z, 2),
                    "rul": round(a.rul, 1) if np.isfinite(a.rul) else None,
                    "rul_unit": self.model.time_unit})
                a.last_post = now
            except ApiError as exc:
                self.api_errors += 1
                log.warning("health score for %s not posted: %s", asset, exc)
        if due_order:
            self._open_order(asset, a)

    def _open_order(self, asset: str, a: AssetRisk) -> None:
        priority = "high" if a.risk >= 0.9 else "medium"
        order = {
            "asset_id": asset, "type": "preventive", "priority": priority,
            "failure_mode": FAILURE_MODE, "source": "predictive",
            "title": f"Predicted failure risk {a.risk:.0%} on {asset}",
            "description": (
                f"Failure risk within {self.model.horizon:g} {self.model.time_unit} is "
                f"{a.risk:.2f} for {a.streak} consecutive scores (threshold {self.threshold}). "
                f"Most deviating signal: {a.top_signal} at {a.top_z:+.1f} sd from where this "
                "asset started."),
            "risk": round(a.risk, 4),
        }
        try:
            created = self.api.open_work_order(order)  # type: ignore[union-attr]
        except ApiError as exc:
            self.api_errors += 1
            log.warning("work order for %s not opened yet (will retry): %s", asset, exc)
            return
        a.order_id = created["id"]
        self.opened.append(OpenedOrder(asset, created["id"], priority, a.risk, time.time()))
        log.warning("preventive work order #%s opened for %s (risk %.2f, %s)",
                    created["id"], asset, a.risk, priority)
