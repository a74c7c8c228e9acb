"""Equipment physics: what each sensor of an asset reads at a given simulated time.

Deliberately deterministic: the reading of a signal is a pure function of
(seed, asset, signal, simulated time), so a run can be replayed and a test can
check a served value exactly. Noise is drawn from a generator seeded per
simulated minute.

Each asset has a health index ``h`` in [0, 1]: 0 before the failure mode's onset,
rising (accelerating, ``h = u**2``) to 1 at the functional failure, when the asset
trips. The mode decides which sensors show the wear, and how much.

>>> a = Asset(id="p1", kind="pump", failure_mode="bearing_wear", onset_h=10, failure_h=20)
>>> a.health(5.0), a.health(15.0), a.health(20.0)
(0.0, 0.25, 1.0)
>>> a.read(25.0)["speed_rpm"]
0.0
"""

from __future__ import annotations

import math
import random
import zlib
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["pump", "motor", "compressor"]
FailureMode = Literal["none", "bearing_wear", "winding_insulation", "filter_clogging"]

# Signals every kind has, in real units; the risk model is trained on these.
COMMON_SIGNALS = ("vibration_rms", "bearing_temp", "motor_current", "speed_rpm")

# Nominal operating point per kind.
_NOMINAL: dict[str, dict[str, float]] = {
    "pump": {"vibration_rms": 2.2, "bearing_temp": 48.0, "motor_current": 38.0,
             "speed_rpm": 2960.0, "discharge_pressure": 6.5, "flow": 120.0},
    "motor": {"vibration_rms": 1.6, "bearing_temp": 52.0, "motor_current": 61.0,
              "speed_rpm": 1480.0, "winding_temp": 78.0},
    "compressor": {"vibration_rms": 3.1, "bearing_temp": 58.0, "motor_current": 92.0,
                   "speed_rpm": 2975.0, "discharge_pressure": 8.2, "oil_temp": 64.0},
}

# How a fully worn asset (h = 1) departs from nominal: additive, in the signal's unit.
_WEAR: dict[str, dict[str, float]] = {
    "bearing_wear": {"vibration_rms": 6.0, "bearing_temp": 24.0, "motor_current": 2.5},
    "winding_insulation": {"winding_temp": 45.0, "motor_current": 9.0, "bearing_temp": 6.0,
                           "vibration_rms": 0.8},
    "filter_clogging": {"discharge_pressure": -2.5, "flow": -45.0, "motor_current": 8.0,
                        "oil_temp": 18.0, "vibration_rms": 1.2, "bearing_temp": 5.0},
}

# Which kinds each mode can strike (a mode shows in whichever of its sensors a kind has).
_MODE_KINDS = {"bearing_wear": ("pump", "motor", "compressor"),
               "winding_insulation": ("motor",),
               "filter_clogging": ("pump", "compressor")}

# Relative noise (standard deviation / nominal) per signal.
_NOISE = {"vibration_rms": 0.06, "bearing_temp": 0.01, "motor_current": 0.015,
          "speed_rpm": 0.001, "discharge_pressure": 0.01, "flow": 0.015,
          "winding_temp": 0.01, "oil_temp": 0.01}


def signals_of(kind: str) -> tuple[str, ...]:
    return tuple(_NOMINAL[kind]) + ("run_hours", "running")


def failure_modes_of(kind: str) -> tuple[str, ...]:
    return tuple(m for m, kinds in _MODE_KINDS.items() if kind in kinds)


