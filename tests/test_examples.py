"""Every example config parses into its process's settings."""

from pathlib import Path

import pytest

from edge_agent.settings import AgentSettings
from forewarn.config import load_config
from ingest.settings import IngestSettings
from service_api.settings import ApiSettings
from simulators.fleet import FleetConfig

EXAMPLES = Path(__file__).parent.parent / "examples"


@pytest.mark.parametrize(("name", "model"), [
    ("fleet.toml", FleetConfig), ("agent.toml", AgentSettings),
    ("ingest.toml", IngestSettings), ("api.toml", ApiSettings)])
def test_example_config_is_valid(name, model):
    assert load_config(model, EXAMPLES / name)


def test_example_agent_config_polls_the_example_fleet():
    fleet = load_config(FleetConfig, EXAMPLES / "fleet.toml")
    agent = load_config(AgentSettings, EXAMPLES / "agent.toml")
    assert [d.asset for d in agent.devices] == [a.id for a in fleet.assets]
