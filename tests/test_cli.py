"""The `forewarn` command as a user runs it."""

import json
import subprocess
import sys

from forewarn.runtime import free_port


def forewarn(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "forewarn.cli", *args], capture_output=True,
                          text=True, timeout=timeout)


def test_demo_runs_on_embedded_defaults_and_writes_its_summary(tmp_path):
    """Run while a second process keeps a core busy: every polled value must be stored,
    or the summary must say how many were not."""
    summary = tmp_path / "s.json"
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        r = forewarn("demo", "--duration", "12", "--summary-json", str(summary),
                     "--workdir", str(tmp_path / "demo"), "--port", str(free_port()),
                     "--modbus-base-port", str(free_port()), timeout=180)
    finally:
        busy.kill()
        busy.wait()
    assert r.returncode == 0, r.stderr[-3000:]
    s = json.loads(summary.read_text())
    for key in ("samples_polled", "messages_published", "points_stored", "anomalies",
                "work_orders"):
        assert key in s
    assert s["samples_polled"] >= 4 * 8  # 4 devices, ~1 poll/s
    assert s["points_stored"] == s["values_polled"]  # everything polled got stored
    assert s["values_not_stored"] == 0 and "every polled value was stored" in r.stderr
    assert "private Mosquitto" in r.stderr  # installed by `make test`: preferred to amqtt
    assert s["dead_letters"] == 0 and s["seq_gaps"] == 0
    assert "demo summary" in r.stderr and "t=" in r.stderr  # progress was shown


def test_bad_config_is_a_clear_error_and_exit_2(tmp_path):
    cfg = tmp_path / "agent.toml"
    cfg.write_text('gateway_id = "gw 1"\npoll_interval_s = -1\n')
    r = forewarn("agent", "--config", str(cfg))
    assert r.returncode == 2
    assert str(cfg) in r.stderr
    assert "gateway_id" in r.stderr and "poll_interval_s" in r.stderr and "devices" in r.stderr
    assert "Traceback" not in r.stderr


def test_missing_model_is_a_clear_error(tmp_path):
    cfg = tmp_path / "ingest.toml"
    cfg.write_text(f'[risk]\nmodel_dir = "{tmp_path / "nope"}"\n')
    r = forewarn("ingest", "--config", str(cfg))
    assert r.returncode == 2 and "not a model directory" in r.stderr


def test_simulate_agent_config_round_trips_into_the_agent_settings(tmp_path):
    fleet = tmp_path / "fleet.toml"
    fleet.write_text('base_port = 15020\n[[assets]]\nid = "pump-01"\nkind = "pump"\n'
                     '[[assets]]\nid = "m1"\nkind = "motor"\n')
    out = tmp_path / "agent.toml"
    r = forewarn("simulate", "agent-config", "--config", str(fleet), "--out", str(out))
    assert r.returncode == 0, r.stderr
    from edge_agent.settings import AgentSettings
    from forewarn.config import load_config
    from simulators.register_map import register_map

    s = load_config(AgentSettings, out)
    assert [(d.asset, d.port) for d in s.devices] == [("pump-01", 15020), ("m1", 15021)]
    assert s.devices[1].registers == register_map("motor")


def test_dataset_and_train_commands(tmp_path):
    data, model = tmp_path / "d.csv", tmp_path / "model"
    assert forewarn("simulate", "dataset", "--assets", "30", "--seed", "4", "--out",
                    str(data)).returncode == 0
    r = forewarn("model", "train", "--data", str(data), "--out", str(model),
                 "--search-iter", "0")
    assert r.returncode == 0, r.stderr
    meta = json.loads((model / "metadata.json").read_text())
    assert meta["units"] == 30 and "roc_auc" in meta["metrics"]
