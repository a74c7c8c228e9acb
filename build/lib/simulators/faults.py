"""Sensor and communication faults, independent of equipment wear, switchable and seeded.

Sensor faults change what one signal reads while the fault is active
(``start_h <= t < end_h``, simulated hours):

- ``stuck``: the value freezes at what it read when the fault began;
- ``spike``: with probability ``rate`` per simulated minute the value jumps by
  ``magnitude`` times its own size;
- ``drift``: an offset growing by ``magnitude`` (signal units) per simulated hour;
- ``dropout``: the value reads NaN (the sentinel float sensors send when they lose a
  reading); only for float-encoded signals.

Communication faults change how the whole device answers:

- ``offline``: no answer at all (the request times out);
- ``slow``: answers after ``delay_s`` wall seconds;
- ``exception``: with probability ``rate`` per request, Modbus exception ``code``
  (default 6, device busy).

Which spikes and exceptions happen is a pure function of (seed, asset, time or request
number), so a seeded run replays exactly.
"""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SENSOR_FAULTS = ("stuck", "spike", "drift", "dropout")
COMMS_FAULTS = ("offline", "slow", "exception")


class FaultConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["stuck", "spike", "drift", "dropout", "offline", "slow", "exception"]
    signal: str | None = None
    start_h: float = Field(default=0.0, ge=0)
    end_h: float = math.inf
    rate: float = Field(default=0.05, ge=0, le=1)
    magnitude: float = 1.0
    delay_s: float = Field(default=1.0, ge=0, le=60)
    code: Literal[1, 2, 3, 4, 5, 6, 7, 8, 10, 11] = 6

    @model_validator(mode="after")
    def _check(self) -> FaultConfig:
        if self.end_h <= self.start_h:
            raise ValueError(f"{self.kind} fault: end_h must be after start_h")
        if self.kind in SENSOR_FAULTS and not self.signal:
            raise ValueError(f"{self.kind} is a sensor fault: name its `signal`")
        if self.kind in COMMS_FAULTS and self.signal:
            raise ValueError(f"{self.kind} is a device fault: it takes no `signal`")
        return self

    def active(self, t_h: float) -> bool:
        return self.start_h <= t_h < self.end_h


def _draw(seed: int, asset: str, what: str, n: int) -> float:
    return random.Random(zlib.crc32(f"{seed}/{asset}/{what}/{n}".encode())).random()


def apply_sensor_faults(values: dict[str, float], t_h: float, faults: list[FaultConfig],
                        read_at: Callable[[float], dict[str, float]], seed: int,
                        asset: str) -> dict[str, float]:
    """Return ``values`` as the faulty sensors report them at ``t_h``.

    ``read_at(t)`` gives the true values at another time (for ``stuck``).
    """
    out = dict(values)
    for i, f in enumerate(faults):
        if f.kind not in SENSOR_FAULTS or not f.active(t_h) or f.signal not in out:
            continue
        name = f.signal
        if f.kind == "stuck":
            out[name] = read_at(f.start_h)[name]
        elif f.kind == "drift":
            out[name] += f.magnitude * (t_h - f.start_h)
        elif f.kind == "dropout":
            out[name] = math.nan
        elif f.kind == "spike":
            minute = math.floor(t_h * 60)
            if _draw(seed, asset, f"spike{i}", minute) < f.rate:
                out[name] += f.magnitude * abs(out[name])
    return out


class CommsFaults:
    """Decides, per request, how a device with these faults answers."""

    def __init__(self, faults: list[FaultConfig], seed: int, asset: str):
        self.faults = [f for f in faults if f.kind in COMMS_FAULTS]
        self.seed, self.asset = seed, asset
        self.requests = 0

    def decide(self, t_h: float) -> tuple[float, int | None, bool]:
        """(delay in wall seconds, exception code or None, silent)."""
        self.requests += 1
        delay, code, silent = 0.0, None, False
        for i, f in enumerate(self.faults):
            if not f.active(t_h):
                continue
            if f.kind == "offline":
                silent = True
            elif f.kind == "slow":
                delay = max(delay, f.delay_s)
            elif _draw(self.seed, self.asset, f"exc{i}", self.requests) < f.rate:
                code = f.code
        return delay, code, silent
