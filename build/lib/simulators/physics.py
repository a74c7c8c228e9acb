"""Equipment physics: what each sensor of an asset reads at a given simulated time.

Deliberately deterministic: the reading of a signal is a pure function of
(seed, asset, signal, simulated time), so a run can be replayed and a test can
check a served value exactly. Noise is drawn from a generator seeded per
simulated minute.

**Operation.** Load follows a daily and a weekly cycle; the ambient temperature
swings over the day. Machines stop now and then (``stops_per_week``, 2-8 h each)
and for every maintenance (4 h); on each start, temperatures warm up again from
ambient and the start counter goes up. Run hours and energy count only while
running.

**Wear.** Each asset has a wear index ``h`` in [0, 1]: 0 before the failure
mode's onset, rising (accelerating, ``h = u**2`` with ``u`` the share of the way
from onset to failure) to 1 at the functional failure, when the asset trips. The
mode decides which sensors show the wear, how much, and how early: each sensor
departs by ``amount * u**shape``; a small ``shape`` shows early (vibration
kurtosis for bearing wear, suction pressure for a clogging strainer), a large one
only near the end. A maintenance before the failure renews the asset: its wear
starts again from new (onset ``onset_h`` hours after the maintenance).

>>> a = Asset(id="p1", kind="pump", failure_mode="bearing_wear", onset_h=10, failure_h=20,
...           stops_per_week=0)
>>> a.wear(5.0), a.wear(15.0), a.wear(20.0)
(0.0, 0.25, 1.0)
>>> a.read(25.0)["speed_rpm"], a.read(25.0)["tripped"]
(0.0, 1.0)
>>> b = Asset(id="p2", kind="pump", failure_mode="bearing_wear", onset_h=10, failure_h=20,
...           maintenance_h=(15.0,), stops_per_week=0)
>>> b.wear(14.0), b.wear(16.0), b.fails_at_h, b.read(16.0)["running"]
(0.16, 0.0, 35.0, 0.0)
"""

from __future__ import annotations

import bisect
import math
import random
import zlib
from dataclasses import dataclass, field
from typing import Literal

from contracts.signals import RUN_SIGNAL

Kind = Literal["pump", "motor", "compressor"]
FailureMode = Literal["none", "bearing_wear", "winding_insulation", "filter_clogging",
                      "misalignment", "cavitation"]

# Signals every kind has, in real units; the risk model is trained on these.
COMMON_SIGNALS = ("vibration_rms", "bearing_temp", "motor_current", "speed_rpm")
TEMPERATURES = ("bearing_temp", "winding_temp", "oil_temp")
PHASES = ("current_l1", "current_l2", "current_l3")
# Counters and states every kind reports after its measured signals.
STATUS_SIGNALS = ("run_hours", "starts", "energy_kwh", RUN_SIGNAL, "tripped", "run_command")
MAINTENANCE_STOP_H = 4.0

# Nominal operating point per kind.
_NOMINAL: dict[str, dict[str, float]] = {
    "pump": {"vibration_rms": 2.2, "vibration_kurtosis": 3.0, "bearing_temp": 48.0,
             "motor_current": 38.0, "speed_rpm": 2960.0, "suction_pressure": 1.4,
             "discharge_pressure": 6.5, "flow": 120.0},
    "motor": {"vibration_rms": 1.6, "vibration_kurtosis": 3.0, "bearing_temp": 52.0,
              "motor_current": 61.0, "speed_rpm": 1480.0, "winding_temp": 78.0},
    "compressor": {"vibration_rms": 3.1, "vibration_kurtosis": 3.0, "bearing_temp": 58.0,
                   "motor_current": 92.0, "speed_rpm": 2975.0, "discharge_pressure": 8.2,
                   "oil_temp": 64.0},
}
# Rated power per kind (kW), for the energy counter.
_RATED_KW = {"pump": 22.0, "motor": 37.0, "compressor": 55.0}

