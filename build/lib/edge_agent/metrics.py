"""The agent's operations endpoint: ``/healthz`` and Prometheus ``/metrics``.

Served on ``metrics_host:metrics_port`` (127.0.0.1:9320 by default; none: off). If the
port is taken, the agent logs it and runs without. ``/healthz`` answers 200 while the
agent is connected to its broker and every device answers, else 503 with the reasons.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from contracts.ops_http import Exposition, OpsServer, escape_label

if TYPE_CHECKING:
    from .pipeline import Agent

_COUNTERS = {
    "polls": "device polls made",
    "samples_polled": "samples read",
    "values_polled": "values read",
    "anomalies": "anomaly events raised",
    "batches": "telemetry messages built",
    "messages_published": "messages the broker acknowledged",
    "bytes_published": "payload bytes the broker acknowledged",
    "overruns": "poll slots skipped because a poll outlasted its interval",
}


def render(agent: Agent) -> str:
    c, e = agent.counters, Exposition("forewarn_agent")
    for name, help_ in _COUNTERS.items():
        e.metric(f"{name}_total", "counter", help_, [("", getattr(c, name))])
    e.metric("read_errors_total", "counter", "failed reads by device and kind",
             [(f'{{device="{escape_label(d)}",kind="{k}"}}', n)
              for (d, k), n in sorted(c.read_errors_by_device.items())])
    e.metric("device_online", "gauge", "1 while the device answers",
             [(f'{{device="{escape_label(d.settings.asset)}"}}',
               0 if d.settings.asset in agent.offline else 1) for d in agent.devices])
    e.metric("spool_messages", "gauge", "messages waiting in the spool",
             [("", agent.spool.depth())])
    e.metric("spool_bytes", "gauge", "size of the spool's files on disk",
             [("", spool_bytes(agent.settings.spool.path))])
    e.metric("spool_dropped_total", "counter", "messages dropped from a full spool",
             [("", agent.spool.dropped)])
    e.metric("publish_seconds", "summary", "time to publish a batch and get it acknowledged",
             [("_sum", c.publish_s_sum), ("_count", c.publish_batches)])
    e.metric("mqtt_connected", "gauge", "1 while connected to the broker",
             [("", 1 if agent.publisher.connected else 0)])
    return e.text()


def spool_bytes(path: str) -> int:
    return sum(p.stat().st_size for p in Path(path).parent.glob(Path(path).name + "*")
               if p.is_file())


def health(agent: Agent) -> tuple[int, dict]:
    problems = []
    if not agent.publisher.connected:
        problems.append("mqtt: not connected to the broker")
    problems += [f"device {d}: offline" for d in sorted(agent.offline)]
    body = {"status": "ok" if not problems else "failing", "problems": problems,
            "gateway": agent.settings.gateway_id, "spool_messages": agent.spool.depth()}
    return (200 if not problems else 503), body


class AgentMetrics(OpsServer):
    def __init__(self, agent: Agent, host: str, port: int):
        super().__init__(lambda: render(agent), lambda: health(agent), host, port,
                         "agent-metrics")
