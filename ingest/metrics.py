"""The ingester's operations endpoint: ``/healthz`` and Prometheus ``/metrics``.

A small HTTP server on its own thread (stdlib), bound to ``metrics_host`` (127.0.0.1 by
default) and ``metrics_port`` plus the ingester's slot, so several ingesters on one
host do not collide. If the port is taken, the ingester logs it and runs without.

``/healthz`` answers 200 while the ingester is connected to its broker and its last
store write succeeded, else 503 with the reasons (JSON either way).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from contracts.ops_http import Exposition, OpsServer, escape_label

if TYPE_CHECKING:
    from .pipeline import Ingester

log = logging.getLogger(__name__)

# counter name -> help; rendered as forewarn_ingest_<name>_total
_COUNTERS = {
    "messages": "MQTT messages received",
    "batches": "batches processed (stored and acknowledged)",
    "samples": "samples stored",
    "points_stored": "points (signal values) stored",
    "anomalies": "edge anomaly events received",
    "events_stored": "anomaly events and gateway state changes stored",
    "dead_letters": "messages or samples dead-lettered",
    "refused": "invalid messages seen by a scoring-only ingester",
    "store_errors": "transient store failures (retried)",
    "store_rejected": "writes the store refused for good (dead-lettered; alarm)",
    "internal_errors": "messages that hit a bug (dead-lettered)",
    "scores": "risk scores computed",
    "scores_not_stored": "risk scores the store did not take",
}


def render(ing: Ingester) -> str:
    """Prometheus text exposition format 0.0.4."""
    from .pipeline import DEAD_LETTER_KINDS

    c = ing.counters
    e = Exposition("forewarn_ingest")
    metric = e.metric

    for name, help_ in _COUNTERS.items():
        metric(f"{name}_total", "counter", help_, [("", getattr(c, name))])
    metric("dead_letters_by_kind_total", "counter", "dead letters by kind of reason",
           [(f'{{kind="{k}"}}', ing.reasons.get(k, 0)) for k in DEAD_LETTER_KINDS])
    gaps = ing.sequences.missing_by_gateway()
    dups = ing.sequences.duplicates_by_gateway
    gateways = sorted(set(gaps) | set(dups))
    metric("sequence_missing", "gauge", "messages missing upstream now, per gateway",
           [(f'{{gateway="{escape_label(g)}"}}', gaps.get(g, 0)) for g in gateways])
    metric("sequence_duplicates_total", "counter", "redelivered messages, per gateway",
           [(f'{{gateway="{escape_label(g)}"}}', dups.get(g, 0)) for g in gateways])
    t = ing.timing
    metric("store_write_seconds", "summary", "store write latency",
           [("_sum", t.write_s_sum), ("_count", t.writes)])
    metric("store_write_seconds_max", "gauge", "slowest store write so far",
           [("", t.write_s_max)])
    metric("lag_seconds", "gauge", "now minus the newest sample of the last write",
           [("", t.lag_s)])
    metric("queue_messages", "gauge", "messages received, not yet processed",
           [("", ing.queued())])
    metric("mqtt_connected", "gauge", "1 while connected to the broker",
           [("", 1 if ing.wait_connected(0) else 0)])
    orders = len(ing.risk.opened) if ing.risk is not None else 0
    metric("orders_opened_total", "counter", "predictive work orders opened",
           [("", orders)])
    states = sorted(c.gateway_state.items())
    metric("gateway_online", "gauge", "1 if the gateway's last state message said online",
           [(f'{{gateway="{escape_label(g)}"}}', 1 if st == "online" else 0) for g, st in states])
    return e.text()


def health(ing: Ingester) -> tuple[int, dict]:
    problems = []
    if not ing.wait_connected(0):
        problems.append(f"mqtt: {ing.report.last_error or 'not connected'}")
    if ing.last_store_error:
        problems.append(f"store: {ing.last_store_error}")
    body = {"status": "ok" if not problems else "failing", "problems": problems,
            "client_id": ing.client_id, "role": ing.settings.role}
    return (200 if not problems else 503), body


class MetricsServer(OpsServer):
    def __init__(self, ing: Ingester, host: str, port: int):
        super().__init__(lambda: render(ing), lambda: health(ing), host, port,
                         "ingest-metrics")
