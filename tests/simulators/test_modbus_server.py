"""A running simulator serves every encoding exactly, over TCP and over RTU (a pty pair);
the agent's Modbus input decodes it exactly."""


import pytest
from pymodbus.client import AsyncModbusTcpClient

from edge_agent.errors import DeviceException, DeviceOffline
from edge_agent.inputs.modbus import ModbusDevice, open_devices, plan_reads
from edge_agent.settings import DeviceSettings
from forewarn.runtime import free_port
from simulators.agent_config import agent_settings_for
from simulators.clock import SimClock
from simulators.fleet import AssetConfig, FleetConfig, RtuConfig
from simulators.modbus_server import FleetServer
from simulators.register_map import register_map
from tests.conftest import RecordingSink as Sink
from tests.conftest import f32

T_H = 123.4  # frozen simulated time


def expected(spec, value: float) -> float:
    """What the registers can hold of ``value`` under ``spec``."""
    if spec.dtype == "float32":
        return f32(value)
    if spec.dtype == "float64":
        return value
    raw = round((value - spec.offset) / spec.scale)
    return raw * spec.scale + spec.offset if (spec.scale, spec.offset) != (1.0, 0.0) else raw


def make_fleet(**kw):
    return FleetConfig(seed=3, **kw, assets=[
        AssetConfig(id="pump-01", kind="pump", port=free_port()),
        AssetConfig(id="motor-01", kind="motor", failure_mode="winding_insulation",
                    onset_h=100, failure_h=200, port=free_port()),
        AssetConfig(id="comp-01", kind="compressor", port=free_port()),
    ])


@pytest.fixture
def fleet():
    return make_fleet(base_port=free_port())


@pytest.fixture(params=["tcp", "rtu"])
def any_fleet(request, tmp_path):
    if request.param == "tcp":
        return make_fleet(base_port=free_port())
    return make_fleet(rtu=RtuConfig(port=str(tmp_path / "ttyAGENT")))


def test_every_encoding_is_served(fleet):
    specs = [s for a in fleet.assets for s in register_map(a.kind)]
    assert {s.dtype for s in specs} == {"bool", "int16", "uint16", "int32", "uint32", "int64",
                                        "uint64", "float32", "float64"}
    assert {s.table for s in specs} == {"holding", "input", "coil", "discrete"}
    assert {s.order for s in specs if s.count > 1} == {"ABCD", "CDAB", "BADC", "DCBA"}
    assert any(s.scale != 1 for s in specs) and any(s.offset != 0 for s in specs)


def test_agent_input_decodes_every_served_value_exactly(loop_thread, any_fleet):
    """Every asset, every table and encoding, over TCP or over one RTU line with 3 units."""
    server = FleetServer(any_fleet, clock=SimClock(time_scale=0, start_h=T_H))
    loop_thread.run(server.start())
    settings = agent_settings_for(any_fleet).devices
    devices = open_devices(settings)
    try:
        sink = Sink()
        for dev in devices:  # one after the other, as on a real RS-485 line
            loop_thread.run(dev.poll(sink))
        assert sink.errors == []
        assert [s.asset for s in sink.samples] == [s.asset.id for s in server.served]
        for served, sample in zip(server.served, sink.samples, strict=True):
            truth = served.asset.read(T_H)
            assert set(sample.values) == set(truth)
            for spec in served.specs:
                assert sample.values[spec.name] == pytest.approx(
                    expected(spec, truth[spec.name]), rel=1e-12, abs=1e-9), spec.name
        if any_fleet.rtu:
            assert [d.unit for d in settings] == [1, 2, 3]
            assert {d.serial.port for d in settings} == {any_fleet.rtu.port}
    finally:
        for dev in devices:
            dev.close()
        loop_thread.run(server.stop())


def test_rtu_devices_polled_together_share_the_line(loop_thread, tmp_path):
    """Concurrent polls of three units on one line are serialised, none collide."""
    cfg = make_fleet(rtu=RtuConfig(port=str(tmp_path / "ttyAGENT")))
    server = FleetServer(cfg, clock=SimClock(time_scale=0, start_h=T_H))
    loop_thread.run(server.start())
    devices = open_devices(agent_settings_for(cfg).devices)

    async def poll_all(sink):
        import asyncio
        for _ in range(3):
            await asyncio.gather(*(d.poll(sink) for d in devices))

    try:
        sink = Sink()
        loop_thread.run(poll_all(sink))
        assert sink.errors == []
        assert len(sink.samples) == 9
    finally:
        for dev in devices:
            dev.close()
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
    assert [(b.table, b.address, b.count) for b in blocks] == [
        ("holding", 0, 6), ("holding", 10, 16), ("input", 0, 9), ("coil", 0, 1),
        ("discrete", 0, 2)]


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
