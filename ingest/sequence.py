"""Per-stream sequence tracking: which messages are new, which are missing, which repeat.

>>> t = SeqTracker()
>>> [t.check("gw", "s", q) for q in [0, 1, 2, 2, 5, 6, 1, 3]]
[True, True, True, False, True, True, False, True]
>>> t.missing_total(), t.duplicates
(1, 2)
"""

from __future__ import annotations


class SeqTracker:
    def __init__(self, max_missing: int = 100_000):
        self.max_missing = max_missing
        self._highest: dict[tuple[str, str], int] = {}
        self._missing: dict[tuple[str, str], set[int]] = {}
        self.duplicates = 0

    def check(self, gateway: str, stream: str, seq: int) -> bool:
        """True if the message is new (to be stored), False if it was seen already."""
        key = (gateway, stream)
        highest = self._highest.get(key)
        if highest is None:
            self._highest[key] = seq
            self._missing[key] = set()
            return True
        missing = self._missing[key]
        if seq > highest:
            if seq - highest - 1 <= self.max_missing:
                missing.update(range(highest + 1, seq))
            self._highest[key] = seq
            return True
        if seq in missing:  # a late arrival fills its gap
            missing.discard(seq)
            return True
        self.duplicates += 1
        return False

    def missing_total(self) -> int:
        return sum(len(m) for m in self._missing.values())
