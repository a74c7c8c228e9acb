"""The alarm rule: when a stream of failure-risk scores raises an alarm.

An alarm is raised by the ``consecutive``-th score in a row at or above ``threshold`` and
lasts until a score falls below it; the next such streak raises a new one. Evaluation
replays it over whole histories (``episodes``); the ingester's live trigger steps it one
score at a time (``step``, ``active``). Training chooses the rule on out-of-fold risk.

>>> rule = AlarmRule(threshold=0.5, consecutive=2)
>>> rule.episodes(np.arange(6.0), np.array([.9, .9, .1, .9, .9, .9]))
[(1.0, 2.0), (4.0, 5.0)]
>>> streak = 0
>>> for r in (.9, .9, .1):
...     streak = rule.step(streak, r)
...     print(streak, rule.active(streak))
1 False
2 True
0 False
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AlarmRule:
    threshold: float
    consecutive: int

    def step(self, streak: int, risk: float) -> int:
        """The run of scores at or above the threshold, after one more score."""
        return streak + 1 if risk >= self.threshold else 0

    def active(self, streak: int) -> bool:
        """Whether an alarm is on after a run of ``streak`` such scores."""
        return streak >= self.consecutive

    def episodes(self, times: np.ndarray, risk: np.ndarray) -> list[tuple[float, float]]:
        """(start, end) of each alarm; an alarm still on at the end ends at the last time."""
        out: list[tuple[float, float]] = []
        streak, start = 0, None
        for t, r in zip(times, risk, strict=True):
            streak = self.step(streak, r)
            if streak == self.consecutive:
                start = float(t)
            elif streak == 0 and start is not None:
                out.append((start, float(t)))
                start = None
        if start is not None:
            out.append((start, float(times[-1])))
        return out
