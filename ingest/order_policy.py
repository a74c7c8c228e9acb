"""When a scored asset's health is reported to the service API, and when it gets an order.

A health score is posted at most every ``health_post_interval_s`` per asset (and right
before an order). The order trigger (``OrderTrigger``) is on when at least ``k`` of the
last ``n`` scores reached the threshold, and goes off again only when all of the last
``n`` are below ``threshold - hysteresis``: one noisy score neither opens an order nor
flaps the alarm. While it is on and the asset has no order yet, a predictive order is
requested (``failure_mode = predicted_failure``, priority ``high`` at risk >= 0.9, else
``medium``); the service API keeps one open order per asset and failure mode, so
asking again is harmless. The order says how much of the risk rests on the most
deviating sensor alone (the risk re-scored without it), so an engineer can tell a
drifting sensor from a failing machine.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from contracts.api_bodies import PREDICTED_FAILURE, HealthCreate, WorkOrderCreate

from .asset_state import AssetState

EVIDENCE_STEP = 0.05  # risk rise on an open order worth reporting again


@dataclass(frozen=True)
class OrderTrigger:
    """k of the last n scores at or above the threshold, with hysteresis.

    >>> t = OrderTrigger(threshold=0.5, k=2, n=3, hysteresis=0.1)
    >>> recent, on, states = [], False, []
    >>> for r in (.9, .1, .9, .45, .45, .45, .3, .3, .3):
    ...     on = t.step(recent, on, r)
    ...     states.append(int(on))
    >>> states
    [0, 0, 1, 1, 1, 1, 1, 1, 0]
    """

    threshold: float
    k: int
    n: int
    hysteresis: float = 0.05

    def step(self, recent: list[float], on: bool, risk: float) -> bool:
        """Add a score to ``recent`` (the last n, kept in place); return the new state."""
        recent.append(risk)
        del recent[:-self.n]
        if not on:
            return sum(r >= self.threshold for r in recent) >= self.k
        return not (len(recent) == self.n
                    and all(r < self.threshold - self.hysteresis for r in recent))


class OrderPolicy:
    def __init__(self, trigger: OrderTrigger, horizon: float, time_unit: str,
                 health_post_interval_s: float = 2.0):
        self.trigger = trigger
        self.horizon = horizon
        self.time_unit = time_unit
        self.health_post_interval_s = health_post_interval_s

    def order_due(self, a: AssetState) -> bool:
        """An alarm with no order yet, or with a risk EVIDENCE_STEP above what its order
        was last told (the API records it as evidence and may raise the priority)."""
        return a.alarm and not a.order_pending and (
            not a.reported or a.risk >= a.order_risk + EVIDENCE_STEP)

    def episode_over(self, a: AssetState) -> bool:
        """The trigger went off: the next alarm asks the API again (which answers with
        the open order, or with a recent rejection, or opens a new one)."""
        return not a.alarm and a.reported and not a.order_pending

    def health_due(self, a: AssetState, now: float) -> bool:
        return now - a.last_post >= self.health_post_interval_s

    def health_body(self, a: AssetState) -> HealthCreate:
        return HealthCreate(ts=dt.datetime.fromisoformat(a.last_ts), risk=a.risk, detail={
            "top_signal": a.top_signal, "top_z": round(a.top_z, 2),
            "rul": round(a.rul, 1) if math.isfinite(a.rul) else None,
            "rul_unit": self.time_unit,
            # "at risk" means what opens an order: the trigger's threshold travels with
            # the score, so the dashboard and the KPIs use the same line
            "threshold": self.trigger.threshold})

    def order_body(self, asset: str, a: AssetState, risk_without_top: float | None = None
                   ) -> WorkOrderCreate:
        t = self.trigger
        return WorkOrderCreate(  # the API derives the priority from risk x criticality
            asset_id=asset, type="predictive",
            failure_mode=PREDICTED_FAILURE, source="predictive",
            title=f"Predicted failure risk {a.risk:.0%} on {asset}",
            description=(
                f"Failure risk within {self.horizon:g} {self.time_unit} is {a.risk:.2f}; "
                f"{sum(r >= t.threshold for r in a.recent)} of the last {len(a.recent)} "
                f"scores reached the threshold {t.threshold:g}. Most deviating signal: "
                f"{a.top_signal} at {a.top_z:+.1f} sd from where this asset started"
                + ("." if risk_without_top is None else
                   f"; without it the risk would be {risk_without_top:.2f}"
                   + (" — the alarm rests on this one sensor: check it before the machine."
                      if risk_without_top < t.threshold else "."))),
            risk=round(a.risk, 4))