# How a fully worn asset departs from nominal: (additive amount in the signal's unit,
# shape exponent on u). ``phase_imbalance`` is the share by which phase currents part.
_WEAR: dict[str, dict[str, tuple[float, float]]] = {
    "bearing_wear": {"vibration_kurtosis": (5.0, 0.7), "vibration_rms": (6.0, 2.0),
                     "bearing_temp": (24.0, 2.5), "motor_current": (2.5, 2.0)},
    "winding_insulation": {"phase_imbalance": (0.12, 1.2), "winding_temp": (45.0, 2.0),
                           "motor_current": (9.0, 2.0), "bearing_temp": (6.0, 2.0),
                           "vibration_rms": (0.8, 2.0)},
    "filter_clogging": {"suction_pressure": (-0.6, 1.0), "discharge_pressure": (-2.5, 2.0),
                        "flow": (-45.0, 2.0), "motor_current": (8.0, 2.0),
                        "oil_temp": (18.0, 2.0), "vibration_rms": (1.2, 2.5),
                        "bearing_temp": (5.0, 2.0)},
    "misalignment": {"vibration_rms": (4.5, 1.3), "bearing_temp": (14.0, 1.8),
                     "motor_current": (3.0, 1.8), "vibration_kurtosis": (0.6, 2.0)},
    "cavitation": {"suction_pressure": (-0.5, 1.5), "vibration_kurtosis": (2.5, 1.2),
                   "vibration_rms": (2.5, 1.5), "flow": (-20.0, 2.0),
                   "discharge_pressure": (-1.2, 2.0)},
}
# Modes that make signals unsteady as well: noise grows by ``factor * u**shape``.
_UNSTEADY: dict[str, dict[str, tuple[float, float]]] = {
    "cavitation": {"flow": (4.0, 1.0), "discharge_pressure": (5.0, 1.0),
                   "vibration_rms": (2.0, 1.0)},
}
_IMBALANCE_SPLIT = (1.0, -0.4, -0.6)  # how the phases part when the winding degrades

# Which kinds each mode can strike (a mode shows in whichever of its sensors a kind has).
_MODE_KINDS = {"bearing_wear": ("pump", "motor", "compressor"),
               "winding_insulation": ("motor",),
               "filter_clogging": ("pump", "compressor"),
               "misalignment": ("pump", "motor", "compressor"),
               "cavitation": ("pump",)}

# Noise (standard deviation) relative to nominal per signal.
_NOISE = {"vibration_rms": 0.06, "vibration_kurtosis": 0.05, "bearing_temp": 0.01,
          "motor_current": 0.015, "speed_rpm": 0.001, "suction_pressure": 0.02,
          "discharge_pressure": 0.01, "flow": 0.015, "winding_temp": 0.01, "oil_temp": 0.01}


def signals_of(kind: str) -> tuple[str, ...]:
    return tuple(_NOMINAL[kind]) + PHASES + STATUS_SIGNALS


def failure_modes_of(kind: str) -> tuple[str, ...]:
    return tuple(m for m, kinds in _MODE_KINDS.items() if kind in kinds)


def _rng(*key: object) -> random.Random:
    return random.Random(zlib.crc32("/".join(map(str, key)).encode()))


