"""A rate limit for noisy library loggers (pymodbus logs every failed connect and every
timeout, with raw frames at DEBUG): one record per message and level per ``every_s``;
the next one that passes says how many were held back.

>>> import logging
>>> log = logging.getLogger("demo.noisy")
>>> f = RateLimit(every_s=60)
>>> log.addFilter(f)
>>> [f.filter(logging.LogRecord("demo.noisy", 30, "x", 1, "timeout %s", ("a",), None))
...  for _ in range(3)]
[True, False, False]
>>> f.held
2
"""

from __future__ import annotations

import logging
import threading
import time

NOISY = ("pymodbus.logging", "pymodbus")


class RateLimit(logging.Filter):
    def __init__(self, every_s: float = 60.0):
        super().__init__()
        self.every_s = every_s
        self.held = 0
        self._last: dict[tuple[int, str], float] = {}
        self._held: dict[tuple[int, str], int] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.levelno, str(record.msg))
        now = time.monotonic()
        with self._lock:
            if now - self._last.get(key, -1e18) < self.every_s:
                self._held[key] = self._held.get(key, 0) + 1
                self.held += 1
                return False
            self._last[key] = now
            held = self._held.pop(key, 0)
        if held:
            record.msg = f"{record.msg} ({held} like it held back in the last " \
                         f"{self.every_s:g} s)"
        return True


def limit_library_logs(every_s: float = 60.0) -> None:
    """Install the rate limit on the noisy library loggers (once per process)."""
    for name in NOISY:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RateLimit) for f in logger.filters):
            logger.addFilter(RateLimit(every_s))
