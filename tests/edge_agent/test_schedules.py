"""Each device polls on its own schedule: a device that never answers does not slow a
healthy one, an unreachable one is retried with backoff, and overruns are counted."""

import asyncio
import json
import socket
import sqlite3
import threading
import time
import urllib.error
import urllib.request

from contracts.wire import DeviceEvent, decode_message
from edge_agent.pipeline import Agent
from forewarn.runtime import free_port
from simulators.agent_config import agent_settings_for
from simulators.clock import SimClock
from simulators.fleet import AssetConfig, FleetConfig
from simulators.modbus_server import FleetServer


class BlackHole:
    """A TCP server that accepts connections and never answers (a hung PLC)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


def test_a_hung_and_a_missing_device_do_not_delay_a_healthy_one(loop_thread, tmp_path,
                                                                caplog):
    fleet = FleetConfig(seed=3, assets=[AssetConfig(id="pump-01", kind="pump",
                                                    port=free_port())])
    server = FleetServer(fleet, clock=SimClock(time_scale=0, start_h=10))
    loop_thread.run(server.start())
    hole = BlackHole()
    settings = agent_settings_for(fleet, gateway_id="gw-s", site="s", poll_interval_s=0.1,
                                  mqtt={"url": f"mqtt://127.0.0.1:{free_port()}"},
                                  spool={"path": str(tmp_path / "spool.sqlite")})
    healthy = settings.devices[0]
    hung = healthy.model_copy(update={"asset": "hung-01", "port": hole.port,
                                      "timeout_s": 0.3, "poll_interval_s": 0.5})
    missing = healthy.model_copy(update={"asset": "gone-01", "port": free_port(),
                                         "timeout_s": 0.5})
    settings = settings.model_copy(update={"devices": [healthy, hung, missing],
                                           "reconnect_max_s": 0.8, "metrics_port": 0})
    agent = Agent(settings)
    stop = asyncio.Event()
    try:
        running = loop_thread.submit(agent.run(stop, drain_timeout=0.1))
        time.sleep(5.0)
        base = f"http://127.0.0.1:{agent.metrics_port}"
        metrics = urllib.request.urlopen(base + "/metrics", timeout=5).read().decode()
        try:
            urllib.request.urlopen(base + "/healthz", timeout=5)
            health_code = 200
        except urllib.error.HTTPError as exc:
            health_code, health = exc.code, json.loads(exc.read())
        loop_thread.loop.call_soon_threadsafe(stop.set)
        running.result(20)
    finally:
        loop_thread.run(server.stop())
        hole.close()
    polled = agent.counters.samples_polled
    # the healthy device, every 0.1 s for 5 s, whatever the others do (a shared poll
    # cycle would have waited for the hung one's timeouts every round: a few polls)
    assert polled >= 35, agent.counters.as_dict()
    assert agent.counters.read_errors["DeviceTimeout"] + agent.counters.read_errors[
        "DeviceOffline"] >= 3
    assert "gone-01" in agent.offline and "pump-01" not in agent.offline
    # pymodbus's own warnings about the missing device are rate-limited, not one per try
    noisy = [r for r in caplog.records if r.name.startswith("pymodbus")
             and "Failed to connect" in r.getMessage()]
    assert len(noisy) <= 2, [r.getMessage() for r in noisy]
    # the operations endpoint says the same (the broker is absent in this test: 503)
    assert 'forewarn_agent_device_online{device="gone-01"} 0' in metrics
    assert 'forewarn_agent_device_online{device="pump-01"} 1' in metrics
    assert 'forewarn_agent_read_errors_total{device="hung-01",kind="DeviceTimeout"}' in metrics
    assert "forewarn_agent_overruns_total" in metrics and "forewarn_agent_spool_bytes" in metrics
    assert health_code == 503 and "device gone-01: offline" in health["problems"]
    # the hung device's timeouts (0.3 s per block) overrun its 0.5 s slots: skipped, counted
    assert agent.counters.overruns >= 2, agent.counters.as_dict()
    # the missing device is retried with backoff, not at every 0.1 s slot
    assert agent.counters.read_errors["DeviceOffline"] < 15, agent.counters.as_dict()
    # its going offline is an event on the wire, spooled for the broker, and each device's
    # link state is in the gateway's state message
    spooled = sqlite3.connect(tmp_path / "spool.sqlite").execute(
        "SELECT topic, payload FROM queue WHERE topic LIKE '%/events'").fetchall()
    device_events = [m for m in (decode_message(t, p) for t, p in spooled)
                     if isinstance(m, DeviceEvent)]
    assert [(e.asset, e.status) for e in device_events] == [("gone-01", "offline")]
    assert "gone-01" in device_events[0].reason
    state = decode_message("forewarn/v1/s/gw-s/state", agent._state_payload("online"))
    assert state.devices == {"pump-01": "online", "hung-01": "online", "gone-01": "offline"}


def _first_reads(loop_thread, tmp_path, spread: bool) -> list[float]:
    """Seconds from the agent's first read of any device to its first read of each."""
    fleet = FleetConfig(seed=4, assets=[AssetConfig(id=f"pump-0{i}", kind="pump",
                                                    port=free_port()) for i in range(4)])
    server = FleetServer(fleet, clock=SimClock(time_scale=0, start_h=10))
    loop_thread.run(server.start())
    settings = agent_settings_for(fleet, gateway_id="gw-p", site="s", poll_interval_s=0.8,
                                  spread_polls=spread, metrics_port=None,
                                  mqtt={"url": f"mqtt://127.0.0.1:{free_port()}"},
                                  spool={"path": str(tmp_path / f"spool-{spread}.sqlite")})
    agent = Agent(settings)
    first: dict[str, float] = {}
    take = agent._take

    def recording(sink):
        for s in sink.samples:
            first.setdefault(s.asset, time.monotonic())
        return take(sink)

    agent._take = recording
    stop = asyncio.Event()
    try:
        running = loop_thread.submit(agent.run(stop, drain_timeout=0.1))
        time.sleep(1.6)
        loop_thread.loop.call_soon_threadsafe(stop.set)
        running.result(20)
    finally:
        loop_thread.run(server.stop())
    assert len(first) == 4, first
    t0 = min(first.values())
    return sorted(t - t0 for t in first.values())


def test_device_schedules_start_spread_over_one_interval(loop_thread, tmp_path):
    """Four devices at 0.8 s: their first reads 0.2 s apart (a thousand devices read in
    one instant would age every sample behind the others' work); ``spread_polls =
    false`` reads them all at once."""
    spread = _first_reads(loop_thread, tmp_path, True)
    gaps = [b - a for a, b in zip(spread, spread[1:], strict=False)]
    assert all(0.12 <= g <= 0.32 for g in gaps), spread
    together = _first_reads(loop_thread, tmp_path, False)
    assert together[-1] < 0.12, together
