"""Smart reads against a real pymodbus server (the simulator, which answers exception 2
for addresses it does not have): merged reads across gaps recover every value exactly,
the refusal is learnt into a smaller plan, and a register the device refuses is asked
for once, then never again."""

from edge_agent.errors import DeviceException
from edge_agent.inputs.modbus import ModbusDevice
from edge_agent.registers import RegisterSpec
from forewarn.runtime import free_port
from simulators.agent_config import agent_settings_for
from simulators.clock import SimClock
from simulators.fleet import AssetConfig, FleetConfig
from simulators.modbus_server import FleetServer
from tests.conftest import RecordingSink


def _poll(loop_thread, device: ModbusDevice) -> RecordingSink:
    sink = RecordingSink()
    loop_thread.run(device.poll(sink))
    return sink


def test_merged_reads_across_refused_gaps_recover_every_value(loop_thread):
    fleet = FleetConfig(seed=3, assets=[AssetConfig(id="pump-01", kind="pump",
                                                    port=free_port())])
    server = FleetServer(fleet, clock=SimClock(time_scale=0, start_h=10))  # frozen values
    loop_thread.run(server.start())
    settings = agent_settings_for(fleet).devices[0]
    ghost = RegisterSpec(name="ghost", address=40, dtype="uint16")  # the device has no 40
    plain = ModbusDevice(settings)
    merged = ModbusDevice(settings.model_copy(update={
        "max_gap": 50, "registers": [*settings.registers, ghost]}))
    try:
        want = _poll(loop_thread, plain).samples[0].values
        first_plan = len(merged.blocks)
        first = _poll(loop_thread, merged)
        assert first.samples[0].values == want  # every value, exactly
        assert [type(e) for e in first.errors] == [DeviceException]  # the ghost, once
        assert first.errors[0].code == 2 and [r.name for r in merged.refused] == ["ghost"]
        learnt = list(merged.blocks)
        assert first_plan < len(plain.blocks)  # merged: fewer requests planned
        assert len(learnt) <= len(plain.blocks)  # after learning the gaps: never more
        second = _poll(loop_thread, merged)
        assert second.samples[0].values == want and second.errors == []  # not asked again
        assert merged.blocks == learnt  # the plan stays learnt
        assert all("ghost" not in [s.name for s in b.specs] for b in merged.blocks)
    finally:
        plain.close()
        merged.close()
        loop_thread.run(server.stop())
