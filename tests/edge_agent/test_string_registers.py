"""String registers (serial numbers, firmware versions, alarm texts) read from a real
pymodbus server, carried by both wire encodings, stored apart from the numbers."""

import asyncio
from datetime import UTC, datetime

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from contracts.wire import ReadingBatch, decode_telemetry
from edge_agent.inputs.modbus import ModbusDevice
from edge_agent.registers import RegisterSpec
from edge_agent.settings import DeviceSettings
from forewarn.runtime import free_port
from ingest.stores.embedded import EmbeddedStore
from ingest.stores.influx import to_lines
from simulators.register_codec import encode as plant_encode
from tests.conftest import RecordingSink

# Written by hand: "SER-42" big-endian with NUL padding, "V1" with each word's bytes
# swapped (BADC), then a uint16 counter.
IMAGE = [0x5345, 0x522D, 0x3432, 0x0000, 0x3156, 1234]
SPECS = [RegisterSpec(name="serial", address=0, dtype="string", length=4),
         RegisterSpec(name="firmware", address=4, dtype="string", length=1, order="BADC"),
         RegisterSpec(name="starts", address=5, dtype="uint16")]


def test_the_plant_encoder_writes_the_same_image():
    assert plant_encode("SER-42", SPECS[0]) + plant_encode("V1", SPECS[1]) == IMAGE[:5]


def test_strings_from_a_real_device_through_both_encodings_to_the_store(loop_thread, tmp_path):
    port = free_port()
    bits = [SimData(address=0, count=1, datatype=DataType.BITS, readonly=True)]
    words = [SimData(address=0, count=len(IMAGE), values=IMAGE, datatype=DataType.REGISTERS,
                     readonly=True)]

    async def start() -> ModbusTcpServer:  # pymodbus builds its transport in a running loop
        server = ModbusTcpServer(SimDevice(id=1, simdata=(bits, list(bits), words,
                                                          list(words))),
                                 address=("127.0.0.1", port))
        await server.serve_forever(background=True)
        return server

    server = loop_thread.run(start())
    device = ModbusDevice(DeviceSettings(asset="meter-01", port=port, registers=SPECS))
    try:
        sink = RecordingSink()
        loop_thread.run(device.poll(sink))
    finally:
        device.close()
        loop_thread.run(server.shutdown())
        loop_thread.run(asyncio.sleep(0))
    assert sink.errors == []
    (sample,) = sink.samples
    assert sample.texts == {"serial": "SER-42", "firmware": "V1"}
    assert sample.values == {"starts": 1234}
    batch = ReadingBatch(gateway="gw-1", seq=1, sent_at=datetime.now(UTC), samples=[sample])
    for payload in (batch.to_bytes(), batch.to_compact(), batch.to_compact(False)):
        back = decode_telemetry("forewarn/v1/s/gw-1/telemetry", payload).batch
        assert back.samples[0].texts == sample.texts and back.samples[0].values == {
            "starts": 1234}
    store = EmbeddedStore(tmp_path / "store.sqlite")
    assert store.write("gw-1", [sample]) == 3
    rows = store._db.execute("SELECT signal, value FROM texts ORDER BY signal").fetchall()
    assert rows == [("firmware", "V1"), ("serial", "SER-42")]
    (line,) = to_lines("telemetry", "gw-1", [sample])
    assert 'serial="SER-42"' in line and "starts=1234" in line
