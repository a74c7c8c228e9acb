"""When a scored asset's health is reported to the service API, and when it gets an order.

A health score is posted at most every ``health_post_interval_s`` per asset (and right
before an order). While the model's alarm is on (``models.alarm``) and the asset has no
order yet, a preventive order is requested (``failure_mode = predicted_failure``,
priority ``high`` at risk >= 0.9, else ``medium``); the service API keeps one open order
per asset and failure mode, so asking again is harmless.
"""

from __future__ import annotations

import datetime as dt
import math

from contracts.api_bodies import PREDICTED_FAILURE, HealthCreate, WorkOrderCreate
from models.alarm import AlarmRule

from .asset_state import AssetState

HIGH_PRIORITY_RISK = 0.9


class OrderPolicy:
    def __init__(self, rule: AlarmRule, horizon: float, time_unit: str,
                 health_post_interval_s: float = 2.0):
        self.rule = rule
        self.horizon = horizon
        self.time_unit = time_unit
        self.health_post_interval_s = health_post_interval_s

    def order_due(self, a: AssetState) -> bool:
        return self.rule.active(a.streak) and a.order_id is None and not a.order_pending

    def health_due(self, a: AssetState, now: float) -> bool:
        return now - a.last_post >= self.health_post_interval_s

    def health_body(self, a: AssetState) -> HealthCreate:
        return HealthCreate(ts=dt.datetime.fromisoformat(a.last_ts), risk=a.risk, detail={
            "top_signal": a.top_signal, "top_z": round(a.top_z, 2),
            "rul": round(a.rul, 1) if math.isfinite(a.rul) else None,
            "rul_unit": self.time_unit})

    def order_body(self, asset: str, a: AssetState) -> WorkOrderCreate:
        priority = "high" if a.risk >= HIGH_PRIORITY_RISK else "medium"
        return WorkOrderCreate(
            asset_id=asset, type="preventive", priority=priority,
            failure_mode=PREDICTED_FAILURE, source="predictive",
            title=f"Predicted failure risk {a.risk:.0%} on {asset}",
            description=(
                f"Failure risk within {self.horizon:g} {self.time_unit} is {a.risk:.2f} for "
                f"{a.streak} consecutive scores (threshold {self.rule.threshold}). Most "
                f"deviating signal: {a.top_signal} at {a.top_z:+.1f} sd from where this "
                "asset started."),
            risk=round(a.risk, 4))
