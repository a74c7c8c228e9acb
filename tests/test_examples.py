"""Every example config parses into its process's settings."""

from pathlib import Path

import pytest

from edge_agent.settings import AgentSettings
from forewarn.config import load_config
from ingest.settings import IngestSettings
from service_api.settings import ServiceApiSettings
from simulators.fleet import FleetConfig

EXAMPLES = Path(__file__).parent.parent / "examples"


@pytest.mark.parametrize(("name", "model"), [
    ("fleet.toml", FleetConfig), ("fleet-rtu.toml", FleetConfig), ("agent.toml", AgentSettings),
    ("ingest.toml", IngestSettings), ("api.toml", ServiceApiSettings)])
def test_example_config_is_valid(name, model):
    assert load_config(model, EXAMPLES / name)


def test_example_agent_config_polls_the_example_fleet():
    fleet = load_config(FleetConfig, EXAMPLES / "fleet.toml")
    agent = load_config(AgentSettings, EXAMPLES / "agent.toml")
    assert [d.asset for d in agent.devices] == [a.id for a in fleet.assets]


def test_example_agent_config_is_what_agent_config_writes():
    """examples/agent.toml is regenerated, not hand-edited: it matches the simulator's maps."""
    from simulators.agent_config import agent_settings_for

    fleet = load_config(FleetConfig, EXAMPLES / "fleet.toml")
    agent = load_config(AgentSettings, EXAMPLES / "agent.toml")
    made = agent_settings_for(fleet, gateway_id=agent.gateway_id, site=agent.site)
    assert agent.devices == made.devices


def test_the_systemd_unit_runs_a_real_command():
    """deploy/forewarn-agent.service starts `forewarn agent --config ...` as the CLI parses it."""
    import shlex

    from forewarn.cli import build_parser

    unit = (EXAMPLES.parent / "deploy" / "forewarn-agent.service").read_text()
    (line,) = [x for x in unit.splitlines() if x.startswith("ExecStart=")]
    argv = shlex.split(line.removeprefix("ExecStart="))
    assert argv[0].endswith("/forewarn")
    args = build_parser().parse_args(argv[1:])
    assert args.func.__name__ == "_agent" and args.config == "/etc/forewarn/agent.toml"
    assert "KillSignal=SIGTERM" in unit and "Restart=always" in unit
