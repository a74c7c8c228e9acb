"""The agent config that polls a simulated fleet: no hand-written register maps."""

from __future__ import annotations

from edge_agent.settings import AgentSettings, DeviceSettings, SerialSettings

from .fleet import FleetConfig
from .register_map import register_map


def agent_settings_for(fleet: FleetConfig, **agent: object) -> AgentSettings:
    """AgentSettings polling every asset of ``fleet``; ``agent`` sets the other fields.

    The detectors' warm-up after a start is three simulated hours, in wall seconds.
    """
    rtu = fleet.rtu
    serial = (SerialSettings(port=rtu.port, baudrate=rtu.baudrate, parity=rtu.parity,
                             stopbits=rtu.stopbits) if rtu else None)
    devices = [
        DeviceSettings(asset=a.id, host=fleet.host, port=fleet.port_of(i), serial=serial,
                       unit=fleet.unit_of(i), registers=register_map(a.kind))
        for i, a in enumerate(fleet.assets)
    ]
    detector = dict(agent.pop("detector", {}))  # type: ignore[call-overload]
    if fleet.time_scale > 0:
        detector.setdefault("restart_settle_s", 3 * 3600.0 / fleet.time_scale)
    return AgentSettings.model_validate({**agent, "detector": detector, "devices": devices})
