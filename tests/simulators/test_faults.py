"""Sensor and comms faults appear in what the agent reads exactly when configured."""

import time

import pytest

from edge_agent.errors import DecodeError, DeviceException, DeviceTimeout
from edge_agent.inputs.modbus import ModbusDevice
from edge_agent.settings import DeviceSettings
from forewarn.config import ConfigError, load_config, to_toml
from forewarn.runtime import free_port
from simulators.clock import SimClock
from simulators.faults import FaultConfig, apply_sensor_faults
from simulators.fleet import AssetConfig, FleetConfig
from simulators.modbus_server import FleetServer
from simulators.physics import Asset
from tests.conftest import RecordingSink as Sink
from tests.conftest import f32


def poll_at(loop_thread, t_h: float, faults: list[dict], timeout_s: float = 2.0):
    fleet = FleetConfig(seed=5, assets=[AssetConfig(id="pump-01", kind="pump", port=free_port(),
                                                    faults=faults)])
    server = FleetServer(fleet, clock=SimClock(time_scale=0, start_h=t_h))
    loop_thread.run(server.start())
    try:
        served = server.served[0]
        dev = ModbusDevice(DeviceSettings(asset="pump-01", port=served.port,
                                          timeout_s=timeout_s, registers=served.specs))
        sink = Sink()
        loop_thread.run(dev.poll(sink))
        dev.close()
        return sink, served.asset
    finally:
        loop_thread.run(server.stop())


def test_stuck_sensor_repeats_its_value_from_fault_start(loop_thread):
    faults = [{"kind": "stuck", "signal": "vibration_rms", "start_h": 10, "end_h": 20}]
    sink, asset = poll_at(loop_thread, 15.0, faults)
    values = sink.samples[0].values
    assert values["vibration_rms"] == f32(asset.read(10.0)["vibration_rms"])
    assert values["flow"] == f32(asset.read(15.0)["flow"])  # other signals unaffected
    sink, asset = poll_at(loop_thread, 20.0, faults)  # fault over
    assert sink.samples[0].values["vibration_rms"] == f32(asset.read(20.0)["vibration_rms"])


def test_drift_grows_linearly(loop_thread):
    faults = [{"kind": "drift", "signal": "discharge_pressure", "start_h": 4, "magnitude": 0.1}]
    sink, asset = poll_at(loop_thread, 14.0, faults)
    true = asset.read(14.0)["discharge_pressure"]
    assert sink.samples[0].values["discharge_pressure"] == f32(true + 1.0)


def test_dropout_is_a_decode_error_and_the_other_signals_arrive(loop_thread):
    sink, _ = poll_at(loop_thread, 3.0, [{"kind": "dropout", "signal": "flow"}])
    assert [type(e) for e in sink.errors] == [DecodeError]
    assert "flow decoded to nan" in str(sink.errors[0])
    assert "flow" not in sink.samples[0].values and "vibration_rms" in sink.samples[0].values


def test_exception_fault_answers_device_busy(loop_thread):
    sink, _ = poll_at(loop_thread, 1.0, [{"kind": "exception", "rate": 1.0}])
    assert sink.samples == []
    assert {type(e) for e in sink.errors} == {DeviceException}
    assert {e.code for e in sink.errors} == {6}


def test_slow_and_offline_devices_time_out(loop_thread):
    t = time.monotonic()
    sink, _ = poll_at(loop_thread, 1.0, [{"kind": "slow", "delay_s": 1.0}], timeout_s=0.3)
    assert sink.errors and isinstance(sink.errors[0], DeviceTimeout)
    sink, _ = poll_at(loop_thread, 1.0, [{"kind": "offline", "start_h": 0.5}], timeout_s=0.3)
    assert sink.errors and isinstance(sink.errors[0], DeviceTimeout)
    assert time.monotonic() - t < 30


def test_spikes_are_seeded_and_at_the_configured_rate():
    asset = Asset(id="p", kind="pump", seed=3)
    fault = [FaultConfig(kind="spike", signal="vibration_rms", rate=0.1, magnitude=4.0)]
    minutes = [m / 60 for m in range(3000)]
    spiked = [t for t in minutes if apply_sensor_faults(
        asset.read(t), t, fault, asset.read, 3, "p")["vibration_rms"] > 3 * asset.read(t)[
            "vibration_rms"]]
    again = [t for t in minutes if apply_sensor_faults(
        asset.read(t), t, fault, asset.read, 3, "p")["vibration_rms"] > 3 * asset.read(t)[
            "vibration_rms"]]
    assert spiked == again  # deterministic for a seed
    assert 0.07 < len(spiked) / len(minutes) < 0.13


@pytest.mark.parametrize(("fault", "message"), [
    ({"kind": "stuck"}, "name its `signal`"),
    ({"kind": "offline", "signal": "flow"}, "takes no `signal`"),
    ({"kind": "stuck", "signal": "oil_temp"}, "unknown signal 'oil_temp'"),
    ({"kind": "dropout", "signal": "bearing_temp"}, "needs a float-encoded signal"),
    ({"kind": "drift", "signal": "flow", "start_h": 5, "end_h": 2}, "end_h must be after"),
])
def test_bad_fault_config_is_a_clear_error(tmp_path, fault, message):
    p = tmp_path / "fleet.toml"
    p.write_text(to_toml({"assets": [{"id": "p", "kind": "pump", "faults": [fault]}]}))
    with pytest.raises(ConfigError, match="assets.0"):
        load_config(FleetConfig, p)
    with pytest.raises(ConfigError) as e:
        load_config(FleetConfig, p)
    assert message in str(e.value)
