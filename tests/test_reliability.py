"""Nothing is lost when the broker is killed and comes back: the agent's spool holds
what could not be published, and sequence numbers prove every message arrived."""

import asyncio
import threading
import time

from edge_agent.pipeline import Agent
from forewarn.runtime import free_port
from ingest.dead_letters import DeadLetters
from ingest.pipeline import Ingester
from ingest.settings import IngestSettings
from ingest.stores import open_store
from simulators.agent_config import agent_settings_for
from simulators.fleet import AssetConfig, FleetConfig
from simulators.modbus_server import FleetServer


def test_broker_outage_loses_nothing(tmp_path, mosquitto, loop_thread):
    fleet = FleetConfig(seed=1, time_scale=36000, assets=[
        AssetConfig(id="pump-01", kind="pump", port=free_port()),
        AssetConfig(id="motor-01", kind="motor", port=free_port())])
    settings = IngestSettings.model_validate({
        "mqtt": {"url": mosquitto.url, "client_id": "rel-ingest"},
        "store": {"kind": "embedded", "path": str(tmp_path / "store.sqlite")},
        "dead_letter_path": str(tmp_path / "dl.sqlite"), "api": {"url": None}})
    store = open_store(settings.store)
    ingester = Ingester(settings, store, DeadLetters(settings.dead_letter_path))
    ingest_stop = threading.Event()
    ingest_thread = threading.Thread(target=ingester.run, args=(ingest_stop,))
    ingest_thread.start()
    assert ingester.wait_connected(10)

    server = FleetServer(fleet)
    loop_thread.run(server.start())
    agent = Agent(agent_settings_for(
        fleet, gateway_id="gw-rel", site="plant", poll_interval_s=0.1, batch_max_samples=4,
        mqtt={"url": mosquitto.url}, spool={"path": str(tmp_path / "spool.sqlite")}))
    stop = asyncio.Event()
    running = loop_thread.submit(agent.run(stop))
    try:
        time.sleep(2)
        mosquitto.stop()  # broker killed while the agent polls on
        time.sleep(3)
        spooled_during_outage = agent.spool.depth()
        mosquitto.start()
        time.sleep(4)
    finally:
        loop_thread.loop.call_soon_threadsafe(stop.set)
        running.result(30)
        deadline = time.monotonic() + 20
        while ingester.counters.samples < agent.counters.samples_polled and (
                time.monotonic() < deadline):
            time.sleep(0.1)
        ingest_stop.set()
        ingest_thread.join(15)
        loop_thread.run(server.stop())
    assert spooled_during_outage > 5  # the outage really held messages back
    assert agent.counters.read_errors == {}
    assert ingester.counters.seq_gaps == 0
    assert ingester.counters.samples == agent.counters.samples_polled
    assert store.count() == agent.counters.values_polled
