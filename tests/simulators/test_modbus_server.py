"""A running simulator serves every encoding exactly; the agent's input decodes it exactly."""

import struct

import pytest
from pymodbus.client import AsyncModbusTcpClient

from edge_agent.errors import DeviceException, DeviceOffline
from edge_agent.inputs.modbus import ModbusDevice, plan_reads
from edge_agent.settings import DeviceSettings
from forewarn.runtime import free_port
from simulators.clock import SimClock
from simulators.fleet import AssetConfig, FleetConfig
from simulators.modbus_server import FleetServer
from simulators.register_map import register_map
from tests.conftest import RecordingSink as Sink

T_H = 123.4  # frozen simulated time


def f32(x: float) -> float:
    return struct.unpack(">f", struct.pack(">f", x))[0]


def expected(spec, value: float) -> float:
    """What the registers can hold of ``value`` under ``spec``."""
    if spec.dtype == "float32":
        return f32(value)
    if spec.dtype == "float64":
        return value
    raw = round((value - spec.offset) / spec.scale)
    return raw * spec.scale + spec.offset if (spec.scale, spec.offset) != (1.0, 0.0) else raw


@pytest.fixture
def fleet():
    base = free_port()
    cfg = FleetConfig(seed=3, base_port=base, assets=[
        AssetConfig(id="pump-01", kind="pump", port=free_port()),
        AssetConfig(id="motor-01", kind="motor", failure_mode="winding_insulation",
                    onset_h=100, failure_h=200, port=free_port()),
        AssetConfig(id="comp-01", kind="compressor", port=free_port()),
    ])
    return cfg


@pytest.mark.parametrize("index", [0, 1, 2])
def test_agent_input_decodes_served_values_exactly(loop_thread, fleet, index):
    server = FleetServer(fleet, clock=SimClock(time_scale=0, start_h=T_H))
    loop_thread.run(server.start())
    try:
        served = server.served[index]
        dev = ModbusDevice(DeviceSettings(asset=served.asset.id, port=served.port,
                                          registers=served.specs))
        sink = Sink()
        loop_thread.run(dev.poll(sink))
        dev.close()
        assert sink.errors == []
        truth = served.asset.read(T_H)
        (sample,) = sink.samples
        assert set(sample.values) == set(truth)
        for spec in served.specs:
            assert sample.values[spec.name] == pytest.approx(expected(spec, truth[spec.name]),
                                                             rel=1e-12, abs=1e-9), spec.name
        # Encodings exercised by one map: every dtype family and all four orders.
        assert {s.order for s in served.specs} == {"ABCD", "CDAB", "BADC", "DCBA"}
    finally:
        loop_thread.run(server.stop())


def test_reads_across_the_gap_get_exception_2_and_writes_are_refused(loop_thread, fleet):
    server = FleetServer(fleet, clock=SimClock(time_scale=0, start_h=T_H))
    loop_thread.run(server.start())

    async def probe(port):
        c = AsyncModbusTcpClient("127.0.0.1", port=port)
        await c.connect()
        across = await c.read_holding_registers(0, count=12, device_id=1)
        write = await c.write_register(0, 1, device_id=1)
        c.close()
        return across, write

    try:
        across, write = loop_thread.run(probe(server.served[0].port))
        assert across.isError() and across.exception_code == 2
        assert write.isError()
    finally:
        loop_thread.run(server.stop())


def test_read_plan_never_spans_the_gap():
    blocks = plan_reads(register_map("pump"))
    assert [(b.address, b.count) for b in blocks] == [(0, 6), (10, 9)]


def test_offline_device_is_a_typed_error_not_a_crash(loop_thread):
    dev = ModbusDevice(DeviceSettings(asset="ghost", port=free_port(), timeout_s=0.5,
                                      registers=register_map("pump")))
    sink = Sink()
    loop_thread.run(dev.poll(sink))
    assert sink.samples == []
    assert len(sink.errors) == 1 and isinstance(sink.errors[0], DeviceOffline)


def test_bad_register_in_config_gives_exception_error_and_keeps_good_values(loop_thread, fleet):
    from edge_agent.registers import RegisterSpec

    server = FleetServer(fleet, clock=SimClock(time_scale=0, start_h=T_H))
    loop_thread.run(server.start())
    try:
        served = server.served[0]
        specs = [*served.specs, RegisterSpec(name="nowhere", address=7, dtype="uint16")]
        dev = ModbusDevice(DeviceSettings(asset="pump-01", port=served.port, registers=specs))
        sink = Sink()
        loop_thread.run(dev.poll(sink))
        dev.close()
        assert len(sink.errors) == 1
        err = sink.errors[0]
        assert isinstance(err, DeviceException) and err.code == 2 and err.address == 7
        assert set(sink.samples[0].values) == {s.name for s in served.specs}
    finally:
        loop_thread.run(server.stop())
