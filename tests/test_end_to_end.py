"""Modbus registers to a work order, on real parts: pymodbus simulator, Mosquitto,
VictoriaMetrics (InfluxDB v2 write API), the service API over HTTP."""

import time
from datetime import datetime

from forewarn.runtime import free_port
from ingest.dead_letters import DeadLetters
from ingest.pipeline import Ingester
from ingest.risk import RiskTracker
from ingest.settings import IngestSettings
from ingest.stores import open_store
from models.io import load_model
from simulators.agent_config import agent_settings_for
from simulators.fleet import AssetConfig, FleetConfig
from tests.conftest import running_pipeline
from tests.servers import start_api

POLL_S = 0.25
FAILURE_H = 120.0


def test_modbus_to_work_order(tmp_path, mosquitto, victoria, loop_thread, risk_model_dir):
    # One simulated hour per poll, as the model was trained (1 sample per hour).
    fleet = FleetConfig(seed=21, time_scale=3600 / POLL_S, assets=[
        AssetConfig(id="pump-01", kind="pump", failure_mode="bearing_wear", onset_h=50,
                    failure_h=FAILURE_H, port=free_port()),
        AssetConfig(id="pump-02", kind="pump", port=free_port()),
        AssetConfig(id="motor-01", kind="motor", port=free_port()),
    ])
    api_thread, api, _ = start_api(tmp_path / "api")
    model = load_model(risk_model_dir)
    settings = IngestSettings.model_validate({
        "mqtt": {"url": mosquitto.url, "client_id": "e2e-ingest"},
        "store": {"kind": "influx", "url": victoria.url, "org": "o", "bucket": "b"},
        "dead_letter_path": str(tmp_path / "dl.sqlite"), "state_dir": str(tmp_path / "st"),
    })
    risk = RiskTracker(model, api, threshold=model.threshold, consecutive=model.consecutive,
                       time_scale=fleet.time_scale)
    ingester = Ingester(settings, open_store(settings.store), DeadLetters(
        settings.dead_letter_path), risk=risk, api=api)
    agent_settings = agent_settings_for(
        fleet, gateway_id="gw-e2e", site="plant", poll_interval_s=POLL_S,
        mqtt={"url": mosquitto.url}, spool={"path": str(tmp_path / "spool.sqlite")})
    with running_pipeline(loop_thread, fleet, ingester, agent_settings) as (server, agent):
        # Run until a little past the simulated failure (bounded).
        deadline = time.monotonic() + FAILURE_H * POLL_S + 15
        while server.clock.now_h() < FAILURE_H + 8 and time.monotonic() < deadline:
            time.sleep(0.5)
    failure_at = server.clock.wall_time_of(FAILURE_H)
    try:
        a, i = agent.counters, ingester.counters
        # Everything polled was published and stored, exactly once.
        assert a.read_errors == {}
        assert i.dead_letters == 0 and i.seq_gaps == 0
        assert i.samples == a.samples_polled
        assert i.points_stored == a.values_polled
        per_asset = a.samples_polled // 3
        for asset in ("pump-01", "pump-02", "motor-01"):
            (series,) = victoria.export(
                f'{{__name__="telemetry_vibration_rms", asset="{asset}"}}',
                expect_values=per_asset)
            assert len(series["values"]) == per_asset
            assert series["metric"]["gateway"] == "gw-e2e"
        # The failing pump tripped: the last stored speed is 0, and a healthy pump's is not.
        (speed1,) = victoria.export('{__name__="telemetry_speed_rpm", asset="pump-01"}')
        (speed2,) = victoria.export('{__name__="telemetry_speed_rpm", asset="pump-02"}')
        assert speed1["values"][-1] == 0 and speed2["values"][-1] > 2000

        # Exactly one preventive order, for the failing pump, opened before it failed.
        orders = api.items("/work-orders")
        assert [(o["asset_id"], o["type"], o["status"], o["source"]) for o in orders] == [
            ("pump-01", "predictive", "proposed", "predictive")]
        opened = datetime.fromisoformat(orders[0]["opened_at"]).timestamp()
        assert opened < failure_at
        health = api.get("/assets/pump-01/health?max_points=10000")["points"]
        assert len(health) >= 5 and max(h["risk"] for h in health) >= model.threshold
        assets = {x["id"]: x for x in api.items("/assets")}
        assert set(assets) == {"pump-01", "pump-02", "motor-01"}
    finally:
        api_thread.stop()