@dataclass
class Asset:
    """One simulated machine. Times are simulated hours since the run started.

    ``onset_h``/``failure_h`` are the wear onset and failure of a machine that is
    never maintained; each time in ``maintenance_h`` that comes before the failure
    renews it. ``fails_at_h`` is when it really fails.
    """

    id: str
    kind: Kind = "pump"
    failure_mode: FailureMode = "none"
    onset_h: float | None = None
    failure_h: float | None = None
    seed: int = 0
    maintenance_h: tuple[float, ...] = ()
    stops_per_week: float = 1.0
    _base: dict[str, float] = field(init=False, repr=False)
    _lives: list[float] = field(init=False, repr=False)  # start of each life (renewal)
    _stops: list[tuple[float, float]] = field(init=False, repr=False)
    _stopped_before: list[float] = field(init=False, repr=False)
    _stop_days: int = field(init=False, repr=False, default=0)

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
        if any(m < 0 for m in self.maintenance_h):
            raise ValueError(f"asset {self.id}: maintenance times must be >= 0")
        if self.stops_per_week < 0 or self.stops_per_week > 7:
            raise ValueError(f"asset {self.id}: stops_per_week must be in [0, 7]")
        # Each unit is a little different from its nominal design point.
        rng = _rng(self.seed, self.id, "base")
        self._base = {k: v * rng.uniform(0.93, 1.07) for k, v in _NOMINAL[self.kind].items()}
        self._phase_skew = tuple(rng.uniform(-0.01, 0.01) for _ in PHASES)
        self._lives = [0.0]
        for m in sorted(self.maintenance_h):
            if not self.fails or m < self._lives[-1] + self.failure_h:  # type: ignore[operator]
                self._lives.append(m)
        self._stops, self._stopped_before = [], [0.0]
        self._stop_days = 0

    @property
    def fails(self) -> bool:
        return self.failure_mode != "none"

    @property
    def fails_at_h(self) -> float | None:
        """When the asset really fails, after every renewing maintenance (None: never)."""
        return self._lives[-1] + self.failure_h if self.fails else None  # type: ignore[operator]

    @property
    def onset_at_h(self) -> float | None:
        """Onset of the wear that leads to the failure."""
        return self._lives[-1] + self.onset_h if self.fails else None  # type: ignore[operator]

    def _life_start(self, t_h: float) -> float:
        return self._lives[bisect.bisect_right(self._lives, t_h) - 1]

    def _wear_u(self, t_h: float) -> float:
        """Share of the way from wear onset to failure, in [0, 1]."""
        if not self.fails:
            return 0.0
        since = t_h - self._life_start(t_h)
        u = (since - self.onset_h) / (self.failure_h - self.onset_h)  # type: ignore[operator]
        return min(1.0, max(0.0, u))

    def wear(self, t_h: float) -> float:
        """Wear in [0, 1]: 0 healthy, 1 functional failure."""
        return round(self._wear_u(t_h) ** 2, 12)

    def failed(self, t_h: float) -> bool:
        return self.fails and t_h >= self.fails_at_h  # type: ignore[operator]

    # -- run schedule ---------------------------------------------------------------
    def _extend_stops(self, t_h: float) -> None:
        """Build the stop list (planned stops and maintenance) up to day of ``t_h``."""
        day_needed = int(t_h // 24.0) + 1
        if day_needed <= self._stop_days:
            return
        days = max(day_needed, 2 * self._stop_days, 30)
        stops = [(m, m + MAINTENANCE_STOP_H) for m in self._lives[1:] if m < days * 24.0]
        for d in range(days):
            rng = _rng(self.seed, self.id, "stop", d)
            if d > 0 and rng.random() < self.stops_per_week / 7.0:
                start = d * 24.0 + rng.uniform(0.0, 16.0)
                stops.append((start, start + rng.uniform(2.0, 8.0)))
        merged: list[tuple[float, float]] = []
        for a, b in sorted(stops):
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
            else:
                merged.append((a, b))
        self._stops = merged
        self._stopped_before = [0.0]
        for a, b in merged:
            self._stopped_before.append(self._stopped_before[-1] + b - a)
        self._stop_days = days

    def _schedule(self, t_h: float) -> tuple[bool, float, float, int]:
        """(running as scheduled, hours since last start or stop, hours run, starts)."""
        self._extend_stops(t_h)
        i = bisect.bisect_right(self._stops, (t_h, math.inf))  # stops starting at or before t
        if i and t_h < self._stops[i - 1][1]:
            a, _ = self._stops[i - 1]
            return False, t_h - a, a - self._stopped_before[i - 1], i
        last_start = self._stops[i - 1][1] if i else 0.0
        return True, t_h - last_start, t_h - self._stopped_before[i], i + 1

    def load(self, t_h: float) -> float:
        """Duty cycle: a daily load swing plus a slower weekly one, in (0.55, 1.0)."""
        return (
            0.78
            + 0.12 * math.sin(2 * math.pi * t_h / 24.0 + (self.seed % 7))
            + 0.05 * math.sin(2 * math.pi * t_h / 168.0)
        )

    def _status(self, run_h: float, starts: int, running: bool, tripped: bool,
                commanded: bool) -> dict[str, float]:
        return {"run_hours": round(run_h, 3), "starts": float(starts),
                "energy_kwh": round(run_h * _RATED_KW[self.kind] * 0.78, 1),
                RUN_SIGNAL: float(running), "tripped": float(tripped),
                "run_command": float(commanded)}

    def _stopped(self, t_h: float, since: float, hot_at: float, rng: random.Random
                 ) -> dict[str, float]:
        """A stopped machine: no speed, flow or current; temperatures cool to ambient."""
        ambient = 20.0 + 6.0 * math.sin(2 * math.pi * (t_h - 9.0) / 24.0)
        out = {k: 0.0 for k in self._base}
        for temp in TEMPERATURES:
            if temp in self._base:
                hot = self._running(hot_at, since_start=24.0, rng=None)[temp]
                out[temp] = ambient + (hot - ambient) * math.exp(-since / 1.5)
        if "discharge_pressure" in out:
            out["discharge_pressure"] = 0.1
        if "suction_pressure" in out:
            out["suction_pressure"] = self._base["suction_pressure"]
        out["vibration_rms"] = 0.05 + abs(rng.gauss(0, 0.01))
        out["vibration_kurtosis"] = 3.0 + rng.gauss(0, 0.15)
        out.update(dict.fromkeys(PHASES, 0.0))
        return out

    def _running(self, t_h: float, since_start: float, rng: random.Random | None
                 ) -> dict[str, float]:
        load = self.load(t_h)
        u = self._wear_u(t_h)
        wear = _WEAR.get(self.failure_mode, {})
        unsteady = _UNSTEADY.get(self.failure_mode, {})
        ambient = 20.0 + 6.0 * math.sin(2 * math.pi * (t_h - 9.0) / 24.0)
        warm = 1.0 - math.exp(-since_start / 2.0)  # warm-up after each start
        out = {}
        for name, base in self._base.items():
            if name in TEMPERATURES:
                value = ambient + (base - 20.0) * (0.6 + 0.4 * load) * (0.3 + 0.7 * warm)
            elif name == "speed_rpm":
                value = base * (1.0 - 0.01 * load)
            elif name in ("motor_current", "flow", "discharge_pressure"):
                value = base * (0.55 + 0.45 * load)
            elif name == "suction_pressure":
                value = base * (1.05 - 0.1 * load)
            elif name == "vibration_kurtosis":
                value = base
            else:  # vibration
                value = base * (0.8 + 0.25 * load)
            amount, shape = wear.get(name, (0.0, 1.0))
            value += amount * u**shape
            if rng is not None:
                factor, ushape = unsteady.get(name, (0.0, 1.0))
                value += rng.gauss(0.0, _NOISE[name] * base * (1.0 + factor * u**ushape))
            out[name] = max(0.0, value)
        amount, shape = wear.get("phase_imbalance", (0.0, 1.0))
        imbalance = amount * u**shape
        for phase, skew, split in zip(PHASES, self._phase_skew, _IMBALANCE_SPLIT, strict=True):
            noise = rng.gauss(0.0, 0.005) if rng is not None else 0.0
            out[phase] = out["motor_current"] * (1.0 + skew + imbalance * split + noise)
        return out

    def read(self, t_h: float) -> dict[str, float]:
        """Every sensor's value at simulated time ``t_h`` (hours)."""
        minute = math.floor(t_h * 60.0)
        rng = _rng(self.seed, self.id, minute)
        running, since, run_h, starts = self._schedule(t_h)
        if self.failed(t_h):
            # Tripped: the run command stays as scheduled until someone resets the trip.
            fail = self.fails_at_h
            _, _, run_h, starts = self._schedule(fail)  # type: ignore[arg-type]
            out = self._stopped(t_h, t_h - fail, fail, rng)  # type: ignore[operator, arg-type]
            return out | self._status(run_h, starts, False, True, commanded=running)
        if running:
            out = self._running(t_h, since, rng)
        else:
            out = self._stopped(t_h, since, t_h - since, rng)
        return out | self._status(run_h, starts, running, False, commanded=running)
