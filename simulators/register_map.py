"""Register maps of simulated devices, in the agent's own config format.

Every kind is laid out the same way so one map exercises several encodings:
16/32/64-bit integers, float32 and float64, all four byte/word orders, scale and
offset, and an unmapped gap (addresses 6-9) that answers exception 2, as real
PLCs do.
"""

from __future__ import annotations

from edge_agent.registers import RegisterSpec

from .physics import signals_of

_UNITS = {"vibration_rms": "mm/s", "bearing_temp": "degC", "motor_current": "A",
          "speed_rpm": "rpm", "discharge_pressure": "bar", "flow": "m3/h",
          "winding_temp": "degC", "oil_temp": "degC", "run_hours": "h", "running": ""}

# (dtype, order, scale, offset) for each signal.
_ENCODING: dict[str, tuple[str, str, float, float]] = {
    "vibration_rms": ("float32", "ABCD", 1.0, 0.0),
    "bearing_temp": ("int16", "ABCD", 0.01, -50.0),
    "motor_current": ("uint32", "CDAB", 0.001, 0.0),
    "speed_rpm": ("uint16", "ABCD", 1.0, 0.0),
    # -- gap: 6-9 unmapped --
    "discharge_pressure": ("float32", "CDAB", 1.0, 0.0),
    "flow": ("float32", "BADC", 1.0, 0.0),
    "winding_temp": ("int32", "DCBA", 0.001, 0.0),
    "oil_temp": ("float32", "DCBA", 1.0, 0.0),
    "run_hours": ("float64", "DCBA", 1.0, 0.0),
    "running": ("uint16", "BADC", 1.0, 0.0),
}
_FIRST_BLOCK = ("vibration_rms", "bearing_temp", "motor_current", "speed_rpm")
_SECOND_BLOCK_START = 10


def register_map(kind: str) -> list[RegisterSpec]:
    """The register map served by a simulated device of ``kind``."""
    specs: list[RegisterSpec] = []
    address = 0
    for name in signals_of(kind):
        if name not in _FIRST_BLOCK and address < _SECOND_BLOCK_START:
            address = _SECOND_BLOCK_START
        dtype, order, scale, offset = _ENCODING[name]
        spec = RegisterSpec(name=name, address=address, dtype=dtype, order=order,  # type: ignore[arg-type]
                            scale=scale, offset=offset, unit=_UNITS[name])
        specs.append(spec)
        address += spec.count
    return specs
