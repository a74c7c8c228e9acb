"""Simulated time: a fixed multiple of wall-clock time, or frozen for exact tests."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class SimClock:
    """Maps wall-clock time to simulated hours since the run started.

    ``time_scale`` is simulated seconds per wall second (3600 = one hour per second);
    0 freezes the clock at ``start_h``.

    >>> c = SimClock(time_scale=0, start_h=5.0)
    >>> c.now_h()
    5.0
    """

    time_scale: float = 3600.0
    start_h: float = 0.0
    started_at: float = field(default_factory=time.time)

    def now_h(self) -> float:
        return self.start_h + (time.time() - self.started_at) * self.time_scale / 3600.0

    def wall_time_of(self, t_h: float) -> float | None:
        """The wall-clock UNIX time at which simulated time reaches ``t_h`` (None if frozen)."""
        if self.time_scale <= 0:
            return None
        return self.started_at + (t_h - self.start_h) * 3600.0 / self.time_scale
