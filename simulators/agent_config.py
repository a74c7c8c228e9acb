"""The agent config that polls a simulated fleet: no hand-written register maps."""

from __future__ import annotations

from edge_agent.settings import AgentSettings, DeviceSettings

from .fleet import FleetConfig
from .register_map import register_map


def agent_settings_for(fleet: FleetConfig, **agent: object) -> AgentSettings:
    """AgentSettings polling every asset of ``fleet``; ``agent`` sets the other fields."""
    devices = [
        DeviceSettings(asset=a.id, host=fleet.host, port=fleet.port_of(i), unit=fleet.unit,
                       registers=register_map(a.kind))
        for i, a in enumerate(fleet.assets)
    ]
    return AgentSettings.model_validate({**agent, "devices": devices})