@dataclass
class Asset:
    """One simulated machine. Times are simulated hours since the run started."""

    id: str
    kind: Kind = "pump"
    failure_mode: FailureMode = "none"
    onset_h: float | None = None
    failure_h: float | None = None
    seed: int = 0
    _base: dict[str, float] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in _NOMINAL:
            raise ValueError(f"asset {self.id}: unknown kind {self.kind!r}; use {list(_NOMINAL)}")
        if self.failure_mode != "none":
            if self.failure_mode not in failure_modes_of(self.kind):
                raise ValueError(
                    f"asset {self.id}: a {self.kind} cannot fail by {self.failure_mode!r}; "
                    f"use one of {failure_modes_of(self.kind)}"
                )
            if self.onset_h is None or self.failure_h is None or not (
                0 <= self.onset_h < self.failure_h
            ):
                raise ValueError(
                    f"asset {self.id}: failure mode {self.failure_mode!r} needs "
                    "0 <= onset_h < failure_h"
                )
        # Each unit is a little different from its nominal design point.
        rng = random.Random(zlib.crc32(f"{self.seed}/{self.id}/base".encode()))
        self._base = {k: v * rng.uniform(0.93, 1.07) for k, v in _NOMINAL[self.kind].items()}

    @property
    def fails(self) -> bool:
        return self.failure_mode != "none"

    def health(self, t_h: float) -> float:
        """Wear in [0, 1]: 0 healthy, 1 functional failure."""
        if not self.fails or t_h <= self.onset_h:  # type: ignore[operator]
            return 0.0
        u = (t_h - self.onset_h) / (self.failure_h - self.onset_h)  # type: ignore[operator]
        return min(1.0, u) ** 2

    def failed(self, t_h: float) -> bool:
        return self.fails and t_h >= self.failure_h  # type: ignore[operator]

    def load(self, t_h: float) -> float:
        """Duty cycle: a daily load swing plus a slower weekly one, in (0.55, 1.0)."""
        return (
            0.78
            + 0.12 * math.sin(2 * math.pi * t_h / 24.0 + (self.seed % 7))
            + 0.05 * math.sin(2 * math.pi * t_h / 168.0)
        )

    def read(self, t_h: float) -> dict[str, float]:
        """Every sensor's value at simulated time ``t_h`` (hours)."""
        minute = math.floor(t_h * 60.0)
        rng = random.Random(zlib.crc32(f"{self.seed}/{self.id}/{minute}".encode()))
        ambient = 20.0 + 6.0 * math.sin(2 * math.pi * (t_h - 9.0) / 24.0)
        if self.failed(t_h):
            # Tripped: stopped, cooling down towards ambient.
            since = t_h - self.failure_h  # type: ignore[operator]
            out = {k: 0.0 for k in self._base}
            for temp in ("bearing_temp", "winding_temp", "oil_temp"):
                if temp in self._base:
                    hot = self._base[temp] + _WEAR.get(self.failure_mode, {}).get(temp, 0.0)
                    out[temp] = ambient + (hot - ambient) * math.exp(-since / 1.5)
            if "discharge_pressure" in out:
                out["discharge_pressure"] = 0.1
            out["vibration_rms"] = 0.05 + abs(rng.gauss(0, 0.01))
            out["run_hours"] = round(self.failure_h, 3)  # type: ignore[arg-type]
            out["running"] = 0.0
            return out
        load = self.load(t_h)
        h = self.health(t_h)
        wear = _WEAR.get(self.failure_mode, {})
        warm = 1.0 - math.exp(-t_h / 2.0)  # warm-up after start
        out = {}
        for name, base in self._base.items():
            if name in ("bearing_temp", "winding_temp", "oil_temp"):
                value = ambient + (base - 20.0) * (0.6 + 0.4 * load) * (0.3 + 0.7 * warm)
            elif name == "speed_rpm":
                value = base * (1.0 - 0.01 * load)
            elif name in ("motor_current", "flow", "discharge_pressure"):
                value = base * (0.55 + 0.45 * load)
            else:  # vibration
                value = base * (0.8 + 0.25 * load)
            value += wear.get(name, 0.0) * h
            value += rng.gauss(0.0, _NOISE[name] * base)
            out[name] = max(0.0, value)
        out["run_hours"] = round(t_h, 3)
        out["running"] = 1.0
        return out
