"""Time-series stores behind one interface: embedded (SQLite) and InfluxDB (v2 write API)."""

from __future__ import annotations

from ..settings import StoreSettings
from .base import Store, StoreError, StoreRejected


def open_store(settings: StoreSettings) -> Store:
    if settings.kind == "influx":
        from .influx import InfluxStore

        return InfluxStore(settings)
    from .embedded import EmbeddedStore

    return EmbeddedStore(settings.path)


__all__ = ["Store", "StoreError", "StoreRejected", "open_store"]
