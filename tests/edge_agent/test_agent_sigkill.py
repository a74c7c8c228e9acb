"""An agent killed mid-stream (SIGKILL) loses no sample it had read: samples waiting for
their batch are staged in the spool file as they are read, and the next start batches
and sends them."""

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime

from contracts.wire import Sample
from edge_agent.pipeline import Agent
from forewarn.config import to_toml
from forewarn.runtime import free_port
from simulators.agent_config import agent_settings_for
from simulators.fleet import AssetConfig, FleetConfig
from simulators.modbus_server import FleetServer
from tests.conftest import TelemetryWatcher


def test_sigkilled_agent_sends_what_it_had_read_on_restart(tmp_path, mosquitto, loop_thread):
    fleet = FleetConfig(seed=8, time_scale=3600, assets=[
        AssetConfig(id="pump-01", kind="pump", port=free_port()),
        AssetConfig(id="motor-01", kind="motor", port=free_port())])
    server = FleetServer(fleet)
    loop_thread.run(server.start())
    spool = tmp_path / "spool.sqlite"
    # Batches wait up to 60 s: everything read before the kill is still waiting for one.
    settings = agent_settings_for(fleet, gateway_id="gw-kill", site="s", poll_interval_s=0.1,
                                  mqtt={"url": f"mqtt://127.0.0.1:{free_port()}"},
                                  spool={"path": str(spool)}, batch_max_age_s=60.0,
                                  batch_max_samples=10_000, metrics_port=None)
    config = tmp_path / "agent.toml"
    config.write_text(to_toml(settings.model_dump(mode="json", exclude_none=True)))
    log = open(tmp_path / "agent.log", "w")  # noqa: SIM115
    agent = subprocess.Popen([sys.executable, "-m", "forewarn.cli", "agent", "--config",
                              str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        staged = 0
        while staged < 40 and time.monotonic() < deadline:  # two devices, 10 polls/s each
            time.sleep(0.2)
            if spool.exists():
                with contextlib.suppress(sqlite3.OperationalError):  # not created yet
                    staged = sqlite3.connect(spool).execute(
                        "SELECT COUNT(*) FROM staged").fetchone()[0]
        time.sleep(1.0)
        os.kill(agent.pid, signal.SIGKILL)
        killed_at = datetime.now(UTC)
        agent.wait(10)
    finally:
        if agent.poll() is None:
            agent.kill()
        log.close()
    db = sqlite3.connect(spool)
    rows = [Sample.model_validate_json(r[0]) for r in db.execute("SELECT item FROM staged")]
    assert db.execute("SELECT COUNT(*) FROM queue").fetchone()[0] == 0  # no batch was made
    db.close()
    assert len(rows) >= 50
    for asset in ("pump-01", "motor-01"):
        stamps = sorted(s.ts for s in rows if s.asset == asset)
        # read up to the kill (one poll interval and a little scheduling slack) ...
        assert (killed_at - stamps[-1]).total_seconds() < 0.5
        # ... and not one poll missing in between
        gaps = [(b - a).total_seconds() for a, b in zip(stamps, stamps[1:], strict=False)]
        assert max(gaps) < 0.35

    # The next start, with a broker this time, sends every one of them.
    watcher = TelemetryWatcher(mosquitto.port, "kill-watch").__enter__()
    restarted = Agent(settings.model_copy(update={
        "mqtt": settings.mqtt.model_copy(update={"url": mosquitto.url}),
        "batch_max_age_s": 0.5, "batch_max_samples": 50}))
    assert restarted.counters.samples_restored == len(rows)
    stop = asyncio.Event()
    running = loop_thread.submit(restarted.run(stop))
    try:
        time.sleep(2.0)
    finally:
        loop_thread.loop.call_soon_threadsafe(stop.set)
        running.result(30)
        time.sleep(0.5)
        watcher.__exit__()
        loop_thread.run(server.stop())
    before_kill = {(s.asset, s.ts) for s in watcher.samples() if s.ts <= killed_at}
    assert before_kill == {(s.asset, s.ts) for s in rows}
