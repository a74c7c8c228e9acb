"""The ingester's operations endpoint: ``/healthz`` and Prometheus ``/metrics``.

A small HTTP server on its own thread (stdlib), bound to ``metrics_host`` (127.0.0.1 by
default) and ``metrics_port`` plus the ingester's slot, so several ingesters on one
host do not collide. If the port is taken, the ingester logs it and runs without.

``/healthz`` answers 200 while the ingester is connected to its broker and its last
store write succeeded, else 503 with the reasons (JSON either way).
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

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


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(ing: Ingester) -> str:
    """Prometheus text exposition format 0.0.4."""
    from .pipeline import DEAD_LETTER_KINDS

    c = ing.counters
    out: list[str] = []

    def metric(name: str, kind: str, help_: str, samples: list[tuple[str, float]]) -> None:
        out.append(f"# HELP forewarn_ingest_{name} {help_}")
        out.append(f"# TYPE forewarn_ingest_{name} {kind}")
        out.extend(f"forewarn_ingest_{name}{labels} {value:g}" for labels, value in samples)

    for name, help_ in _COUNTERS.items():
        metric(f"{name}_total", "counter", help_, [("", getattr(c, name))])
    metric("dead_letters_by_kind_total", "counter", "dead letters by kind of reason",
           [(f'{{kind="{k}"}}', ing.reasons.get(k, 0)) for k in DEAD_LETTER_KINDS])
    gaps = ing.sequences.missing_by_gateway()
    dups = ing.sequences.duplicates_by_gateway
    gateways = sorted(set(gaps) | set(dups))
    metric("sequence_missing", "gauge", "messages missing upstream now, per gateway",
           [(f'{{gateway="{_esc(g)}"}}', gaps.get(g, 0)) for g in gateways])
    metric("sequence_duplicates_total", "counter", "redelivered messages, per gateway",
           [(f'{{gateway="{_esc(g)}"}}', dups.get(g, 0)) for g in gateways])
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
    metric("orders_opened_total", "counter", "preventive work orders opened",
           [("", orders)])
    states = sorted(c.gateway_state.items())
    metric("gateway_online", "gauge", "1 if the gateway's last state message said online",
           [(f'{{gateway="{_esc(g)}"}}', 1 if st == "online" else 0) for g, st in states])
    return "\n".join(out) + "\n"


def health(ing: Ingester) -> tuple[int, dict]:
    problems = []
    if not ing.wait_connected(0):
        problems.append(f"mqtt: {ing.report.last_error or 'not connected'}")
    if ing.last_store_error:
        problems.append(f"store: {ing.last_store_error}")
    body = {"status": "ok" if not problems else "failing", "problems": problems,
            "client_id": ing.client_id, "role": ing.settings.role}
    return (200 if not problems else 503), body


class MetricsServer:
    def __init__(self, ing: Ingester, host: str, port: int):
        ingester = ing

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if self.path == "/metrics":
                    code, ctype, text = 200, "text/plain; version=0.0.4", render(ingester)
                elif self.path == "/healthz":
                    code, body = health(ingester)
                    ctype, text = "application/json", json.dumps(body)
                else:
                    code, ctype, text = 404, "text/plain", "try /metrics or /healthz\n"
                data = text.encode()
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="ingest-metrics")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
