"""Per-stream sequence tracking: which messages are new, which are missing, which repeat.

>>> t = SeqTracker()
>>> [t.check("gw", "s", q) for q in [0, 1, 2, 2, 5, 6, 1, 3]]
[True, True, True, False, True, True, False, True]
>>> t.missing_total(), t.duplicates
(1, 2)
>>> u = SeqTracker()
>>> u.restore(t.snapshot())
>>> u.check("gw", "s", 4), u.check("gw", "s", 6)
(True, False)
"""

from __future__ import annotations


class SeqTracker:
    def __init__(self, max_missing: int = 100_000):
        self.max_missing = max_missing
        self._highest: dict[tuple[str, str], int] = {}
        self._missing: dict[tuple[str, str], set[int]] = {}
        self.duplicates = 0
        self.duplicates_by_gateway: dict[str, int] = {}
        self.dirty: set[tuple[str, str]] = set()  # changed since ``take_dirty``

    def take_dirty(self) -> set[tuple[str, str]]:
        out, self.dirty = self.dirty, set()
        return out

    def check(self, gateway: str, stream: str, seq: int) -> bool:
        """True if the message is new (to be stored), False if it was seen already."""
        key = (gateway, stream)
        self.dirty.add(key)
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
        self.duplicates_by_gateway[gateway] = self.duplicates_by_gateway.get(gateway, 0) + 1
        return False

    def snapshot(self, keys: set[tuple[str, str]] | None = None) -> dict[tuple[str, str], dict]:
        """Per (gateway, stream): the highest seq and the missing ones (all, or ``keys``)."""
        return {k: {"highest": h, "missing": sorted(self._missing[k])}
                for k, h in self._highest.items() if keys is None or k in keys}

    def restore(self, snap: dict[tuple[str, str], dict], duplicates: int = 0) -> None:
        for key, st in snap.items():
            self._highest[key] = int(st["highest"])
            self._missing[key] = set(st["missing"])
        self.duplicates = duplicates

    def missing_by_gateway(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for (gateway, _), missing in self._missing.items():
            out[gateway] = out.get(gateway, 0) + len(missing)
        return out

    def missing_total(self) -> int:
        return sum(len(m) for m in self._missing.values())
