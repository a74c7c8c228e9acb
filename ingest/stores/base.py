"""The store interface. Writes are idempotent: a sample written twice is stored once."""

from __future__ import annotations

from typing import Protocol

from contracts.wire import Sample

from ..records import EventRecord, Score


class StoreError(RuntimeError):
    """The store did not accept a write for now (down, timeout, 5xx); the caller retries."""


class StoreRejected(StoreError):
    """The store refused the write for good (HTTP 4xx, a value it cannot hold).

    Retrying the same data cannot succeed. ``per_point`` says the refusal may be caused by
    some of the points (bad request, too large): splitting the write isolates them. When it
    is False (authentication, missing bucket) every write will fail until the store's
    configuration is fixed.
    """

    def __init__(self, message: str, per_point: bool):
        super().__init__(message)
        self.per_point = per_point


class Store(Protocol):
    def write(self, gateway: str, samples: list[Sample]) -> int:
        """Store the samples; return the number of points (one per signal value)."""
        ...

    def write_scores(self, scores: list[Score]) -> int:
        """Store risk scores (series ``risk`` and ``rul`` per asset); return points written."""
        ...

    def write_events(self, events: list[EventRecord]) -> int:
        """Store edge anomaly events and gateway state changes; return how many."""
        ...

    def close(self) -> None: ...
