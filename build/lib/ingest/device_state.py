"""A machine's run state, from the signals that carry it: running, stopped or tripped.

Polled like any register (``run_signal``: 1 running, 0 stopped; ``trip_signal``: 1 tripped),
it changes rarely and matters at once: a tripped pump must not keep showing a remaining
life. Each change of an asset's state becomes a ``device_state`` event for the service API.

>>> t = DeviceStates("running", "tripped")
>>> from contracts.wire import Sample
>>> s = lambda v: Sample(asset="p1", ts="2026-12-03T00:00:00Z", values=v)
>>> [e.detail["state"] for e in t.observe([s({"running": 1}), s({"running": 1}),
...                                        s({"running": 0, "tripped": 1})])]
['running', 'tripped']
"""

from __future__ import annotations

from contracts.api_bodies import EventRecord as ApiEvent
from contracts.wire import Sample


class DeviceStates:
    def __init__(self, run_signal: str, trip_signal: str):
        self.run_signal, self.trip_signal = run_signal, trip_signal
        self.last: dict[str, str] = {}

    def state_of(self, values: dict) -> str | None:
        trip, run = values.get(self.trip_signal), values.get(self.run_signal)
        if isinstance(trip, int | float) and trip >= 0.5:
            return "tripped"
        if isinstance(run, int | float):
            return "running" if run >= 0.5 else "stopped"
        return None  # this asset does not report its state

    def observe(self, samples: list[Sample]) -> list[ApiEvent]:
        """The state changes in ``samples`` (in their order), as API events."""
        out = []
        for s in samples:
            state = self.state_of(s.values)
            if state is None or self.last.get(s.asset) == state:
                continue
            before = self.last.get(s.asset)
            self.last[s.asset] = state
            out.append(ApiEvent(asset_id=s.asset, ts=s.ts, kind="device_state",
                                message=f"{before or 'first seen'} -> {state}",
                                detail={"state": state, "before": before}))
        return out
