"""The ingester's risk stage: per-asset scoring, then health reports and predictive orders.

``RiskScorer`` (``scoring.py``) turns samples into scores on the per-asset state of
``asset_state.py``; ``OrderPolicy`` (``order_policy.py``) decides what the service API is
told; the calls go through ``ApiClient.send``, off the ingester's storage path, so a slow
or absent API never delays a store write or an acknowledgement.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from contracts.api_bodies import EventBatch, EventRecord, WorkOrderCreate
from contracts.wire import Sample
from models.alarm import AlarmRule
from models.io import PdmModel

from .api_client import ApiClient, ApiError
from .asset_state import AssetState
from .order_policy import OrderPolicy, OrderTrigger
from .records import Score
from .scoring import RiskScorer
from .settings import RiskSettings

log = logging.getLogger(__name__)

# An order needs at least this many scores at the threshold among the last k + 2, even
# when the model's own alarm rule trusts a single score (training often picks 1).
DEFAULT_ORDER_K = 3


@dataclass
class OpenedOrder:
    asset: str
    id: int
    priority: str
    risk: float
    opened_at: float


class RiskTracker:
    def __init__(self, model: PdmModel, api: ApiClient | None, threshold: float,
                 consecutive: int, health_post_interval_s: float = 2.0,
                 time_scale: float = 1.0, resample: bool = True, order_k: int | None = None,
                 order_n: int | None = None, hysteresis: float = 0.05,
                 single_sensor_orders: bool = True):
        self.model = model
        self.api = api
        self.rule = AlarmRule(threshold, consecutive)
        self.time_scale = time_scale  # simulated seconds per wall second (simulated fleets)
        self.resample = resample
        k = order_k or max(consecutive, DEFAULT_ORDER_K)
        self.trigger = OrderTrigger(threshold, k, max(order_n or k + 2, k), hysteresis)
        self.scorer = RiskScorer(model, self.rule, self.bucket_s, self.trigger)
        self.policy = OrderPolicy(self.trigger, model.horizon, model.time_unit,
                                  health_post_interval_s)
        self.opened: list[OpenedOrder] = []
        self.api_errors = 0
        # why an order that is due must wait (its gateway is offline, say), or None; the
        # ingester that owns the stream sets it
        self.hold: Callable[[str], str | None] = lambda asset: None
        self.orders_held = 0  # due orders held back by ``hold``
        self._held: set[str] = set()
        self.single_sensor_orders = single_sensor_orders
        self.single_sensor_alarms = 0  # alarms that rest on one sensor: no order (yet)
        self._suspects: set[str] = set()  # assets told "check this sensor" this episode

    @classmethod
    def from_settings(cls, model: PdmModel, api: ApiClient | None, s: RiskSettings
                      ) -> RiskTracker:
        """The tracker an ingester config asks for; unset values come from the model."""
        return cls(model, api, threshold=s.threshold or model.threshold,
                   consecutive=s.consecutive or model.consecutive,
                   health_post_interval_s=s.health_post_interval_s,
                   time_scale=s.time_scale, resample=s.resample, order_k=s.order_k,
                   order_n=s.order_n, hysteresis=s.hysteresis,
                   single_sensor_orders=s.single_sensor_orders)

    @property
    def bucket_s(self) -> float:
        """Wall seconds per model sample; 0 when the model counts cycles (no resampling)."""
        if not self.resample or self.model.time_unit != "h":
            return 0.0
        return self.model.spec.sample_interval * 3600.0 / self.time_scale

    @property
    def assets(self) -> dict[str, AssetState]:
        return self.scorer.assets

    def observe(self, samples: list[Sample]) -> list[Score]:
        """Score the samples, tell the service API what is due; return the scores."""
        scores = self.scorer.observe(samples)
        for asset in dict.fromkeys(s.asset for s in scores):
            self._act(asset, self.scorer.assets[asset])
        return scores

    def close(self, timeout: float = 10.0) -> None:
        """Send the queued health scores and orders (for at most ``timeout`` seconds)."""
        if self.api is not None:
            self.api.close(timeout)

    # -- service API -------------------------------------------------------------------
    def _act(self, asset: str, a: AssetState) -> None:
        if self.api is None:
            return
        now = time.monotonic()
        if self.policy.episode_over(a):
            a.reported = False
        if not a.alarm:
            self._suspects.discard(asset)
        due_order = self.policy.order_due(a)
        without = self.scorer.risk_without_top(asset) if due_order else None
        if due_order and not a.reported and self._single_sensor(asset, a, without):
            due_order = False
        if due_order:
            reason = self.hold(asset)
            if reason is not None:  # no order from stale data: wait until it clears
                due_order = False
                self.orders_held += 1
                if asset not in self._held:
                    self._held.add(asset)
                    log.warning("order for %s held: %s", asset, reason)
            else:
                self._held.discard(asset)
        if due_order or self.policy.health_due(a, now):
            a.last_post = now
            health = self.policy.health_body(a)
            self.api.send(("health", asset), lambda api: api.post_health(asset, health),
                          on_error=lambda exc: self._api_failed(
                              f"health score for {asset} not posted: {exc}"))
        if due_order:
            a.order_pending = True
            order = self.policy.order_body(asset, a, without)
            self.api.send(("order", asset), lambda api: api.open_work_order(order),
                          on_done=lambda created: self._opened(a, order, created),
                          on_error=lambda exc: self._order_failed(asset, a, exc))

    def _single_sensor(self, asset: str, a: AssetState, without: float | None) -> bool:
        """The alarm rests on the most deviating sensor alone (re-scored without it, the
        risk is below the threshold): a drifting or failed sensor is likelier than a
        failing machine. With ``single_sensor_orders`` off: no order, and once per alarm
        episode an ``alarm`` event asks for the sensor to be checked."""
        if self.single_sensor_orders or without is None or without >= self.trigger.threshold:
            return False
        self.single_sensor_alarms += 1
        if asset not in self._suspects and self.api is not None:
            self._suspects.add(asset)
            log.warning("alarm on %s rests on %s alone (risk %.2f, %.2f without it): no "
                        "order; check the sensor", asset, a.top_signal, a.risk, without)
            event = EventBatch(records=[EventRecord(
                asset_id=asset, ts=dt.datetime.fromisoformat(a.last_ts), kind="alarm",
                signal=a.top_signal[:64], severity=round(a.risk, 4),
                message=f"risk {a.risk:.2f} rests on {a.top_signal} alone ({without:.2f} "
                        "without it): check the sensor; no order opened"[:200],
                detail={"reason": "single_sensor", "risk": round(a.risk, 4),
                        "risk_without": round(without, 4), "top_z": round(a.top_z, 2)})])
            self.api.send(("suspect", asset), lambda api: api.post_events(event),
                          on_error=lambda exc: self._api_failed(
                              f"sensor alarm for {asset} not posted: {exc}"))
        return True

    def _api_failed(self, message: str) -> None:
        self.api_errors += 1
        log.warning(message)

    def _opened(self, a: AssetState, order: WorkOrderCreate, created: dict) -> None:
        known = a.order_id == created["id"]
        a.order_id, a.order_pending, a.reported = created["id"], False, True
        a.order_risk = order.risk or 0.0
        if known or created.get("status") == "rejected":
            log.info("work order #%s for %s: %s (risk %.2f reported)", created["id"],
                     order.asset_id, "evidence added" if known else
                     "recently rejected, not proposed again", order.risk or 0.0)
            return
        priority = created.get("priority", "")
        self.opened.append(OpenedOrder(order.asset_id, created["id"], priority,
                                       order.risk or 0.0, time.time()))
        log.warning("predictive work order #%s opened for %s (risk %.2f, %s)",
                    created["id"], order.asset_id, order.risk, priority)

    def _order_failed(self, asset: str, a: AssetState, exc: ApiError) -> None:
        a.order_pending = False
        self._api_failed(f"work order for {asset} not opened yet (will retry): {exc}")
