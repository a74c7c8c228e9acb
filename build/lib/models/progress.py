"""Progress of long work, with an estimate of the time left, logged at a bounded rate.

>>> lines = []
>>> p = Progress(4, "fits", lines.append, every_s=0.0, clock=iter([0, 1, 2, 3, 4]).__next__)
>>> for _ in range(4):
...     p.step()
>>> lines[-1]
'  fits: 4/4 (100%) in 4 s'
>>> lines[1]
'  fits: 2/4 (50%), about 2 s left'
"""

from __future__ import annotations

import time
from collections.abc import Callable


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class Progress:
    """``step()`` after each unit of work; a line at most every ``every_s`` and at the end."""

    def __init__(self, total: int, label: str, log: Callable[[str], None] | None,
                 every_s: float = 5.0, clock: Callable[[], float] = time.monotonic):
        self.total, self.label, self.log = total, label, log
        self.every_s, self.clock = every_s, clock
        self.done = 0
        self.started = clock()
        self._last = self.started

    def step(self, n: int = 1) -> None:
        self.done += n
        if self.log is None or self.total <= 0:
            return
        now = self.clock()
        elapsed = now - self.started
        if self.done >= self.total:
            self.log(f"  {self.label}: {self.done}/{self.total} (100%) in {_duration(elapsed)}")
        elif now - self._last >= self.every_s:
            left = elapsed / self.done * (self.total - self.done)
            self.log(f"  {self.label}: {self.done}/{self.total} "
                     f"({100 * self.done / self.total:.0f}%), about {_duration(left)} left")
        else:
            return
        self._last = now
