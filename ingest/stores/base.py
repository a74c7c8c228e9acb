"""The store interface. Writes are idempotent: a sample written twice is stored once."""

from __future__ import annotations

from typing import Protocol

from contracts.wire import Sample


class StoreError(RuntimeError):
    """The store did not accept a write; the caller keeps the data and retries."""


class Store(Protocol):
    def write(self, gateway: str, samples: list[Sample]) -> int:
        """Store the samples; return the number of points (one per signal value)."""
        ...

    def close(self) -> None: ...


def ts_ns(sample: Sample) -> int:
    ts = sample.ts
    return (int(ts.timestamp()) * 1_000_000_000) + ts.microsecond * 1000
