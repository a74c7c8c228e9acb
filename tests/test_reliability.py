"""Nothing is lost when the broker is killed and comes back: the agent's spool holds
what could not be published, and sequence numbers prove every message arrived."""

import time

from forewarn.runtime import free_port
from ingest.dead_letters import DeadLetters
from ingest.pipeline import Ingester
from ingest.settings import IngestSettings
from ingest.stores import open_store
from simulators.agent_config import agent_settings_for
from simulators.fleet import AssetConfig, FleetConfig
from tests.conftest import running_pipeline


def test_broker_outage_loses_nothing(tmp_path, mosquitto, loop_thread):
    fleet = FleetConfig(seed=1, time_scale=36000, assets=[
        AssetConfig(id="pump-01", kind="pump", port=free_port()),
        AssetConfig(id="motor-01", kind="motor", port=free_port())])
    settings = IngestSettings.model_validate({
        "mqtt": {"url": mosquitto.url, "client_id": "rel-ingest"},
        "store": {"kind": "embedded", "path": str(tmp_path / "store.sqlite")},
        "dead_letter_path": str(tmp_path / "dl.sqlite"), "state_dir": str(tmp_path / "st"),
        "api": {"url": None}})
    store = open_store(settings.store)
    ingester = Ingester(settings, store, DeadLetters(settings.dead_letter_path))
    agent_settings = agent_settings_for(
        fleet, gateway_id="gw-rel", site="plant", poll_interval_s=0.1, batch_max_samples=4,
        mqtt={"url": mosquitto.url}, spool={"path": str(tmp_path / "spool.sqlite")})
    with running_pipeline(loop_thread, fleet, ingester, agent_settings) as (_, agent):
        time.sleep(2)
        mosquitto.stop()  # broker killed while the agent polls on
        time.sleep(3)
        spooled_during_outage = agent.spool.depth()
        mosquitto.start()
        time.sleep(4)
    assert spooled_during_outage > 5  # the outage really held messages back
    assert agent.counters.read_errors == {}
    assert ingester.counters.seq_gaps == 0
    assert ingester.counters.samples == agent.counters.samples_polled
    assert store.count() == agent.counters.values_polled
