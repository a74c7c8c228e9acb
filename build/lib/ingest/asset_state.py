"""What the ingester keeps per asset between samples.

Its feature windows (``models.features.FeatureState``), the bucket being averaged to the
model's interval, the alarm streak, the latest score, and where its work order stands.
``snapshot``/``restore`` carry it across a restart (``ingest/state_file.py``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields

from models.features import FeatureState

from .resample import Resampler


@dataclass
class AssetState:
    features: FeatureState
    resampler: Resampler | None = None
    # the latest score
    risk: float = 0.0
    rul: float = float("nan")
    last_ts: str = ""
    top_signal: str = ""
    top_z: float = 0.0
    scored: int = 0
    # the alarm rule's run of scores at or above the threshold (models.alarm)
    streak: int = 0
    # the order trigger's last n scores and state (ingest.order_policy.OrderTrigger)
    recent: list[float] = field(default_factory=list)
    alarm: bool = False
    # the service API's side
    last_post: float = 0.0  # monotonic time the last health score was queued
    order_pending: bool = False  # an order request is queued or in flight
    order_id: int | None = None  # the order the service API last answered with
    reported: bool = False  # this alarm episode has been reported to the API
    order_risk: float = 0.0  # the risk last reported on it

    def snapshot(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self)
               if f.name not in ("features", "resampler", "order_pending", "last_post")}
        out["features"] = self.features.snapshot()
        out["resampler"] = copy.copy(self.resampler.__dict__) if self.resampler else None
        return out

    def restore(self, snap: dict) -> None:
        """Continue from a ``snapshot``; an order request in flight then is forgotten (the
        service API keeps one open order per asset and failure mode: asking again is safe)."""
        self.features.restore(snap["features"])
        if self.resampler is not None and snap["resampler"] is not None:
            self.resampler.__dict__.update(snap["resampler"])
        for key, value in snap.items():
            if key not in ("features", "resampler"):
                setattr(self, key, value)
