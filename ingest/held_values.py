"""Report by exception, seen from the ingester: a signal a sample names as ``unchanged``
was read at the edge and is still (within its deadband) the value last sent, so the
sample is stored and scored with that value filled in.

The ingester remembers the last values of each asset that reports by exception. A value
it has not seen (the first message after an ingester restart, or a storing ingester of a
shared group that did not receive the earlier message) cannot be filled: that signal is
left out of the sample, counted in ``unknown``; the agent's heartbeat
(``max_interval_s``) bounds how long that lasts. Signals in neither ``values`` nor
``unchanged`` were not read, and are never filled.

>>> from contracts.wire import Sample
>>> h = HeldValues()
>>> a = Sample(asset="p1", ts="2026-12-03T00:00:00Z", values={"t": 20.0, "v": 1.5})
>>> b = Sample(asset="p1", ts="2026-12-03T00:00:01Z", values={"v": 1.6}, unchanged=["t"])
>>> h.fill(a) is a, h.fill(b).values
(True, {'v': 1.6, 't': 20.0})
>>> c = Sample(asset="p2", ts="2026-12-03T00:00:01Z", values={"v": 1.0}, unchanged=["t"])
>>> h.fill(c).values, h.unknown
({'v': 1.0}, 1)
"""

from __future__ import annotations

from contracts.wire import Sample


class HeldValues:
    def __init__(self) -> None:
        self._last: dict[str, dict[str, float | int]] = {}  # asset -> last known values
        self._by_exception: set[str] = set()  # assets that ever sent "unchanged"
        self.filled = 0
        self.unknown = 0

    def fill(self, sample: Sample) -> Sample | None:
        """The sample with its unchanged signals filled in; None if nothing is left."""
        asset = sample.asset
        if not sample.unchanged:
            if asset in self._by_exception:
                self._last[asset] = {**self._last.get(asset, {}), **sample.values}
            else:
                self._last[asset] = sample.values  # a reference: no copy per sample
            return sample
        self._by_exception.add(asset)
        known = self._last.get(asset, {})
        values = dict(sample.values)
        for signal in sample.unchanged:
            if signal in values:
                continue
            held = known.get(signal)
            if held is None:
                self.unknown += 1
            else:
                values[signal] = held
                self.filled += 1
        self._last[asset] = {**known, **values}
        if not values and not sample.texts:
            return None
        return Sample.model_construct(asset=asset, ts=sample.ts, values=values, unchanged=[],
                                      texts=sample.texts)
