"""Each part as its own process, the way a plant runs them: `forewarn simulate serve`,
`forewarn agent`, `forewarn ingest` against a real Mosquitto; SIGTERM stops each cleanly
and nothing polled is lost on the way."""

import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from forewarn.config import to_toml
from forewarn.runtime import free_port
from tests.servers import wait_port


def spawn(*args: str, log) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "forewarn.cli", *args],
                            stdout=log, stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(30)


@pytest.mark.parametrize("transport", ["tcp", "rtu"])
def test_parts_as_processes_stop_cleanly_on_sigterm(tmp_path, mosquitto, transport):
    """Over TCP, or over one RTU line (the simulator makes the pty pair itself)."""
    ports = [free_port(), free_port()]
    tty = tmp_path / "ttyFOREWARN"
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(to_toml({"time_scale": 3600.0, "assets": [
        {"id": "pump-01", "kind": "pump", "port": ports[0]},
        {"id": "motor-01", "kind": "motor", "port": ports[1]}],
        **({"rtu": {"port": str(tty)}} if transport == "rtu" else {})}))
    agent_cfg = tmp_path / "agent.toml"
    assert subprocess.run([sys.executable, "-m", "forewarn.cli", "simulate", "agent-config",
                           "--config", str(fleet), "--out", str(agent_cfg), "--broker",
                           mosquitto.url]).returncode == 0
    text = agent_cfg.read_text().replace('path = "var/agent-spool.sqlite"',
                                         f'path = "{tmp_path / "spool.sqlite"}"')
    agent_cfg.write_text(text.replace("poll_interval_s = 1.0", "poll_interval_s = 0.2"))
    store = tmp_path / "store.sqlite"
    ingest_cfg = tmp_path / "ingest.toml"
    ingest_cfg.write_text(to_toml({
        "dead_letter_path": str(tmp_path / "dl.sqlite"), "state_dir": str(tmp_path / "st"),
        "mqtt": {"url": mosquitto.url, "client_id": "proc-ingest"},
        "store": {"kind": "embedded", "path": str(store)},
        "risk": {"enabled": False}, "api": {"url": ""}}))

    log = open(tmp_path / "processes.log", "w")  # noqa: SIM115
    sim = spawn("simulate", "serve", "--config", str(fleet), log=log)
    ingest = spawn("ingest", "--config", str(ingest_cfg), log=log)
    try:
        if transport == "tcp":
            for p in ports:
                wait_port(p)
        else:
            deadline = time.monotonic() + 10
            while not tty.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        agent = spawn("agent", "--config", str(agent_cfg), log=log)
        time.sleep(5)
        assert stop(agent) == 0  # drains its spool before exiting
        time.sleep(2)
        assert stop(ingest) == 0
        assert stop(sim) == 0
    finally:
        for p in (sim, ingest):
            if p.poll() is None:
                p.kill()
        log.close()
    output = (tmp_path / "processes.log").read_text()
    assert "Traceback" not in output
    assert "agent stopped; 0 messages left in spool" in output
    db = sqlite3.connect(store)
    samples = db.execute("SELECT COUNT(DISTINCT asset || ts_ns) FROM points").fetchone()[0]
    assets = {r[0] for r in db.execute("SELECT DISTINCT asset FROM points")}
    assert assets == {"pump-01", "motor-01"}
    stopped = [line for line in output.splitlines() if "ingester stopped" in line]
    assert stopped and "'seq_gaps': 0" in stopped[0] and "'dead_letters': 0" in stopped[0]
    assert f"'samples': {samples}" in stopped[0]  # every stored sample counted once
    (agent_line,) = [line for line in output.splitlines() if "agent stopped" in line]
    assert f"'samples_polled': {samples}," in agent_line  # every polled sample stored
    assert samples >= 2 * 15  # ~25 polls of 2 devices in 5 s
