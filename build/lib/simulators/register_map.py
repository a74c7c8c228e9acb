"""Register maps of simulated devices, in the agent's own config format.

Every kind is laid out the same way so one map exercises every encoding the agent
supports: 16/32/64-bit integers, signed and unsigned, float32 and float64, all four
byte/word orders, scale and offset, coils and discrete inputs. Like a real PLC the
address space is sparse: holding registers 6-9 are unmapped and a read across them
answers exception 2. Measurements sit in holding and input registers, states in
discrete inputs (``running``, ``tripped``) and a coil (``run_command``).
"""

from __future__ import annotations

from contracts.signals import RUN_SIGNAL
from edge_agent.registers import RegisterSpec

from .physics import signals_of

_UNITS = {"vibration_rms": "mm/s", "vibration_kurtosis": "", "bearing_temp": "degC",
          "motor_current": "A", "speed_rpm": "rpm", "suction_pressure": "bar",
          "discharge_pressure": "bar", "flow": "m3/h", "winding_temp": "degC",
          "oil_temp": "degC", "current_l1": "A", "current_l2": "A", "current_l3": "A",
          "run_hours": "h", "starts": "", "energy_kwh": "kWh", RUN_SIGNAL: "",
          "tripped": "", "run_command": ""}

# signal: (table, dtype, order, scale, offset). Within a table, signals are laid out
# in this order; holding registers restart at 10 after the first block.
_ENCODING: dict[str, tuple[str, str, str, float, float]] = {
    "vibration_rms": ("holding", "float32", "ABCD", 1.0, 0.0),
    "bearing_temp": ("holding", "int16", "ABCD", 0.01, -50.0),
    "motor_current": ("holding", "uint32", "CDAB", 0.001, 0.0),
    "speed_rpm": ("holding", "uint16", "ABCD", 1.0, 0.0),
    # -- gap: holding 6-9 unmapped --
    "discharge_pressure": ("holding", "float32", "CDAB", 1.0, 0.0),
    "flow": ("holding", "float32", "BADC", 1.0, 0.0),
    "winding_temp": ("holding", "int32", "DCBA", 0.001, 0.0),
    "oil_temp": ("holding", "float32", "DCBA", 1.0, 0.0),
    "run_hours": ("holding", "float64", "DCBA", 1.0, 0.0),
    "starts": ("holding", "uint64", "ABCD", 1.0, 0.0),
    "energy_kwh": ("holding", "int64", "BADC", 0.1, 0.0),
    "vibration_kurtosis": ("input", "float64", "CDAB", 1.0, 0.0),
    "current_l1": ("input", "uint16", "ABCD", 0.01, 0.0),
    "current_l2": ("input", "uint16", "BADC", 0.01, 0.0),
    "current_l3": ("input", "int32", "ABCD", 0.001, 0.0),
    "suction_pressure": ("input", "int16", "DCBA", 0.001, 0.0),
    RUN_SIGNAL: ("discrete", "bool", "ABCD", 1.0, 0.0),
    "tripped": ("discrete", "bool", "ABCD", 1.0, 0.0),
    "run_command": ("coil", "bool", "ABCD", 1.0, 0.0),
}
_FIRST_BLOCK = ("vibration_rms", "bearing_temp", "motor_current", "speed_rpm")
_SECOND_BLOCK_START = 10


def register_map(kind: str) -> list[RegisterSpec]:
    """The register map served by a simulated device of ``kind``."""
    specs: list[RegisterSpec] = []
    next_address = {"holding": 0, "input": 0, "discrete": 0, "coil": 0}
    for name in sorted(signals_of(kind), key=list(_ENCODING).index):
        table, dtype, order, scale, offset = _ENCODING[name]
        if table == "holding" and name not in _FIRST_BLOCK:
            next_address["holding"] = max(next_address["holding"], _SECOND_BLOCK_START)
        spec = RegisterSpec(name=name, address=next_address[table], table=table,  # type: ignore[arg-type]
                            dtype=dtype, order=order, scale=scale, offset=offset,  # type: ignore[arg-type]
                            unit=_UNITS[name])
        specs.append(spec)
        next_address[table] += spec.count
    return specs
