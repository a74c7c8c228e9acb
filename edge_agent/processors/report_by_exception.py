"""Report by exception: a value within its register's deadband of the value last sent is
not sent again until its heartbeat (``max_interval_s``) is due.

Such a signal is named in the sample's ``unchanged`` list instead, so the ingester tells
"read, and still what was last sent" from "not read" (absent from both). The first value
after a start is always sent. Detection runs before this, on every value read.

>>> from datetime import UTC, datetime, timedelta
>>> from contracts.wire import Sample
>>> from edge_agent.registers import RegisterSpec
>>> rbe = ReportByException({"p1": [RegisterSpec(name="t", address=0, deadband=0.5,
...                                               max_interval_s=10)]})
>>> t0 = datetime(2026, 12, 3, tzinfo=UTC)
>>> def at(s, v): return rbe.filter(Sample(asset="p1", ts=t0 + timedelta(seconds=s),
...                                        values={"t": v}))
>>> [(x.values, x.unchanged) for x in (at(0, 20.0), at(1, 20.4), at(2, 20.6), at(12, 20.6))]
[({'t': 20.0}, []), ({}, ['t']), ({'t': 20.6}, []), ({'t': 20.6}, [])]
"""

from __future__ import annotations

from contracts.wire import Sample

from ..registers import RegisterSpec

DEFAULT_HEARTBEAT_S = 60.0


class ReportByException:
    def __init__(self, registers: dict[str, list[RegisterSpec]]):
        # (asset, signal) -> (deadband, deadband fraction, heartbeat s)
        self._rules: dict[tuple[str, str], tuple[float, float, float]] = {
            (asset, r.name): (r.deadband, r.deadband_pct / 100.0,
                              r.max_interval_s or DEFAULT_HEARTBEAT_S)
            for asset, specs in registers.items() for r in specs if r.by_exception}
        self._sent: dict[tuple[str, str], tuple[float, float]] = {}  # value, time sent
        self.held = 0  # values not sent, marked unchanged

    @property
    def active(self) -> bool:
        return bool(self._rules)

    def filter(self, sample: Sample) -> Sample:
        """The sample with the values still within their deadband moved to ``unchanged``."""
        if not self._rules:
            return sample
        now = sample.ts.timestamp()
        send: dict[str, float | int] = {}
        unchanged = list(sample.unchanged)
        for signal, value in sample.values.items():
            key = (sample.asset, signal)
            rule = self._rules.get(key)
            if rule is not None:
                last = self._sent.get(key)
                if last is not None and now - last[1] < rule[2]:
                    band = max(rule[0], rule[1] * abs(last[0]))
                    if abs(value - last[0]) <= band:
                        unchanged.append(signal)
                        continue
                self._sent[key] = (value, now)
            send[signal] = value
        if len(send) == len(sample.values):
            return sample
        self.held += len(sample.values) - len(send)
        return Sample.model_construct(asset=sample.asset, ts=sample.ts, values=send,
                                      unchanged=unchanged, texts=sample.texts)
